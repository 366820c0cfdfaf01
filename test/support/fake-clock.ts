// A manual Clock for tests: time moves only when the test calls advance(), and timers fire in order
// of due time (ties in the order they were set). Nothing here sleeps.
import type { Clock, TimerHandle } from '../../src/domain/clock.js';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

export interface PendingTimer {
  id: number;
  /** Absolute due time. */
  at: number;
  /** Due time relative to now(). */
  inMs: number;
}

export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers = new Map<number, FakeTimer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: unknown }).id;
    if (typeof id === 'number') this.timers.delete(id);
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, in due order, with now()
   * set to each timer's due time while it runs. Timers set by a callback fire too if they fall due
   * within the window. Callbacks run synchronously; promise continuations they start run after
   * advance() returns (see flushPromises).
   */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('FakeClock.advance: ms must be >= 0');
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.timers.delete(next.id);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }

  /** Timers not yet fired, soonest first. */
  pendingTimers(): PendingTimer[] {
    return [...this.timers.values()]
      .sort((a, b) => a.at - b.at || a.id - b.id)
      .map(({ id, at }) => ({ id, at, inMs: at - this.current }));
  }

  private nextDue(target: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.at > target) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    }
    return best;
  }
}

/**
 * Let every queued promise continuation run. It yields one macrotask turn (setImmediate), which drains
 * the microtask queue; it does not wait for any amount of time.
 */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
