// A watched manifest directory: chokidar events → coalesced batches of changed paths → DirectorySync.
// Batches run one at a time; paths that change while a batch runs go into the next one. Nothing the
// watcher or a batch does can crash the server: failures are logged and reported on the source.
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { Clock, TimerHandle } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import { isIgnoredName, isManifestPath, toRelative } from './manifest-files.js';
import { DirectorySync, type DirectorySyncOptions, type SourceStatus } from './directory-sync.js';
import type { McpServerResource } from '../domain/resource.js';

export interface WatchTiming {
  /** A file counts as written once its size has not changed for this long (chokidar awaitWriteFinish). */
  stabilityThresholdMs: number;
  /** How often a file being written is polled while waiting for it to settle. */
  pollIntervalMs: number;
  /** A batch starts this long after the last change... */
  debounceMs: number;
  /** ...but no later than this after the first change, so a steady stream still makes progress. */
  maxDelayMs: number;
}

/**
 * debounceMs is just over pollIntervalMs: chokidar reports each file of a burst (a checkout, a save of
 * several files) at a poll of its own once it has settled, so the files of one burst arrive within one
 * poll interval of each other and still make one batch. Anything longer only delays a single edit.
 */
export const DEFAULT_WATCH_TIMING: WatchTiming = { stabilityThresholdMs: 100, pollIntervalMs: 25, debounceMs: 30, maxDelayMs: 1000 };

/** After a batch failed as a whole (e.g. the directory could not be listed). */
const RETRY_DELAY_MS = 5000;

export interface DirectorySourceOptions extends DirectorySyncOptions {
  timing?: Partial<WatchTiming>;
}

export class DirectorySource {
  readonly root: string;
  private readonly sync: DirectorySync;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timing: WatchTiming;

  private watcher: FSWatcher | undefined;
  private pending = new Set<string>();
  private pendingFull = false;
  private pendingSince: number | undefined;
  private timer: TimerHandle | undefined;
  /** The batch running now and every batch queued behind it. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private batches = 0;

  constructor(options: DirectorySourceOptions) {
    this.sync = new DirectorySync(options);
    this.root = this.sync.root;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.timing = { ...DEFAULT_WATCH_TIMING, ...options.timing };
  }

  /** Starts watching, then runs a full sync; resolves when that first sync is done. */
  async start(): Promise<void> {
    const watcher = watch(this.root, {
      ignoreInitial: true,
      persistent: true,
      awaitWriteFinish: { stabilityThreshold: this.timing.stabilityThresholdMs, pollInterval: this.timing.pollIntervalMs },
      ignored: (path: string, stats?: Stats) => this.isIgnored(path, stats),
    });
    this.watcher = watcher;
    watcher.on('add', (p: string) => this.noteChange(p));
    watcher.on('change', (p: string) => this.noteChange(p));
    watcher.on('unlink', (p: string) => this.noteChange(p));
    watcher.on('unlinkDir', (p: string) => this.noteRemovedDirectory(p));
    watcher.on('error', (err: unknown) => {
      this.logger.warn({ root: this.root, err: err instanceof Error ? err.message : String(err) }, 'manifest watcher error');
    });
    // Changes seen from here on are batched after the full sync, so none falls between the two.
    await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));
    await this.enqueue(() => this.runBatch([], true));
  }

  /** Stops watching and waits for the batch that is running (queued batches still run, then stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    await this.watcher?.close();
    await this.chain;
  }

  /** A full sync, queued behind whatever runs now; resolves when it is done. */
  resync(): Promise<void> {
    return this.enqueue(() => this.runBatch([], true));
  }

  status(canRead?: (r: McpServerResource) => boolean): SourceStatus {
    return this.sync.status(canRead);
  }

  /** Batches completed (full syncs included); for tests and metrics. */
  get batchCount(): number {
    return this.batches;
  }

  private isIgnored(path: string, stats?: Stats): boolean {
    const rel = toRelative(this.root, path);
    if (rel === '' || rel.startsWith('..')) return false;
    if (rel.split('/').some(isIgnoredName)) return true;
    return stats?.isFile() === true && !isManifestPath(rel);
  }

  private noteChange(absolute: string): void {
    const rel = toRelative(this.root, absolute);
    if (!isManifestPath(rel)) return;
    this.addPending([rel]);
  }

  /** chokidar reports the files of a removed directory too; this covers a platform that does not. */
  private noteRemovedDirectory(absolute: string): void {
    const rel = toRelative(this.root, absolute);
    const prefix = rel === '' ? '' : `${rel}/`;
    this.addPending(this.sync.knownPaths().filter((p) => p.startsWith(prefix)));
  }

  private addPending(paths: string[], options: { full?: boolean; delayMs?: number } = {}): void {
    if (this.stopped || (paths.length === 0 && !options.full)) return;
    for (const p of paths) this.pending.add(p);
    if (options.full) this.pendingFull = true;
    const now = this.clock.now();
    this.pendingSince ??= now;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const delay = options.delayMs ?? Math.max(0, Math.min(this.timing.debounceMs, this.pendingSince + this.timing.maxDelayMs - now));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.runPending());
    }, delay);
  }

  /** Takes the paths pending when the batch starts; later changes wait for the next batch. */
  private async runPending(): Promise<void> {
    if (this.pending.size === 0 && !this.pendingFull) return;
    const paths = [...this.pending];
    const full = this.pendingFull;
    this.pending = new Set();
    this.pendingFull = false;
    this.pendingSince = undefined;
    await this.runBatch(paths, full);
  }

  private async runBatch(paths: string[], full: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      await this.sync.syncBatch(paths, full);
    } catch (err) {
      // Writes are per file and the inventory lives in the store, so running the batch again is safe.
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ root: this.root, err: err instanceof Error ? err.stack : message }, 'manifest directory sync failed');
      this.sync.reportFailure(message);
      this.addPending(paths, { full, delayMs: RETRY_DELAY_MS });
    } finally {
      this.batches++;
    }
  }

  private enqueue(batch: () => Promise<void>): Promise<void> {
    const run = this.chain.then(batch, batch);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
