// The one reader of the changelog for live consumers: a single reader follows the store's global
// resourceVersion and hands each new batch of changes to every listener (the watch hub while streams
// are open; on PostgreSQL the leader's queue). The store tells it of each write (onWrite), and it reads
// as soon as the writing code yields, so a change reaches watchers without waiting for a timer, and
// writes made in one go (a batch of files) are read together. The timed poll is only a fallback. One read
// at a time (a wake during a read reads again after it), one query per read however many watchers there
// are; writers never wait for it.
//
// It reads only while someone listens: with no listener it neither hears writes nor polls, so a write
// costs it nothing. The first listener (again) makes it follow from the store's current resourceVersion
// (`following()` answers once it does): changes written while nobody listened are never handed out
// (a watch stream replays those itself, from the changelog).
//
// Contract: from when `following()` answers until its listener leaves, a listener sees every change
// exactly once, in resourceVersion order; `position` is the resourceVersion of the last change handed
// out (changes <= position were delivered, or written while nobody listened).
import type { Clock, TimerHandle } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { Change, ChangeLog } from '../store/index.js';

export type ChangeListener = (changes: readonly Change[]) => void;

/** The feed missed changes (the changelog was pruned past its position); listeners must start over. */
export type GapListener = (position: number) => void;

export interface ChangeFeedOptions {
  store: ChangeLog;
  clock?: Clock;
  logger: Logger;
  /** How often the changelog is read without a write having woken the feed (a fallback). Default 1 s. */
  pollIntervalMs?: number;
  /** Changes read per query. Default 500. */
  batchSize?: number;
}

export class ChangeFeed {
  private readonly store: ChangeLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly listeners = new Set<ChangeListener>();
  private readonly gapListeners = new Set<GapListener>();
  private timer: TimerHandle | undefined;
  private woken = false;
  /** The read under way, and whether a poll came in during it (see poll). */
  private reading: Promise<void> | undefined;
  private again = false;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private positionValue = 0;
  /** Moves whenever the feed starts or stops following: work begun under another epoch is dropped. */
  private epoch = 0;
  /** Whether `position` is fixed for the current listeners (reads hand out changes after it). */
  private followingNow = false;
  private followed: Promise<void> = Promise.resolve();
  /** Ends the wait before another try of a failed follow (see follow). */
  private retried: (() => void) | undefined;

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

  /** Starts the feed: it follows the changelog from its current end whenever it has listeners. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.listeners.size > 0) await this.follow();
  }

  stop(): void {
    this.running = false;
    this.pause();
  }

  /** Adds a listener; the first one makes the feed follow the changelog (see following()). */
  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && this.running) void this.follow();
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.pause();
    };
  }

  /** Answers once the feed follows the changelog for its current listeners (its position fixed). Never rejects. */
  following(): Promise<void> {
    return this.followed;
  }

  onGap(listener: GapListener): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /**
   * Fixes the position at the store's current resourceVersion (after any read of an earlier epoch; a failed
   * read is tried again every poll interval), then hears writes and polls. A read right after catches a
   * write committed while the position was read. Answers once it follows, or once it was paused.
   */
  private follow(): Promise<void> {
    const epoch = ++this.epoch;
    const earlier = this.reading;
    this.followed = (async () => {
      await earlier?.catch(() => undefined);
      while (epoch === this.epoch) {
        try {
          const position = await this.store.currentResourceVersion();
          if (epoch !== this.epoch) return;
          this.positionValue = position;
          this.followingNow = true;
          this.unsubscribe = this.store.onWrite(() => this.wake());
          this.schedule();
          void this.pollSafely();
          return;
        } catch (err) {
          this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'reading the resourceVersion failed; the change feed tries again');
          await new Promise<void>((resolve) => {
            this.retried = resolve;
            this.timer = this.clock.setTimeout(() => {
              this.timer = undefined;
              resolve();
            }, this.pollIntervalMs);
          });
          this.retried = undefined;
        }
      }
    })();
    return this.followed;
  }

  /** Stops hearing writes and polling (no listener, or stopped). */
  private pause(): void {
    this.epoch++;
    this.followingNow = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.retried?.();
  }

  /**
   * Reads and hands out everything committed since the last poll. Runs on the timer; callable directly.
   * A call while a read is under way is answered when a read that started after it has finished.
   */
  poll(): Promise<void> {
    if (!this.followingNow) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        if (this.running) void this.pollSafely();
      }
    });
    return this.reading;
  }

  private async readAll(): Promise<void> {
    const epoch = this.epoch;
    for (;;) {
      const changes = await this.store.changesSince(this.positionValue, this.batchSize);
      // Paused meanwhile: the next follow fixes the position again.
      if (epoch !== this.epoch || changes.length === 0) return;
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
   * A write happened: read once the code that wrote yields, not now. The write may be inside a unit of
   * work that has yet to commit (or roll back): the read is an outside call, so it does not see the
   * unit's writes before its commit (on SQLite it waits for it). A microtask runs before the work the
   * write set off (a reconcile), so watchers hear of the change first.
   */
  private wake(): void {
    if (this.woken) return;
    this.woken = true;
    queueMicrotask(() => {
      this.woken = false;
      if (this.running && this.followingNow) void this.pollSafely();
    });
  }

  private schedule(): void {
    if (!this.running || !this.followingNow) return;
    const epoch = this.epoch;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.pollSafely().then(() => {
        if (epoch === this.epoch && this.timer === undefined) this.schedule();
      });
    }, this.pollIntervalMs);
  }

  /** Never rejects. */
  private async pollSafely(): Promise<void> {
    try {
      await this.poll();
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
