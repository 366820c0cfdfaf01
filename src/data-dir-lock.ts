// One control plane per data directory: <data-dir>/lock holds the PID of the process that serves from it.
// Contract: acquire() either answers a held lock or throws DataDirLockedError naming the holder's PID.
// A lock whose PID is no longer running (a crash, a kill -9) is stale and taken over. The file is
// written whole before it appears (write a temporary file, then link it into place), so a reader never
// sees a half-written PID. Two processes taking over the same stale lock: exactly one wins. Each moves
// the lock file aside (rename is atomic, so each moves a different file, or finds none) and removes it
// only if it still names the dead PID; one that moved the winner's fresh lock puts it back and yields.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'lock';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the data directory ${dataDir} is in use by another control plane (PID ${holderPid}); ` +
        `stop that one first, or pass another --data-dir`,
    );
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it still names this process. Idempotent. */
  release(): void;
}

/** Lock files held by this process: a lock naming our own PID but not in here is a previous incarnation's (PID reuse in containers). */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function tryLink(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export interface AcquireOptions {
  /** Called when a stale lock was found, just before taking it over (lets a test play the other process). */
  beforeTakeover?: () => void;
}

/** Renames the lock file to `aside`; false when there was none. */
function moveAside(path: string, aside: string): boolean {
  try {
    renameSync(path, aside);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Returns another process's lock that was moved aside to its place (unless a third took the place meanwhile). */
function putBack(aside: string, path: string): void {
  try {
    linkSync(aside, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(aside);
  }
}

export function acquireDataDirLock(dataDir: string, options: AcquireOptions = {}): DataDirLock {
  const path = resolve(join(dataDir, LOCK_FILE));
  const tmp = `${path}.${process.pid}.tmp`;
  const aside = `${path}.${process.pid}.stale`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      if (tryLink(tmp, path)) break;
      const holder = readHolder(path);
      const live = holder !== undefined && (holder === process.pid ? heldHere.has(path) : isRunning(holder));
      if (live || attempt > 1) throw new DataDirLockedError(dataDir, holder ?? 0);
      // Stale (dead PID, or unreadable): take it over.
      options.beforeTakeover?.();
      if (!moveAside(path, aside)) continue; // another process moved it first; try to link again
      const moved = readHolder(aside);
      if (moved !== holder) {
        // Not the stale lock seen: another process took it over in between. Its lock goes back.
        putBack(aside, path);
        throw new DataDirLockedError(dataDir, moved ?? 0);
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(tmp);
  }
  heldHere.add(path);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      if (readHolder(path) !== process.pid) return;
      try {
        unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
