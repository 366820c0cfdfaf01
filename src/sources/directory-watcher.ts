// Watches a manifest directory and reports the manifest paths that may have changed, each once it has
// settled. One fs.watch per directory (none per file) whose events name the entry that changed, so an
// edit costs the same whatever the directory holds: the directory is listed only when it is new (or
// its platform's events name no entry). chokidar, used before, listed the whole directory and lstat()ed
// every entry on each event in it.
//
// What is watched is what listManifestFiles reads: every directory below the root except ignored names
// and symlinks to directories. A manifest that is a symlink also gets a watch of its own (on its
// target, which may live elsewhere), re-armed after every event so that a re-pointed link is followed.
import { lstatSync, readdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../domain/clock.js';
import { isIgnoredName, isManifestPath, toAbsolute } from './manifest-files.js';

/** While the root does not exist, it is looked for this often. */
const ROOT_POLL_MS = 1000;

export interface DirectoryWatcherOptions {
  /** Absolute. */
  root: string;
  /** A path counts as settled once its size (or absence) has not changed for this long... */
  stabilityThresholdMs: number;
  /** ...checked this often while it has not. */
  pollIntervalMs: number;
  /** Settled paths wait for the others being written (see poll), but no longer than this. */
  maxHoldMs: number;
  clock: Clock;
  /** Manifest paths (relative to the root) that changed, were added or removed, once settled. */
  onChange(paths: string[]): void;
  /** The manifest paths known below a directory (relative): it is gone, and so are they. */
  knownPathsUnder(relDir: string): string[];
  /** The root appeared, vanished or was replaced: every file must be looked at again. */
  onRescan(): void;
  onError(err: Error): void;
}

interface WatchedDirectory {
  watcher: FSWatcher;
  /** Which directory this is: one removed and re-created at the same path is another one. */
  ino: number;
}

interface Settling {
  lastChange: number;
  /** At the last poll; -1 = missing, undefined = not polled yet. */
  size: number | undefined;
}

export class DirectoryWatcher {
  private readonly root: string;
  private readonly options: DirectoryWatcherOptions;
  private readonly clock: Clock;
  /** Relative path ('' = root) → its watch. */
  private readonly dirs = new Map<string, WatchedDirectory>();
  /** Manifest symlinks (relative) → the watch of their target. */
  private readonly links = new Map<string, FSWatcher>();
  private readonly settling = new Map<string, Settling>();
  /** Settled, waiting for the rest of their burst; since when. */
  private settled = new Set<string>();
  private settledSince = 0;
  private pollTimer: TimerHandle | undefined;
  private polling = false;
  private rootTimer: TimerHandle | undefined;
  private closed = false;

  constructor(options: DirectoryWatcherOptions) {
    this.root = options.root;
    this.options = options;
    this.clock = options.clock;
  }

  /** Watches the tree as it is now (synchronously), or looks for the root until it exists. */
  start(): void {
    this.watchRoot(false);
  }

  close(): void {
    this.closed = true;
    this.unwatchAll();
    for (const timer of [this.pollTimer, this.rootTimer]) if (timer !== undefined) this.clock.clearTimeout(timer);
    this.settling.clear();
    this.settled.clear();
  }

  private watchRoot(rescan: boolean): void {
    this.rootTimer = undefined;
    if (this.closed) return;
    if (isDirectory(statOrUndefined(this.root, statSync))) {
      this.addDirectory('', false);
      if (rescan) this.options.onRescan();
    } else {
      this.rootTimer = this.clock.setTimeout(() => this.watchRoot(true), ROOT_POLL_MS);
    }
  }

  /** Watches a directory, then lists it: an entry made in between is seen twice, none is missed. */
  private addDirectory(rel: string, announce: boolean): void {
    const absolute = this.absolute(rel);
    let watcher: FSWatcher;
    let ino: number;
    try {
      watcher = watch(absolute, { persistent: true }, (event, name) => this.onEvent(rel, event, name));
      ino = (rel === '' ? statSync : lstatSync)(absolute).ino;
    } catch (err) {
      if (!isGone(err)) this.options.onError(err as Error);
      return;
    }
    watcher.on('error', (err) => {
      this.options.onError(err);
      this.checkDirectory(rel);
    });
    this.dirs.set(rel, { watcher, ino });
    this.scan(rel, announce);
  }

  /** Lists a watched directory: new subdirectories are watched, manifests announced when asked. */
  private scan(rel: string, announce: boolean): void {
    let entries;
    try {
      entries = readdirSync(this.absolute(rel), { withFileTypes: true });
    } catch (err) {
      if (!isGone(err)) this.options.onError(err as Error);
      return;
    }
    for (const entry of entries) {
      if (isIgnoredName(entry.name)) continue;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!this.dirs.has(child)) this.addDirectory(child, announce);
      } else if (isManifestPath(child)) {
        if (entry.isSymbolicLink()) this.watchLink(child);
        if (announce) this.touch(child);
      }
    }
  }

  private onEvent(relDir: string, event: string, name: string | null): void {
    if (this.closed) return;
    // An entry added, removed or renamed in it may be the directory itself going away.
    if (event === 'rename' && !this.checkDirectory(relDir)) return;
    if (name === null) {
      // This platform did not say which entry changed: look at them all.
      this.scan(relDir, true);
      return;
    }
    if (isIgnoredName(name)) return;
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    const stats = statOrUndefined(this.absolute(rel), lstatSync);
    const watched = this.dirs.get(rel);
    if (watched && !(isDirectory(stats) && stats!.ino === watched.ino)) this.removeDirectory(rel);
    if (isDirectory(stats)) {
      if (!this.dirs.has(rel)) this.addDirectory(rel, true);
      return;
    }
    if (!isManifestPath(rel)) return;
    if (stats?.isSymbolicLink()) this.watchLink(rel);
    else this.unwatchLink(rel);
    this.touch(rel);
  }

  /** Whether a watched directory is still the one watched; if not, forgets it (and says so). */
  private checkDirectory(rel: string): boolean {
    const watched = this.dirs.get(rel);
    if (!watched) return false;
    const stats = statOrUndefined(this.absolute(rel), rel === '' ? statSync : lstatSync);
    if (isDirectory(stats) && stats!.ino === watched.ino) return true;
    if (rel === '') {
      this.unwatchAll();
      this.options.onRescan();
      this.watchRoot(false);
    } else {
      this.removeDirectory(rel);
      if (isDirectory(stats)) this.addDirectory(rel, true);
    }
    return false;
  }

  private removeDirectory(rel: string): void {
    const prefix = `${rel}/`;
    for (const [path, dir] of this.dirs) {
      if (path !== rel && !path.startsWith(prefix)) continue;
      dir.watcher.close();
      this.dirs.delete(path);
    }
    for (const path of this.links.keys()) if (path.startsWith(prefix)) this.unwatchLink(path);
    // Reported once they have stayed gone: a directory replaced at once (a checkout) prunes nothing.
    for (const path of this.options.knownPathsUnder(rel)) this.touch(path);
  }

  private unwatchAll(): void {
    for (const dir of this.dirs.values()) dir.watcher.close();
    this.dirs.clear();
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  /** (Re-)watches the target of a manifest symlink; a dangling link has nothing to watch. */
  private watchLink(rel: string): void {
    this.unwatchLink(rel);
    try {
      const watcher = watch(this.absolute(rel), { persistent: true }, () => this.onLinkEvent(rel));
      watcher.on('error', () => this.onLinkEvent(rel));
      this.links.set(rel, watcher);
    } catch {
      // Dangling: reading the file reports it; an event in its directory re-arms the watch.
    }
  }

  private onLinkEvent(rel: string): void {
    if (this.closed || !this.links.has(rel)) return;
    if (statOrUndefined(this.absolute(rel), lstatSync)?.isSymbolicLink()) this.watchLink(rel);
    else this.unwatchLink(rel);
    this.touch(rel);
  }

  private unwatchLink(rel: string): void {
    this.links.get(rel)?.close();
    this.links.delete(rel);
  }

  /** Something happened to a path: it is reported once it has settled (see poll). */
  private touch(rel: string): void {
    const now = this.clock.now();
    const settling = this.settling.get(rel);
    if (settling) settling.lastChange = now;
    else this.settling.set(rel, { lastChange: now, size: undefined });
    if (this.pollTimer === undefined && !this.polling) this.schedulePoll();
  }

  private schedulePoll(): void {
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, this.options.pollIntervalMs);
  }

  /**
   * One timer for every path being written: each poll stats them all. A path whose size (or absence) has
   * not changed for the stability threshold has settled; settled paths are reported together once no
   * other path is being written, so the files of a burst make one report.
   */
  private async poll(): Promise<void> {
    this.polling = true;
    const paths = [...this.settling.keys()];
    const sizes = await Promise.all(paths.map((p) => stat(this.absolute(p)).then((s) => s.size, () => -1)));
    this.polling = false;
    if (this.closed) return;
    const now = this.clock.now();
    paths.forEach((path, i) => {
      const settling = this.settling.get(path);
      if (!settling) return;
      if (settling.size !== undefined && settling.size !== sizes[i]) settling.lastChange = now;
      settling.size = sizes[i];
      if (now - settling.lastChange < this.options.stabilityThresholdMs) return;
      this.settling.delete(path);
      if (this.settled.size === 0) this.settledSince = now;
      this.settled.add(path);
    });
    if (this.settling.size > 0) this.schedulePoll();
    if (this.settled.size > 0 && (this.settling.size === 0 || now - this.settledSince >= this.options.maxHoldMs)) {
      const report = [...this.settled];
      this.settled = new Set();
      this.options.onChange(report);
    }
  }

  private absolute(rel: string): string {
    return rel === '' ? this.root : toAbsolute(this.root, rel);
  }
}

function statOrUndefined(path: string, how: (path: string) => Stats): Stats | undefined {
  try {
    return how(path);
  } catch {
    return undefined;
  }
}

function isDirectory(stats: Stats | undefined): boolean {
  return stats?.isDirectory() === true;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
