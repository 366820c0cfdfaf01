// A work queue of keys, modelled on client-go's workqueue (a FIFO with a dirty set and a processing
// set, plus a delaying layer and a per-key rate limiter in one class).
//
// Contracts:
// - A key waits in the queue at most once: add() of a waiting key is a no-op.
// - A key is never handed out twice at once. add() of a key that is being processed marks it dirty;
//   done() puts it back exactly once, however many adds arrived during the run.
// - addAfter() keeps, per key, only the earliest pending delayed add. Delayed adds wait as DueKeys (one
//   clock timer for the earliest, none while nothing is delayed): no timer per key.
// - After shutdown(), adds are ignored, delayed adds are cancelled and get() answers undefined.
import type { Clock } from '../domain/clock.js';
import { backoffDelay } from './backoff.js';
import { DueKeys } from './due-keys.js';

export interface WorkQueueOptions {
  clock: Clock;
  /** First retry delay of addRateLimited(). Default 100 ms. */
  baseDelayMs?: number;
  /** Cap of the addRateLimited() delay. Default 300 000 ms (5 minutes). */
  maxDelayMs?: number;
  /** Randomness in [0, 1) for backoff jitter (see backoff.ts). Default: no jitter. */
  jitter?: () => number;
}

/** A key handed out by getWithWait(), with how long it waited since it was first added. */
export interface QueueItem {
  key: string;
  /** Time from the add() that made the key pending to the get() that handed it out. */
  waitedMs: number;
}

type Waiter = (item: QueueItem | undefined) => void;

export class WorkQueue {
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: (() => number) | undefined;

  /** Ready keys in FIFO order. Every key here is also in `dirty` and not in `processing`. */
  private ready: string[] = [];
  /** Keys that need a run: waiting in `ready`, or being processed and to be re-queued by done(). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** When each dirty key was added, for wait-time accounting. */
  private readonly addedAt = new Map<string, number>();
  /** Keys with a pending delayed add, each added when due. */
  private readonly delayed: DueKeys;
  private readonly failureCounts = new Map<string, number>();
  private waiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.clock = options.clock;
    this.delayed = new DueKeys(options.clock, (key) => this.add(key));
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.jitter = options.jitter;
    if (!(this.baseDelayMs > 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(
        `WorkQueue: need 0 < baseDelayMs <= maxDelayMs, got baseDelayMs=${this.baseDelayMs}, maxDelayMs=${this.maxDelayMs}`,
      );
    }
  }

  /** Mark `key` as needing a run. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return; // done() re-queues it
    this.ready.push(key);
    this.dispatch();
  }

  /**
   * Add `key` after `ms`. If the key already has a pending delayed add, the earlier of the two wins.
   * ms <= 0 adds now (and leaves any pending delayed add in place; a spare run is harmless).
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.dueAt(key);
    if (pending !== undefined && pending <= at) return;
    this.delayed.set(key, at);
  }

  /**
   * Add `key` after its backoff delay, base * 2^failures capped at max, and count one more failure.
   * Returns the delay used.
   */
  addRateLimited(key: string): number {
    const failures = this.failureCounts.get(key) ?? 0;
    const delayMs = backoffDelay(failures, {
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      ...(this.jitter ? { jitter: this.jitter } : {}),
    });
    this.failureCounts.set(key, failures + 1);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Reset the failure count of `key`: its next addRateLimited() waits baseDelayMs again. */
  forget(key: string): void {
    this.failureCounts.delete(key);
  }

  /** How many times `key` went through addRateLimited() since the last forget(). */
  failures(key: string): number {
    return this.failureCounts.get(key) ?? 0;
  }

  /** The next key (FIFO), waiting while there is none; undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    return (await this.getWithWait())?.key;
  }

  /** Like get(), with how long the key waited. The key is processing until done(key). */
  getWithWait(): Promise<QueueItem | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.ready.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next ready key without waiting (it is processing until done(key)); undefined when none is ready. */
  tryGet(): QueueItem | undefined {
    return this.shuttingDown || this.ready.length === 0 ? undefined : this.take();
  }

  /** End processing of `key`. If it was added meanwhile, it goes back to the queue, once. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.ready.push(key);
      this.dispatch();
    }
    this.notifyIfIdle();
  }

  /** Stop: waiting and future get() calls answer undefined, delayed adds are cancelled, adds are ignored. */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.delayed.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(undefined);
    this.notifyIfIdle();
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys ready to be handed out. */
  len(): number {
    return this.ready.length;
  }

  /** Keys handed out and not yet done(). */
  processingCount(): number {
    return this.processing.size;
  }

  /** Keys with a pending delayed add. */
  delayedCount(): number {
    return this.delayed.size;
  }

  /**
   * True when no key is ready (or the queue is shut down, so none will be handed out) and none is
   * processing. Pending delayed adds do not count: a key in backoff is not work to wait for.
   */
  isIdle(): boolean {
    return (this.shuttingDown || this.ready.length === 0) && this.processing.size === 0;
  }

  /** Resolves the next time isIdle() holds (at once if it holds now). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private take(): QueueItem {
    const key = this.ready.shift() as string;
    this.dirty.delete(key);
    this.processing.add(key);
    const addedAt = this.addedAt.get(key) ?? this.clock.now();
    this.addedAt.delete(key);
    return { key, waitedMs: Math.max(0, this.clock.now() - addedAt) };
  }

  /** Hand ready keys to waiting getters. Runs synchronously, so a key is processing the moment it leaves `ready`. */
  private dispatch(): void {
    while (this.waiters.length > 0 && this.ready.length > 0) {
      const resolve = this.waiters.shift() as Waiter;
      resolve(this.take());
    }
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
