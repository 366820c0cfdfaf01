// A watched manifest directory: DirectoryWatcher reports → coalesced batches of changed paths →
// DirectorySync. Batches run one at a time; paths that change while a batch runs go into the next one.
// Files held back from pruning are read again when their quiet period ends, whether or not they changed.
// Nothing the watcher or a batch does can crash the server: failures are logged and reported on the
// source.
import type { Clock, TimerHandle } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { FileTakeover } from '../intake/index.js';
import { DirectorySync, type DirectorySyncOptions, type SourceStatus } from './directory-sync.js';
import { DirectoryWatcher } from './directory-watcher.js';
import type { McpServerResource } from '../domain/resource.js';

export interface WatchTiming {
  /** A file counts as written once its size (or absence) has not changed for this long. */
  stabilityThresholdMs: number;
  /** How often a file being written is polled while waiting for it to settle. */
  pollIntervalMs: number;
  /** A batch starts this long after the last change... */
  debounceMs: number;
  /** ...but no later than this after the first change, so a steady stream still makes progress. */
  maxDelayMs: number;
}

/**
 * No debounce: the watcher already reports the files of a burst (a checkout, a save of several files) as
 * one, holding those that have settled while others are still being written (up to maxDelayMs). A
 * debounce would only delay a single edit.
 */
export const DEFAULT_WATCH_TIMING: WatchTiming = { stabilityThresholdMs: 100, pollIntervalMs: 25, debounceMs: 0, maxDelayMs: 1000 };

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

  private watcher: DirectoryWatcher | undefined;
  private pending = new Set<string>();
  private pendingFull = false;
  private pendingSince: number | undefined;
  private timer: TimerHandle | undefined;
  /** Fires when the earliest file held back from pruning is due to be read again. */
  private dueTimer: TimerHandle | undefined;
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
    this.watcher = new DirectoryWatcher({
      root: this.root,
      stabilityThresholdMs: this.timing.stabilityThresholdMs,
      pollIntervalMs: this.timing.pollIntervalMs,
      maxHoldMs: this.timing.maxDelayMs,
      clock: this.clock,
      onChange: (paths) => this.addPending(paths),
      knownPathsUnder: (rel) => this.sync.knownPaths().filter((p) => p.startsWith(`${rel}/`)),
      onRescan: () => this.addPending([], { full: true }),
      onError: (err) => this.logger.warn({ root: this.root, err: err.message }, 'manifest watcher error'),
    });
    // Changes seen from here on are batched after the full sync, so none falls between the two.
    this.watcher.start();
    await this.enqueue(() => this.runBatch([], true));
  }

  /** Stops watching and waits for the batch that is running (queued batches still run, then stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.timer, this.dueTimer]) if (timer !== undefined) this.clock.clearTimeout(timer);
    this.timer = undefined;
    this.dueTimer = undefined;
    this.pending.clear();
    this.watcher?.close();
    await this.chain;
  }

  /** A full sync, queued behind whatever runs now; resolves when it is done. */
  resync(): Promise<void> {
    return this.enqueue(() => this.runBatch([], true));
  }

  status(canRead?: (r: McpServerResource) => boolean): Promise<SourceStatus> {
    return this.sync.status(canRead);
  }

  /** Another root no longer declares these names: files refused over them are read again. */
  retryDeclaring(names: readonly string[]): void {
    const paths = this.sync.refusedDeclaring(names);
    if (paths.length > 0) this.addPending(paths);
  }

  /** The admission policies changed: every refused file is read again (a rule may refuse it no longer). */
  retryRefused(): void {
    const paths = this.sync.refusedFiles();
    if (paths.length > 0) this.addPending(paths);
  }

  /** A forced API write or delete took a name from the file `path` (see DirectorySync.taken): read it again. */
  taken(path: string, taken: FileTakeover): void {
    this.sync.taken(path, taken);
    this.addPending([path]);
  }

  /** Reads these files again in the next batch. */
  reread(paths: string[]): void {
    this.addPending(paths);
  }

  /** Whether this source's file `path` lets go of `name` (see RootHandover.releases). */
  releases(path: string, name: string): boolean {
    return this.sync.releases(path, name);
  }

  /** Batches completed (full syncs included); for tests and metrics. */
  get batchCount(): number {
    return this.batches;
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
      this.scheduleDue();
    }
  }

  private scheduleDue(): void {
    if (this.dueTimer !== undefined) this.clock.clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    const due = this.sync.nextDue();
    if (!due || this.stopped) return;
    this.dueTimer = this.clock.setTimeout(() => {
      this.dueTimer = undefined;
      this.addPending(due.paths);
    }, Math.max(0, due.at - this.clock.now()));
  }

  private enqueue(batch: () => Promise<void>): Promise<void> {
    const run = this.chain.then(batch, batch);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
