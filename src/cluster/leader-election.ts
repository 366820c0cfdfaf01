// Leader election over the lease row (lease.ts), with controller-runtime's semantics and defaults:
//
// - leaseDurationMs (15 s): how long a lease lasts after its last renewal (database clock); a candidate
//   takes over only a lease that ran out or was released.
// - renewDeadlineMs (10 s): the leader steps down when it has not renewed for this long (its own clock),
//   before its lease can run out at the others.
// - retryPeriodMs (2 s): how often the leader renews and a candidate tries (a candidate with up to 20 %
//   jitter, so candidates do not move in step).
//
// Callbacks: onStartedLeading(epoch) when this elector takes the lease (each time, with the new epoch);
// onStoppedLeading() when it loses it (another holds it, a fenced write, the renew deadline) or stop()
// releases it. After losing, it stays a candidate. stop() (the SIGTERM path) releases a held lease, so
// another replica takes over at its next try instead of after the lease runs out.
//
// Leader work fences every transaction with `elector.fence(client)` (fence.ts); a FencedError there also
// makes the elector step down at once.
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';
import type { Queryable } from '../store/postgres/connection.js';
import { fence, FencedError } from './fence.js';
import { acquireLease, releaseLease, renewLease, type LeaseToken } from './lease.js';
import { newReplicaId } from './replicas.js';

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** controller-runtime's JitterFactor: the lease must outlast the renew deadline, and that a try with jitter. */
const JITTER_FACTOR = 1.2;

export interface LeaderElectionOptions {
  /** The pool (or any query runner) the lease statements use. */
  db: Queryable;
  /** The lease row. Default "controller". */
  name?: string;
  /** This elector's holder id; unique per process. Default `<hostname>-<pid>-<random>`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  onStartedLeading?: (epoch: number) => void;
  onStoppedLeading?: () => void;
  /** A lease statement failed (the database is unreachable, a timeout). */
  onError?: (err: unknown) => void;
}

/** Checks the durations as controller-runtime does; the message names the rule broken. */
export function checkLeaseDurations(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  if (!(retryPeriodMs > 0)) throw new Error(`The retry period (${retryPeriodMs} ms) must be above 0`);
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new Error(`The lease duration (${leaseDurationMs} ms) must be greater than the renew deadline (${renewDeadlineMs} ms)`);
  }
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new Error(`The renew deadline (${renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × the retry period (${retryPeriodMs} ms)`);
  }
}

export class LeaderElector {
  readonly identity: string;
  readonly name: string;
  private readonly db: Queryable;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly options: LeaderElectionOptions;
  private held: LeaseToken | undefined;
  private lastRenewedAt = 0;
  private started = false;
  private stopped = false;
  /** stop() under way or done. */
  private stopping: Promise<void> | undefined;
  private nextTry: TimerHandle | undefined;
  private deadline: TimerHandle | undefined;
  /** The try in flight: one at a time. */
  private trying: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.db = options.db;
    this.name = options.name ?? 'controller';
    this.identity = options.identity ?? newReplicaId();
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    checkLeaseDurations(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  get isLeader(): boolean {
    return this.held !== undefined;
  }

  /** The lease held now, or undefined. */
  get token(): LeaseToken | undefined {
    return this.held;
  }

  /** When the lease was last taken or renewed (this elector's clock, ms), while it leads; else undefined. */
  get lastRenewedAtMs(): number | undefined {
    return this.held ? this.lastRenewedAt : undefined;
  }

  /** Starts trying at once, then every retry period. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /**
   * Stops trying; a held lease is released (another replica takes over at its next try) and
   * onStoppedLeading is called. Resolves when no lease statement of this elector is in flight.
   */
  stop(): Promise<void> {
    this.stopping ??= this.release();
    return this.stopping;
  }

  /** stop()'s one run: every caller of stop() waits for it. */
  private async release(): Promise<void> {
    this.stopped = true;
    if (this.nextTry) this.clock.clearTimeout(this.nextTry);
    await this.trying;
    const held = this.held;
    if (!held) return;
    this.stepDown();
    try {
      await releaseLease(this.db, held);
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /**
   * Fences the caller's open transaction on the lease held now (see fence.ts). Throws FencedError when this
   * elector does not lead, or no longer does: then it steps down at once.
   */
  async fence(client: Queryable): Promise<void> {
    const held = this.held;
    if (!held) {
      const token = { name: this.name, holder: this.identity, epoch: 0 };
      throw new FencedError(token, `${this.identity} does not hold lease "${this.name}": this replica is not the leader, its write is refused`);
    }
    try {
      await fence(client, held);
    } catch (err) {
      if (err instanceof FencedError && this.held === held) this.stepDown();
      throw err;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.nextTry = this.clock.setTimeout(() => {
      this.nextTry = undefined;
      // A callback that throws is reported, and the elector goes on.
      this.trying = this.tryOnce().catch((err: unknown) => this.options.onError?.(err)).finally(() => {
        this.trying = undefined;
        const wait = this.held ? this.retryPeriodMs : this.retryPeriodMs * (1 + (JITTER_FACTOR - 1) * this.random());
        this.schedule(wait);
      });
    }, ms);
  }

  private async tryOnce(): Promise<void> {
    const held = this.held;
    // The lease runs from the statement's start (database clock), so the deadline does too.
    const startedAt = this.clock.now();
    let epoch: number | undefined;
    try {
      if (held) {
        epoch = (await renewLease(this.db, held, this.leaseDurationMs)) ? held.epoch : undefined;
      } else {
        epoch = await acquireLease(this.db, { name: this.name, holder: this.identity, durationMs: this.leaseDurationMs });
      }
    } catch (err) {
      // The deadline timer steps down when renewals keep failing.
      this.options.onError?.(err);
      return;
    }
    if (this.stopped && epoch !== undefined && !held) {
      // stop() came while this try took the lease: give it back at once.
      await releaseLease(this.db, { name: this.name, holder: this.identity, epoch }).catch((err) => this.options.onError?.(err));
      return;
    }
    if (this.held !== held) return; // stepped down meanwhile (a fenced write): this answer is stale.
    if (epoch === undefined) {
      // Not taken, or (when held) lost: another took it over.
      if (held) this.stepDown();
      return;
    }
    this.renewed(startedAt);
    if (!held) {
      this.held = { name: this.name, holder: this.identity, epoch };
      this.options.onStartedLeading?.(epoch);
    }
  }

  /**
   * Restarts the renew deadline from `at` (when the successful statement was sent): the leader steps down
   * when it passes without another renewal.
   */
  private renewed(at: number): void {
    this.lastRenewedAt = at;
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    this.deadline = this.clock.setTimeout(() => {
      this.deadline = undefined;
      if (this.held && this.clock.now() - this.lastRenewedAt >= this.renewDeadlineMs) this.stepDown();
    }, Math.max(0, at + this.renewDeadlineMs - this.clock.now()));
  }

  private stepDown(): void {
    if (this.deadline) this.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
    if (!this.held) return;
    this.held = undefined;
    this.options.onStoppedLeading?.();
  }
}
