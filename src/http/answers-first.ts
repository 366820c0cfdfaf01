// Answers first: the reconciles that writes queue give way to the writes still waiting for their answers.
//
// Every write of desired state queues a reconcile, and a batch of reconciles holds the event loop for up to
// its time budget (see reconcile/controller.ts): run at once, the reconciles of the writes answered so far
// delay the answers of the writes behind them. So while an API write (PUT, POST, PATCH, DELETE under /api)
// is in flight, a batch waits until none is, but at most maxDeferMs (reconciles keep a bounded share of the
// event loop under any load: at least busyBatchMs in every maxDeferMs), and runs for at most busyBatchMs.
// So does a batch within maxDeferMs of the last write: writes answered together (one group commit) leave
// none in flight for a moment, and their clients' next writes arrive during the batch that starts then.
// Only after maxDeferMs without a write does a batch take the controller's own budget. A refresh is not counted:
// its answer waits for a reconcile. Nor is a write once it has been in flight for longWriteMs: it waits for
// something else than this process (a detect probing an upstream), and holding reconciles back for it would
// only slow them.
//
// Level-triggered reconciles lose nothing by waiting: the queue holds each key once however often it was
// written, and a burst's reconciles run after it in the controller's full batches.
//
// New discoveries give way too (discoveryMayStart, the DiscoveryManager's reconcilesWaiting): a discovery's
// requests, connects and answers cost the event loop as much as an answer, so while writes are in flight or
// were within maxDeferMs (and while reconciles wait) no new discovery starts. The manager bounds each such
// wait (its MAX_YIELD_MS), then fills its free slots anyway: under writes that never pause, discovery
// still starts a pool's worth of jobs at that period, and after the writes all that waited at full speed.
import type { RequestHandler } from 'express';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';

/** A batch waits for the writes in flight at most this long. */
export const ANSWERS_FIRST_MAX_DEFER_MS = 50;
/** The budget of a batch that runs while writes are in flight. */
export const ANSWERS_FIRST_BUSY_BATCH_MS = 2;
/** A write in flight this long no longer holds batches back. */
export const ANSWERS_FIRST_LONG_WRITE_MS = 1000;

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

export interface AnswersFirstOptions {
  maxDeferMs?: number;
  busyBatchMs?: number;
  longWriteMs?: number;
  /** Default the system clock: this is the scheduling of the process's CPU, in real time. */
  clock?: Clock;
}

export class AnswersFirst {
  private readonly maxDeferMs: number;
  private readonly busyBatchMs: number;
  private readonly longWriteMs: number;
  private readonly clock: Clock;
  private writesInFlight = 0;
  /** Callers of whenWritesPause, resolved once the writes have paused. */
  private readonly pauseWaiters: (() => void)[] = [];
  /** The check, once no write is in flight, that maxDeferMs passed since the last one. */
  private pauseCheck: TimerHandle | undefined;
  /** When a write last arrived or was answered (clock ms). */
  private lastWriteAt = -Infinity;
  /** Batches waiting for the writes in flight to end (each also ends at its deadline). */
  private readonly waiting = new Set<() => void>();

  constructor(options: AnswersFirstOptions = {}) {
    this.maxDeferMs = options.maxDeferMs ?? ANSWERS_FIRST_MAX_DEFER_MS;
    this.busyBatchMs = options.busyBatchMs ?? ANSWERS_FIRST_BUSY_BATCH_MS;
    this.longWriteMs = options.longWriteMs ?? ANSWERS_FIRST_LONG_WRITE_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** Counts an API write from its arrival until its answer is sent (or its connection closes). */
  readonly middleware: RequestHandler = (req, res, next) => {
    if (!WRITE_METHODS.has(req.method) || req.path.endsWith('/refresh')) {
      next();
      return;
    }
    this.writesInFlight++;
    this.lastWriteAt = this.clock.now();
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.lastWriteAt = this.clock.now();
      this.clock.clearTimeout(long);
      if (--this.writesInFlight === 0) {
        for (const wake of [...this.waiting]) wake();
        this.armPauseCheck();
      }
    };
    const long = this.clock.setTimeout(uncount, this.longWriteMs);
    res.once('close', uncount);
    next();
  };

  /** The API writes whose answers have not been sent yet. */
  get inFlight(): number {
    return this.writesInFlight;
  }

  /** Batches held back now. */
  get batchesWaiting(): number {
    return this.waiting.size;
  }

  /**
   * The controller's beforeBatch: resolves once a batch may start (no write in flight, or maxDeferMs
   * waited), with busyBatchMs while writes are in flight or were within maxDeferMs, else undefined (the
   * controller's own budget).
   */
  beforeBatch(): Promise<number | undefined> {
    if (this.writesInFlight === 0) return Promise.resolve(this.budget());
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const wake = () => {
        this.waiting.delete(wake);
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve(this.budget());
      };
      this.waiting.add(wake);
      timer = this.clock.setTimeout(wake, this.maxDeferMs);
    });
  }

  /** No write is in flight, and none arrived or was answered within maxDeferMs. */
  get writesPaused(): boolean {
    return this.writesInFlight === 0 && this.clock.now() - this.lastWriteAt >= this.maxDeferMs;
  }

  /** Undefined when the writes have paused (writesPaused); else resolves once they have. Unbounded: the caller bounds it. */
  whenWritesPause(): Promise<void> | undefined {
    if (this.writesPaused) return undefined;
    return new Promise((resolve) => {
      this.pauseWaiters.push(resolve);
      this.armPauseCheck();
    });
  }

  /**
   * The DiscoveryManager's reconcilesWaiting: undefined when no reconcile waits (reconcilesWaiting() answers
   * undefined) and the writes have paused; else resolves once the reconciles' wait resolved and then the
   * writes paused. reconcilesWaiting is asked once: a wait that resolves at once (a queue shutting down
   * with keys left) must not be asked again and again.
   */
  discoveryMayStart(reconcilesWaiting: () => Promise<void> | undefined): Promise<void> | undefined {
    const reconciles = reconcilesWaiting();
    return reconciles ? reconciles.then(() => this.whenWritesPause()) : this.whenWritesPause();
  }

  private armPauseCheck(): void {
    if (this.pauseWaiters.length === 0 || this.pauseCheck !== undefined || this.writesInFlight > 0) return;
    this.pauseCheck = this.clock.setTimeout(() => {
      this.pauseCheck = undefined;
      if (!this.writesPaused) return this.armPauseCheck();
      for (const resolve of this.pauseWaiters.splice(0)) resolve();
    }, Math.max(0, this.lastWriteAt + this.maxDeferMs - this.clock.now()));
  }

  private budget(): number | undefined {
    return this.writesInFlight > 0 || this.clock.now() - this.lastWriteAt < this.maxDeferMs ? this.busyBatchMs : undefined;
  }
}
