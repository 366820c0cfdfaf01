// Durable commits off the event loop (--durability full on a file).
//
// better-sqlite3 is synchronous: under synchronous=FULL every COMMIT blocks the event loop for the fsync of
// the write-ahead log. Instead the connection commits at synchronous=NORMAL (the WAL is appended, not
// fsynced) and WalSync fsyncs the -wal file on libuv's thread pool; a write is acknowledged only once an
// fsync that started after its COMMIT returned has completed. On Linux fsync is per inode: it writes every
// dirty page of the file, whichever descriptor wrote it, so one fsync covers every commit made before it
// started (group commit across turns).
//
// Up to WAL_SYNC_OVERLAP fsyncs run at once: a commit made while one runs starts the next at once instead of
// waiting for it to end (then waiting for a whole fsync more), so a durable answer waits for about one fsync,
// not up to two; the commits made while that many run share the next one. Each fsync in flight has a
// descriptor of its own: a writeback error is reported to every open file description that had not seen it
// (errseq), so no fsync can miss an error because a concurrent one on the same descriptor took it. Callers are
// answered in the order they called (a reader of the changelog, a write listener, rely on it): an fsync that
// completes answers its own callers and every earlier one still waiting (it started after their commits too,
// so it covers them), never a later one; a failure fails every caller not answered yet.
//
// Checkpoints (checkpointer.ts: a worker thread's connection) run at synchronous=NORMAL, which in WAL mode fsyncs the
// WAL before a checkpoint copies it into the database file and the database file before the WAL may start
// over: a checkpoint never drops frames that are not durable in the database file.
//
// A failed fsync leaves the file's state on disk unknown (the kernel may have dropped the dirty pages), so
// it fails every sync after it too: no write is acknowledged again until the process restarts and SQLite
// recovers from what is on disk. So does a checkpoint that reports an I/O error (fail()): the pages it could
// not write may never reach the disk, and none of our fsyncs need be the one told of it.
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes every commit made before the call durable; rejects if it could not. */
export type SyncWal = () => Promise<void>;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** How many fsyncs of the WAL may run at once (see the header). */
export const WAL_SYNC_OVERLAP = 2;

export class WalSync {
  /** The callers of each running fsync, in the order the fsyncs started: answered from the front. */
  private readonly unanswered: Waiter[][] = [];
  /** Commits made while `overlap` fsyncs run: the next one covers them. */
  private waiters: Waiter[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly syncWal: SyncWal,
    private readonly overlap = WAL_SYNC_OVERLAP,
  ) {}

  /** Resolves once every commit made before this call is durable (an fsync started after it completed). */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.inFlight.size < this.overlap) this.startNext();
    });
  }

  /** The failure that ended durability (no write may commit after it), if one did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Ends durability for good, as a failed fsync does (see the header): every caller not answered yet is
   * failed, and every sync after. For an I/O error reported elsewhere on the file (a checkpoint's).
   */
  fail(reason: string): void {
    this.failure ??= new Error(`the write-ahead log could not be made durable (${reason}); restart to recover from what is on disk`);
    for (const waiting of this.unanswered.splice(0)) for (const w of waiting) w.reject(this.failure);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  /** Settles once no sync is running or waiting: waits for the fsyncs in flight themselves (never spins after a failure). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The fsyncs running now (at most overlap), each settled once it answered its callers and started the next one if due. */
  private readonly inFlight = new Set<Promise<void>>();

  private startNext(): void {
    const batch = this.waiters;
    this.waiters = [];
    this.unanswered.push(batch);
    const done: Promise<void> = this.syncWal().then(
      () => {
        // After a failure every caller was failed already (a concurrent fsync's success proves nothing then).
        if (this.failure) return;
        // This one covers its own callers and every earlier one still waiting: answered in order.
        const upTo = this.unanswered.indexOf(batch);
        for (const earlier of this.unanswered.splice(0, upTo + 1)) for (const w of earlier) w.resolve();
      },
      (err: unknown) => {
        this.failure ??= new Error(`the write-ahead log could not be made durable (fsync failed: ${err instanceof Error ? err.message : String(err)}); restart to recover from what is on disk`);
        for (const waiting of this.unanswered.splice(0)) for (const w of waiting) w.reject(this.failure);
      },
    ).finally(() => {
      this.inFlight.delete(done);
      if (this.waiters.length === 0) return;
      if (this.failure) for (const w of this.waiters.splice(0)) w.reject(this.failure);
      else this.startNext();
    });
    this.inFlight.add(done);
  }
}

/**
 * The fsync of `${dbPath}-wal` on the thread pool, each call through a descriptor no other call is using.
 * All `descriptors` (one per fsync WalSync may have in flight) are opened here, as the store opens: a
 * descriptor opened later would not be told of a writeback error already reported to another file
 * description (errseq), and an open failing then (EMFILE) is no failed fsync; here it fails the open. The WAL
 * exists while the connection that put the file in WAL mode is open. The directory is fsynced once here, so
 * the WAL's own entry is durable too. close() closes the descriptors.
 */
export function openWalFsync(dbPath: string, descriptors = WAL_SYNC_OVERLAP): { sync: SyncWal; close: () => void } {
  const walPath = `${dbPath}-wal`;
  const free: number[] = [];
  try {
    while (free.length < descriptors) free.push(openSync(walPath, 'r'));
    const dir = openSync(dirname(dbPath), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    for (const fd of free) closeSync(fd);
    throw new Error(`cannot open the write-ahead log ${walPath} to fsync it (${descriptors} descriptors): ${err instanceof Error ? err.message : String(err)}`);
  }
  const all = [...free];
  let closed = false;
  return {
    sync: () =>
      new Promise<void>((resolve, reject) => {
        if (closed) return resolve();
        const fd = free.pop();
        // WalSync runs at most `descriptors` at once: every call finds one free.
        if (fd === undefined) return reject(new Error(`more than ${descriptors} fsyncs of ${walPath} at once`));
        fsync(fd, (err) => {
          free.push(fd);
          if (err) reject(err);
          else resolve();
        });
      }),
    close: () => {
      if (closed) return;
      closed = true;
      for (const fd of all) closeSync(fd);
    },
  };
}
