// Checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that passes
// wal_autocheckpoint: on the event loop, copying up to 1,000 pages and fsyncing the WAL and the database file
// (10–250 ms on a busy disk). Instead the store's connection runs with wal_autocheckpoint=0 and, after each
// commit, reads how many WAL frames are not yet in the database file (the wal-index in the -shm file:
// mxFrame at offset 16 less nBackfill at offset 96); past CHECKPOINT_PAGES a worker thread with a connection
// of its own (checkpoint-worker.ts) runs a PASSIVE checkpoint, which waits for nobody. The WAL starts over
// only at a write that finds all of it checkpointed, which under steady writes the worker never sees (frames
// arrive while it copies): once the WAL holds HARD_LIMIT_PAGES frames the connection checkpoints the rest
// itself, on the loop (the few frames the worker has not copied yet, and the two fsyncs), and its next write
// starts the WAL over. If the worker failed, the connection checkpoints itself as SQLite would.
//
// The worker starts at the first checkpoint due and ends after IDLE_MS without one (a store that writes
// little keeps no thread); the next checkpoint due starts it again. A worker ending for being idle runs no
// checkpoint (it is ended only between them) and closes its connection before the store's may close.
//
// Durability is unchanged: the worker's connection runs at synchronous=NORMAL, so its checkpoint fsyncs the
// WAL before copying and the database file before the WAL may start over (the store's next write starts it
// over only once a checkpoint copied all of it); a checkpoint never drops frames not durable in the file.
import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock } from '../../domain/clock.js';
import { IdleTimer } from '../../domain/idle-timer.js';
import type { CheckpointAnswer } from './checkpoint-worker.js';

/** Frames not yet in the database file after which the worker checkpoints (SQLite's default autocheckpoint). */
export const CHECKPOINT_PAGES = 1000;
/** Frames in the WAL after which the connection checkpoints the rest itself: 16 MiB of 4 KiB pages, the WAL's size limit (migrations.ts). */
export const HARD_LIMIT_PAGES = 4000;
/** How long the worker waits for the next checkpoint before it ends. */
export const IDLE_MS = 60_000;

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './checkpoint-worker.ts' : './checkpoint-worker.js', import.meta.url);
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];

export interface CheckpointerOptions {
  checkpointPages?: number;
  hardLimitPages?: number;
  /** Default IDLE_MS. */
  idleMs?: number;
  /** For the idle timer. */
  clock?: Clock;
}

export class WalCheckpointer {
  private worker: Worker | undefined;
  private readonly path: string;
  private closing: Promise<void> | undefined;
  private readonly shm: number;
  private readonly word = Buffer.alloc(4);
  private readonly checkpointPages: number;
  private readonly hardLimitPages: number;
  private running = false;
  private failed = false;
  /** Counts down between checkpoints; ends the worker when it runs out. */
  private readonly idle: IdleTimer;
  /** Workers ended for being idle, until they exited (close() waits for them). */
  private readonly ending = new Map<Worker, Promise<void>>();
  /** Checkpoints the worker ran, the connection itself (past the hard limit), and workers started. */
  readonly counts = { worker: 0, inline: 0, started: 0 };

  constructor(
    private readonly db: Database.Database,
    path: string,
    options: CheckpointerOptions = {},
  ) {
    this.checkpointPages = options.checkpointPages ?? CHECKPOINT_PAGES;
    this.hardLimitPages = options.hardLimitPages ?? HARD_LIMIT_PAGES;
    this.idle = new IdleTimer(options.clock ?? systemClock, options.idleMs ?? IDLE_MS, () => this.endIdle());
    this.shm = openSync(`${path}-shm`, 'r');
    this.path = path;
    db.pragma('wal_autocheckpoint = 0');
  }

  /** Whether a worker runs now (started, not ended). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** Started at the first checkpoint due: a store that never fills its WAL never starts a thread. */
  private started(): Worker {
    this.idle.busy();
    if (this.worker) return this.worker;
    const worker = (this.worker = new Worker(WORKER_URL, { workerData: { path: this.path }, execArgv: WORKER_EXEC_ARGV }));
    this.counts.started++;
    worker.unref();
    worker.on('message', (answer: CheckpointAnswer) => {
      this.running = false;
      if (answer.ok) this.counts.worker++;
      else this.failed = true;
      if (this.worker === worker && !this.closing) this.idle.idle();
    });
    const failed = () => {
      // A worker ended for being idle is no failure; its successor (if any) is another worker.
      if (this.worker !== worker) return;
      this.running = false;
      this.failed = true;
    };
    worker.on('error', failed);
    worker.on('exit', failed);
    return worker;
  }

  /** Ends an idle worker (between checkpoints): it closes its connection and exits. */
  private endIdle(): void {
    const worker = this.worker;
    if (!worker || this.running || this.closing) return;
    this.worker = undefined;
    this.ending.set(worker, new Promise<void>((resolve) => worker.once('exit', () => resolve())).then(() => void this.ending.delete(worker)));
    worker.postMessage('close');
  }

  /** After each commit of the store's connection: starts a checkpoint when one is due (see the header). */
  committed(): void {
    // Closing (a unit that was open when the store began to close commits after): the close checkpoints.
    if (this.closing) return;
    const frames = this.read(16);
    const pending = frames - this.read(96);
    if (this.running) return;
    if ((frames >= this.hardLimitPages && pending > 0) || (this.failed && pending >= this.checkpointPages)) {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.counts.inline++;
    } else if (pending >= this.checkpointPages) {
      this.running = true;
      this.started().postMessage('checkpoint');
    }
  }

  /** Ends the worker (its connection closed first); the store's connection closes after it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.idle.busy();
      // A worker ending for being idle closes its connection first (never the last one); awaited, so it keeps the process up.
      for (const ending of this.ending.keys()) ending.ref();
      await Promise.all(this.ending.values());
      const worker = this.worker;
      if (worker && !this.failed) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        // Kept unreferenced while it works for the store; its end is awaited, so it must keep the process up.
        worker.ref();
        worker.postMessage('close');
        await exited;
      } else await worker?.terminate();
      closeSync(this.shm);
    })();
    return this.closing;
  }

  /** A 32-bit word of the wal-index header (native byte order; a hint, read without SQLite's locks). */
  private read(offset: number): number {
    return readSync(this.shm, this.word, 0, 4, offset) === 4 ? this.word.readUInt32LE(0) : 0;
  }
}
