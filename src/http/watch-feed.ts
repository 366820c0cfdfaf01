// The one reader of the changelog for live consumers: a single reader follows the store's global
// resourceVersion and hands each new batch of changes to every listener (the watch hub, metrics).
// The store tells it of each write (onWrite), and it reads as soon as the writing code yields, so a
// change reaches watchers without waiting for a timer, and writes made in one go (a batch of files)
// are read together. The timed poll is only a fallback. One query per turn however many watchers
// there are; writers never wait for it.
//
// Contract: listeners see every change exactly once, in resourceVersion order, and `position` is
// the resourceVersion of the last change handed out (changes <= position were delivered).
import type { Clock, TimerHandle } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { Change, ChangeLog, Transactions } from '../store/index.js';

export type ChangeListener = (changes: readonly Change[]) => void;

/** The feed missed changes (the changelog was pruned past its position); listeners must start over. */
export type GapListener = (position: number) => void;

export interface ChangeFeedOptions {
  store: ChangeLog & Transactions;
  clock?: Clock;
  logger: Logger;
  /** How often the changelog is read without a write having woken the feed (a fallback). Default 1 s. */
  pollIntervalMs?: number;
  /** Changes read per query. Default 500. */
  batchSize?: number;
}

export class ChangeFeed {
  private readonly store: ChangeLog & Transactions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly listeners = new Set<ChangeListener>();
  private readonly gapListeners = new Set<GapListener>();
  private timer: TimerHandle | undefined;
  private woken = false;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private positionValue = 0;

  constructor(options: ChangeFeedOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
  }

  /** The resourceVersion of the last change handed to listeners. */
  get position(): number {
    return this.positionValue;
  }

  /**
   * Starts following the changelog from its current end. `seed` runs in the same read transaction
   * that fixes the position, so a listener can take a consistent snapshot of the store first.
   */
  start(seed?: (position: number) => void): void {
    if (this.running) return;
    this.store.transaction(() => {
      this.positionValue = this.store.currentResourceVersion();
      seed?.(this.positionValue);
    });
    this.running = true;
    this.unsubscribe = this.store.onWrite(() => this.wake());
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onGap(listener: GapListener): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /** Reads and hands out everything committed since the last poll. Runs on the timer; callable directly. */
  poll(): void {
    for (;;) {
      const changes = this.store.changesSince(this.positionValue, this.batchSize);
      if (changes.length === 0) return;
      const first = changes[0]!;
      if (first.resourceVersion > this.positionValue + 1) {
        // Only possible if this process stalled for longer than the changelog's retention.
        this.logger.warn({ position: this.positionValue, next: first.resourceVersion }, 'change feed fell behind the changelog retention');
        this.positionValue = first.resourceVersion - 1;
        for (const l of this.gapListeners) this.safely(() => l(this.positionValue));
      }
      this.positionValue = changes[changes.length - 1]!.resourceVersion;
      for (const l of this.listeners) this.safely(() => l(changes));
      if (changes.length < this.batchSize) return;
    }
  }

  /**
   * A write happened: read once the code that wrote yields, not now. The write may be inside a
   * transaction that has yet to commit (or roll back); SQLite here is synchronous, so by then it has
   * done either. A microtask runs before the work the write set off (a reconcile), so watchers hear
   * of the change first.
   */
  private wake(): void {
    if (this.woken) return;
    this.woken = true;
    queueMicrotask(() => {
      this.woken = false;
      if (this.running) this.pollSafely();
    });
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pollSafely();
      this.schedule();
    }, this.pollIntervalMs);
  }

  private pollSafely(): void {
    try {
      this.poll();
    } catch (err) {
      this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'reading the changelog failed; retrying');
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'change feed listener threw');
    }
  }
}
