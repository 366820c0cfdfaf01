// Checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that passes
// wal_autocheckpoint: on the event loop, copying up to 1,000 pages and fsyncing the WAL and the database file
// (10–250 ms on a busy disk). Instead the store's connection runs with wal_autocheckpoint=0 and, after each
// commit, reads how many WAL frames are not yet in the database file (the wal-index in the -shm file:
// mxFrame at offset 16 less nBackfill at offset 96); past CHECKPOINT_PAGES a worker thread with a connection
// of its own to the file (a lane of the checkpoint thread, checkpoint-thread.ts, which the stores of one
// thread share) runs a PASSIVE checkpoint, which waits for nobody. The WAL starts over
// only at a write that finds all of it checkpointed, which under steady writes the worker never sees (frames
// arrive while it copies): once the WAL holds HARD_LIMIT_PAGES frames the store's writer is held (its writes
// wait, asynchronously: the event loop stays free) while the worker copies the rest (after the checkpoint it
// runs then, if one: so writes that never let the event loop turn cannot outrun it), then the next write
// starts the WAL over. Without a way to hold the writer, or when a held checkpoint could not copy it all (a reader's snapshot, or busy: another connection, such as the data-plane thread's checkpointer of gateway.db, was checkpointing), or
// if the worker failed, the connection checkpoints the rest itself, on the loop (the frames not copied yet
// and the two fsyncs: up to hundreds of ms on a busy disk), as SQLite would.
//
// The lane opens at the first checkpoint due and ends after IDLE_MS without one (the thread ends with its
// last lane: stores that write little keep no thread); the next checkpoint due opens it again. A lane ending
// for being idle runs no checkpoint (it is ended only between them) and its connection closes before the
// store's may close.
//
// Durability is unchanged: the worker's connection runs at synchronous=NORMAL, so its checkpoint fsyncs the
// WAL before copying and the database file before the WAL may start over (the store's next write starts it
// over only once a checkpoint copied all of it); a checkpoint never drops frames not durable in the file.
// A checkpoint that fails with an I/O error is told to `ioFailed` (the store's WalSync then acknowledges no
// write again, see wal-sync.ts): the kernel may have reported a writeback error of the WAL to the checkpoint's
// descriptor only.
import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { systemClock, type Clock } from '../../domain/clock.js';
import { IdleTimer } from '../../domain/idle-timer.js';
import { silentLogger, type Logger } from '../../domain/logger.js';
import { CheckpointThread, type CheckpointLane } from './checkpoint-thread.js';
import type { CheckpointAnswer } from './checkpoint-worker.js';

/** Frames not yet in the database file after which the worker checkpoints (SQLite's default autocheckpoint). */
export const CHECKPOINT_PAGES = 1000;
/** Frames in the WAL after which the connection checkpoints the rest itself: 16 MiB of 4 KiB pages, the WAL's size limit (migrations.ts). */
export const HARD_LIMIT_PAGES = 4000;
/** How long the worker waits for the next checkpoint before it ends. */
export const IDLE_MS = 60_000;

/** Holds the store's writer until `until()` settles (SqliteUnits.holdWriter). */
export type HoldWriter = (until: () => Promise<void>) => void;

export interface CheckpointerOptions {
  checkpointPages?: number;
  hardLimitPages?: number;
  /** Default IDLE_MS. */
  idleMs?: number;
  /** For the idle timer. */
  clock?: Clock;
  /** Told of a checkpoint that failed with an I/O error (see the header). */
  ioFailed?: (reason: string) => void;
  /** Where a checkpoint that could not start or run is reported (the commit stands; the next one tries again). */
  logger?: Logger;
  /**
   * The worker thread the checkpoints run on, shared with the other stores of this thread (one isolate for
   * both database files); a checkpointer given none has one of its own.
   */
  thread?: CheckpointThread;
}

/** Whether a checkpoint copied every frame of the WAL: a busy one (another connection was checkpointing) did not. */
export function copiedAll(answer: CheckpointAnswer | undefined): boolean {
  return answer !== undefined && answer.ok && answer.busy === 0 && answer.checkpointed >= answer.log;
}

/** An SQLite I/O error (SQLITE_IOERR and its extended codes): what was written may not be on disk. */
export function isIoError(code: string | undefined): boolean {
  return code !== undefined && /^SQLITE_IOERR(_|$)/.test(code);
}

export class WalCheckpointer {
  /** This file's connection on the checkpoint thread while the checkpointer uses it (started, not ended). */
  private lane: CheckpointLane | undefined;
  private readonly thread: CheckpointThread;
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
  private readonly ioFailed: ((reason: string) => void) | undefined;
  private readonly logger: Logger;
  /** Lanes ended for being idle, until their connections closed (close() waits for them). */
  private readonly ending = new Set<Promise<void>>();
  /**
   * Checkpoints the worker ran (held: those with the writer held, busy or not), those it found another
   * connection running (busy: nothing copied), those the connection ran itself, and workers started.
   */
  readonly counts = { worker: 0, held: 0, busy: 0, inline: 0, started: 0 };
  /** Waiting for the worker's next answer (none if it failed): a held checkpoint's end, or the end of the one before it. */
  private readonly answerWaiters: ((answer: CheckpointAnswer | undefined) => void)[] = [];
  /** The writer is held (or waits to be) for a checkpoint of a full WAL. */
  private holding = false;
  /** The last held checkpoint left frames behind: the next one at the hard limit runs on the connection. */
  private heldFellShort = false;

  constructor(
    private readonly db: Database.Database,
    path: string,
    options: CheckpointerOptions = {},
    private readonly holdWriter?: HoldWriter,
  ) {
    this.checkpointPages = options.checkpointPages ?? CHECKPOINT_PAGES;
    this.hardLimitPages = options.hardLimitPages ?? HARD_LIMIT_PAGES;
    this.idle = new IdleTimer(options.clock ?? systemClock, options.idleMs ?? IDLE_MS, () => this.endIdle());
    this.ioFailed = options.ioFailed;
    this.logger = options.logger ?? silentLogger;
    this.thread = options.thread ?? new CheckpointThread();
    this.shm = openSync(`${path}-shm`, 'r');
    this.path = path;
    db.pragma('wal_autocheckpoint = 0');
  }

  /** Whether this file's connection on the checkpoint thread is open (started, not ended). */
  get workerRunning(): boolean {
    return this.lane !== undefined;
  }

  /** Started at the first checkpoint due: a store that never fills its WAL never starts a thread. */
  private started(): CheckpointLane {
    this.idle.busy();
    if (this.lane) return this.lane;
    this.counts.started++;
    const lane: CheckpointLane = (this.lane = this.thread.open(this.path, {
      answer: (answer) => {
        this.running = false;
        if (answer.ok && answer.busy !== 0) this.counts.busy++;
        else if (answer.ok) this.counts.worker++;
        else {
          this.failed = true;
          if (isIoError(answer.code)) this.ioFailed?.(`a checkpoint failed: ${answer.error} (${answer.code})`);
        }
        this.answered(answer);
        if (this.lane === lane && !this.closing) this.idle.idle();
      },
      failed: () => {
        // A lane ended for being idle is no failure; its successor (if any) is another lane.
        if (this.lane !== lane) return;
        this.running = false;
        this.failed = true;
        this.answered(undefined);
      },
    }));
    return lane;
  }

  /** Ends an idle lane (between checkpoints): the thread closes its connection (and ends once no lane is open). */
  private endIdle(): void {
    const lane = this.lane;
    if (!lane || this.running || this.closing) return;
    this.lane = undefined;
    const ending: Promise<void> = lane.release().then(() => void this.ending.delete(ending));
    this.ending.add(ending);
  }

  /**
   * After each commit of the store's connection: starts a checkpoint when one is due (see the header). Never
   * throws: the commit stands whatever befalls its checkpoint (a worker that cannot start, the wal-index
   * unreadable, the inline checkpoint's error), which is logged; the next commit tries again.
   */
  committed(): void {
    // Closing (a unit that was open when the store began to close commits after): the close checkpoints.
    if (this.closing) return;
    try {
      this.startDue();
    } catch (err) {
      this.logger.warn({ path: this.path, err: err instanceof Error ? err.message : String(err) }, 'WAL checkpoint could not run; the next commit tries again');
    }
  }

  private startDue(): void {
    const frames = this.read(16);
    const pending = frames - this.read(96);
    const full = frames >= this.hardLimitPages && pending > 0;
    if (full && this.holdWriter && !this.failed && !this.heldFellShort) {
      if (!this.holding) this.holdForFull();
      return;
    }
    if (this.running) return;
    if (full || (this.failed && pending >= this.checkpointPages)) {
      this.heldFellShort = false;
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        const code = (err as { code?: unknown }).code as string | undefined;
        if (isIoError(code)) this.ioFailed?.(`a checkpoint failed: ${(err as Error).message} (${code})`);
        throw err;
      }
      this.counts.inline++;
    } else if (pending >= this.checkpointPages) {
      this.started().checkpoint();
      this.running = true;
    }
  }

  /**
   * A full WAL: holds the store's writer while the worker copies the rest (after the checkpoint it runs now,
   * if one does: so even writes that never let the event loop turn cannot outrun it).
   */
  private holdForFull(): void {
    this.started();
    this.holding = true;
    this.holdWriter!(async () => {
      try {
        if (this.running) await this.nextAnswer();
        // Closing or failed since (the worker is ending or gone): nothing to wait for.
        if (this.closing || this.failed) return;
        const answer = this.nextAnswer();
        this.started().checkpoint();
        this.running = true;
        const end = await answer;
        this.counts.held++;
        this.heldFellShort = !copiedAll(end);
      } catch (err) {
        this.answerWaiters.length = 0;
        this.heldFellShort = true;
        this.logger.warn({ path: this.path, err: err instanceof Error ? err.message : String(err) }, 'WAL checkpoint could not run; the next commit tries again');
      } finally {
        this.holding = false;
      }
    });
  }

  private nextAnswer(): Promise<CheckpointAnswer | undefined> {
    return new Promise((resolve) => this.answerWaiters.push(resolve));
  }

  private answered(answer: CheckpointAnswer | undefined): void {
    for (const waiter of this.answerWaiters.splice(0)) waiter(answer);
  }

  /** Closes this file's connection on the checkpoint thread; the store's connection closes after it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.idle.busy();
      // A lane ending for being idle closes its connection first (never the last one); its release keeps the process up.
      await Promise.all(this.ending);
      const lane = this.lane;
      this.lane = undefined;
      await lane?.release();
      closeSync(this.shm);
    })();
    return this.closing;
  }

  /** A 32-bit word of the wal-index header (native byte order; a hint, read without SQLite's locks). */
  private read(offset: number): number {
    return readSync(this.shm, this.word, 0, 4, offset) === 4 ? this.word.readUInt32LE(0) : 0;
  }
}
