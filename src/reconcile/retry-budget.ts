// The overall budget of retries, paired with each key's own backoff as controller-runtime's default rate
// limiter pairs a token bucket with the per-item exponential backoff: a retry waits for the later of its
// own backoff and its turn in the budget. The budget is counted where the retries happen, in time: at most
// `count` retries start in each period of `perMs` (aligned on the clock), so when many keys fail at once
// their retries are spread at the budget's rate instead of coming back together, and while few fail each
// keeps its own schedule to the millisecond. Fresh work (a new key, a changed spec, a forced refresh) does
// not pass through here and is never delayed by it.
//
// Contracts:
// - delay(own) answers how long a retry whose own backoff is `own` waits, and books it: its own time when
//   that period has room, else evenly spaced in the first later period that has (never sooner than own).
// - No period ever holds more than `count` booked retries, so any `perMs` of clock time sees at most
//   2 × count of them start (at most count in steady state).
// - waiting() counts the booked retries the budget pushed past their own backoff whose time has not come.
// - Work per call: O(1) amortised (full periods are skipped by a path-compressed pointer, past ones dropped).
import type { Clock } from '../domain/clock.js';

export interface RetryRate {
  /** Retries per period (a burst of count may start together). */
  count: number;
  /** The period, in ms. */
  perMs: number;
}

export interface RetryDelay {
  delayMs: number;
  /** The budget, not the key's own backoff, decided the delay (many keys are retrying). */
  budgeted: boolean;
}

interface Period {
  booked: number;
  /** When the retries the budget pushed into this period start, ascending; those before `passed` have. */
  pushed: number[];
  passed: number;
}

export class RetryBudget {
  readonly rate: RetryRate;
  private readonly clock: Clock;
  private readonly spacingMs: number;
  /** Periods (index = floor(time / perMs)) with bookings. */
  private readonly periods = new Map<number, Period>();
  /** A full period → a later period to look at (path-compressed towards the first that has room). */
  private readonly fullTo = new Map<number, number>();
  /** Periods before this one are dropped. */
  private oldest = -Infinity;
  private pending = 0;

  constructor(options: RetryRate & { clock: Clock }) {
    if (!Number.isInteger(options.count) || options.count < 1 || !(options.perMs > 0)) {
      throw new RangeError(`RetryBudget: need a whole count >= 1 and perMs > 0, got count=${options.count}, perMs=${options.perMs}`);
    }
    this.rate = { count: options.count, perMs: options.perMs };
    this.clock = options.clock;
    this.spacingMs = options.perMs / options.count;
  }

  /** How long a retry whose own backoff is `ownDelayMs` waits; books its turn. */
  delay(ownDelayMs: number): RetryDelay {
    const now = this.clock.now();
    this.drop(now);
    const at = now + Math.max(0, ownDelayMs);
    const own = Math.floor(at / this.rate.perMs);
    const index = this.withRoom(own);
    let period = this.periods.get(index);
    if (!period) this.periods.set(index, (period = { booked: 0, pushed: [], passed: 0 }));
    const start = index === own ? at : index * this.rate.perMs + Math.ceil(period.booked * this.spacingMs);
    if (++period.booked >= this.rate.count) this.fullTo.set(index, index + 1);
    if (index === own) return { delayMs: ownDelayMs, budgeted: false };
    period.pushed.push(start);
    this.pending++;
    return { delayMs: start - now, budgeted: true };
  }

  /** Booked retries the budget pushed past their own backoff, still to start. */
  waiting(): number {
    const now = this.clock.now();
    this.drop(now);
    const current = this.periods.get(Math.floor(now / this.rate.perMs));
    if (current) {
      while (current.passed < current.pushed.length && current.pushed[current.passed]! <= now) {
        current.passed++;
        this.pending--;
      }
    }
    return this.pending;
  }

  /** The first period at or after `index` with room. */
  private withRoom(index: number): number {
    let found = index;
    for (let next = this.fullTo.get(found); next !== undefined; next = this.fullTo.get(found)) found = next;
    for (let at = index; at !== found; ) {
      const next = this.fullTo.get(at)!;
      this.fullTo.set(at, found);
      at = next;
    }
    return found;
  }

  /** Drops the periods that ended before `now`. */
  private drop(now: number): void {
    const current = Math.floor(now / this.rate.perMs);
    if (current <= this.oldest) return;
    const few = current - this.oldest <= this.periods.size;
    const past = few ? Array.from({ length: current - this.oldest }, (_, i) => this.oldest + i) : [...this.periods.keys()].filter((k) => k < current);
    for (const index of past) {
      const period = this.periods.get(index);
      if (period) this.pending -= period.pushed.length - period.passed;
      this.periods.delete(index);
      this.fullTo.delete(index);
    }
    this.oldest = current;
  }
}
