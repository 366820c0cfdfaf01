// Runs discoveries off the reconcile workers, so a slow or dead server never holds a worker or delays
// other servers. The reconciler asks for the latest record of a key and, when one is due, hands over a
// job; the job runs in a bounded pool and the key is re-enqueued when it finishes. Records live in
// memory: after a restart every server is discovered once more.
//
// Refresh contract: refresh(key) resolves once a reconcile has written status from a discovery that
// *started after* the call (so a discovery already running when the refresh came does not count), or
// once the reconcile says there is nothing to discover (settle), or the key is gone (forget).
//
// Schedule: once a reconcile has reported a record (written status from it), the manager itself runs the
// job that made it again when the record is due (rediscovery slot, retry backoff, token renewal); a
// reconcile that finds a discovery due (new inputs or generation, a forced refresh) starts one instead. A
// rediscovery that finds what the last reported discovery found (the same result, token and retry bound;
// nobody waiting on a refresh; the gateway seeing no failure of it) asks for no reconcile: the status and
// gateway entry written from the previous record already say it, so nothing would be written. Its record
// replaces the previous one in memory and is due in turn. A settled fleet is rediscovered without
// reconciles; any difference is reconciled as before.
//
// The job rerun is always the one the latest reconcile asked for (ensure), and only while it has the
// inputs and generation of the record: a job that finishes after a reconcile asked for other inputs or a
// newer generation is never "the same" (it is reconciled, and that reconcile starts the job asked for),
// and a reconcile that asks for no discovery (settle: nothing to discover, or it failed before it could
// say with which inputs) cancels the rerun and drops the kept job, so nothing is sent that the current
// spec no longer yields. The reconcile that next succeeds asks again.
import type { Clock, TimerHandle } from '../domain/clock.js';
import { DueKeys } from './due-keys.js';
import type { Logger } from '../domain/logger.js';
import { shareDiscoveryResult, type DiscoveryResult } from '../discovery/index.js';
import type { OpenApiCatalog } from '../openapi/catalog.js';
import { createHash } from 'node:crypto';
import { backoffDelay } from './backoff.js';
import type { RetryBudget, RetryRate } from './retry-budget.js';
import { ConditionReason } from '../domain/condition-reasons.js';

export interface DiscoveryOutcome {
  result: DiscoveryResult;
  /** The bearer token the job obtained (OAuth client credentials), for the gateway entry. */
  bearer?: { token: string; expiresAt?: number };
  /** mcp-server/openapi: what the gateway serves, and tool_settings that name no operation (`get /path`). */
  openapi?: { catalog: OpenApiCatalog; unknownOperations: string[] };
}

export interface DiscoveryRecord {
  /** The hash of everything the discovery depended on (URL, headers, TLS, timeouts...). */
  inputsHash: string;
  outcome: DiscoveryOutcome;
  /** When the job started: what the server did before this, the record describes better. */
  startedAt: number;
  finishedAt: number;
  /** Consecutive failures for these inputs; 0 after a success. */
  failures: number;
  /** When this record is due for a fresh discovery (the key's next slot after a success, backoff after a failure). */
  dueAt: number;
  /** Jobs are numbered as they start; a refresh waits for a record of a job that started after it. */
  seq: number;
  /** The resource generation the job was started for; a newer generation makes the record due. */
  generation: number;
  /** After a failure: the bound on the next attempt that status states. */
  nextAttempt?: NextAttempt;
  /** A reconcile wrote status from this record (or from an earlier one with the same outcome). */
  reported?: boolean;
}

/**
 * The longest until the next attempt of a failing server: the backoff cap for its failure, or, when the
 * retry budget pushed the retry past that cap (many servers failing at once), that delay rounded up to a
 * round figure, with the budget that decided it. A bound, not a time, so a server that keeps failing the
 * same way keeps the same status.
 */
export interface NextAttempt {
  withinMs: number;
  budget?: RetryRate;
}

export interface DiscoveryState {
  /** The latest record for the current inputs, if any. */
  record: DiscoveryRecord | undefined;
  running: boolean;
}

/** What the pool is doing for a key, for messages (a refresh that timed out says why). */
export type DiscoveryActivity =
  | { phase: 'queued'; ahead: number }
  | { phase: 'running'; forMs: number }
  | { phase: 'idle' };

/** How a refresh ended: status was written from a fresh discovery (or there was nothing to discover), the key is gone, the manager stopped, or the caller gave up. */
export type RefreshEnd = 'reported' | 'gone' | 'stopped' | 'aborted';

/** The longest the pool waits for the reconcile queue to empty before it starts jobs anyway. */
const MAX_YIELD_MS = 1000;


export interface DiscoveryManagerOptions {
  clock: Clock;
  /** Discoveries running at once. */
  concurrency: number;
  /**
   * Rediscover a healthy server this often. A success is due again at the key's next slot at least half an
   * interval away: the instant where its fixed phase (rediscoveryPhase) of the interval falls. So a fleet
   * discovered at once (a sync, a restart) is rediscovered evenly over an interval from half an interval
   * later, not in a wave one interval later; after that each server keeps its slot, once per interval.
   * The first rediscovery after a restart or a change comes 0.5–1.5 intervals after it.
   */
  intervalMs: number;
  /**
   * The rediscoveries every server together may make, on average: when the fleet is larger than the rate
   * allows in one interval, the interval grows to the smallest multiple of intervalMs that does (each server
   * keeps its phase). Bounds the background work of a large fleet, as a controller's rate limiter does.
   * Retries, first discoveries, changed specs, refreshes and token renewals are not counted or delayed.
   * Absent: none (every server once per intervalMs however many there are).
   */
  rediscoveryRate?: RetryRate;
  /** First retry delay after a failure; doubles with each further failure. Default 1 s. */
  retryBaseMs?: number;
  /** No retry waits longer. Default 5 min. */
  retryMaxMs?: number;
  /**
   * No retry of an unreachable server (connection refused, unknown name, reset: no MCP conversation
   * happened, and the failure came back at once) waits longer: a fresh deploy or a restart is the common
   * case, and it should be found within seconds. Default 5 s; kept between retryBaseMs and retryMaxMs.
   */
  retryUnreachableMaxMs?: number;
  /**
   * The budget every retry of a failed discovery takes a slot of (not a first discovery, a changed spec
   * or a forced refresh): a retry waits for the later of its own backoff and its slot. Absent: none.
   */
  retryBudget?: RetryBudget;
  /** Randomness in [0, 1) that shortens each retry's own backoff a little (backoff.ts). Absent: none. */
  jitter?: () => number;
  /** Asks for a reconcile of key: when its job finished, or a refresh forced a discovery. The reconciler's queue.add. */
  enqueue: (key: string) => void;
  /**
   * Applying desired state goes first: while this answers a promise (reconciles are waiting), no job
   * starts, and the pool resumes when it resolves (or after MAX_YIELD_MS, so writes cannot starve it). So a sync of thousands of servers reaches the gateway
   * before their discoveries compete with it; each server still becomes Ready only from a real
   * discovery. Absent: a job starts as soon as a slot is free.
   */
  reconcilesWaiting?: () => Promise<void> | undefined;
  /**
   * Whether every discovery of key must be followed by a reconcile even when it found what the last one
   * did (the gateway saw the server fail since: the status must say the new discovery superseded it).
   * Absent: never.
   */
  mustReport?: (key: string) => boolean;
  logger: Logger;
}

interface Pending {
  inputsHash: string;
  generation: number;
  run: () => Promise<DiscoveryOutcome>;
  /** A refresh or rediscover() asked for it: its result is always reconciled. */
  forced?: boolean;
}

interface RefreshWaiter {
  /** The first job sequence number that satisfies this waiter. */
  minSeq: number;
  resolve: (end: RefreshEnd) => void;
}

export class DiscoveryManager {
  private readonly records = new Map<string, DiscoveryRecord>();
  /** Running jobs: key → start time. */
  private readonly running = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private readonly forced = new Set<string>();
  private readonly waiters = new Map<string, RefreshWaiter[]>();
  /** The job the latest reconcile of each key asked for (ensure): run again when its record is due. */
  private readonly jobs = new Map<string, Pending>();
  /** Keys whose next discovery the manager starts itself when their record is due, with that record. */
  private readonly rerunRecords = new Map<string, DiscoveryRecord>();
  private readonly reruns: DueKeys;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly retryUnreachableMaxMs: number;
  private nextSeq = 1;
  private stopped = false;
  /** The wait the pool yields to (reconcilesWaiting), until it resolves or times out; only it may end the yield. */
  private yielding: object | undefined;

  constructor(private readonly options: DiscoveryManagerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`DiscoveryManager: concurrency must be an integer >= 1, got ${options.concurrency}`);
    }
    this.reruns = new DueKeys(options.clock, (key) => this.rerunDue(key));
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = Math.max(options.retryMaxMs ?? 5 * 60_000, this.retryBaseMs);
    this.retryUnreachableMaxMs = Math.min(Math.max(options.retryUnreachableMaxMs ?? 5000, this.retryBaseMs), this.retryMaxMs);
  }

  state(key: string, inputsHash: string): DiscoveryState {
    const record = this.records.get(key);
    return {
      record: record && record.inputsHash === inputsHash ? record : undefined,
      running: this.running.has(key) || this.pending.has(key),
    };
  }

  /** Whether a new discovery should start for these inputs (and this generation) now. */
  isDue(key: string, inputsHash: string, generation = 0): boolean {
    const record = this.records.get(key);
    return (
      this.forced.has(key) ||
      !record ||
      record.inputsHash !== inputsHash ||
      record.generation < generation ||
      this.options.clock.now() >= record.dueAt
    );
  }

  /**
   * Starts (or queues) a discovery for key if one is due and none is running. A queued job that has not
   * started yet is replaced, so it runs with the latest inputs.
   */
  ensure(key: string, inputsHash: string, run: () => Promise<DiscoveryOutcome>, generation = 0): void {
    if (this.stopped) return;
    // The record's copy of an equal hash is kept, so a settled server holds the text once.
    const recorded = this.records.get(key)?.inputsHash;
    if (recorded === inputsHash) inputsHash = recorded;
    // Remembered even while a job runs: that job is then compared with it when it finishes.
    this.jobs.set(key, { inputsHash, run, generation });
    if (this.running.has(key)) return;
    const queued = this.pending.get(key);
    const unchanged = queued && queued.inputsHash === inputsHash && queued.generation >= generation;
    if (queued ? unchanged && !this.forced.has(key) : !this.isDue(key, inputsHash, generation)) return;
    const forced = this.forced.delete(key) || (queued?.forced ?? false);
    this.pending.set(key, { inputsHash, run, generation, ...(forced ? { forced } : {}) });
    this.pump();
  }

  /**
   * Forces a fresh discovery of key and asks for a reconcile. Resolves once a reconcile has written
   * status from a discovery that started after this call (see the contract at the top), or with
   * 'aborted' when `signal` fires first.
   */
  refresh(key: string, signal?: AbortSignal): Promise<RefreshEnd> {
    if (this.stopped) return Promise.resolve('stopped');
    if (signal?.aborted) return Promise.resolve('aborted');
    const promise = new Promise<RefreshEnd>((resolve) => {
      const waiter: RefreshWaiter = {
        minSeq: this.nextSeq,
        resolve: (end) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(end);
        },
      };
      const onAbort = () => {
        const list = this.waiters.get(key)?.filter((w) => w !== waiter) ?? [];
        if (list.length > 0) this.waiters.set(key, list);
        else this.waiters.delete(key);
        waiter.resolve('aborted');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
    });
    this.forced.add(key);
    this.options.enqueue(key);
    return promise;
  }

  /**
   * Makes the next reconcile of key start a discovery even when its record is not due (the gateway saw
   * the server fail), and asks for that reconcile. Unlike refresh, nobody waits for the result.
   */
  rediscover(key: string): void {
    if (this.stopped) return;
    this.forced.add(key);
    this.options.enqueue(key);
  }

  /** The longest a server failing for `reason` waits for its next discovery, unless the retry budget is spent. */
  retryCapMs(reason: string): number {
    return reason === ConditionReason.Unreachable ? this.retryUnreachableMaxMs : this.retryMaxMs;
  }

  /** Retries of failed discoveries waiting for their slot of the retry budget (past their own backoff). */
  retriesWaitingOnBudget(): number {
    return this.options.retryBudget?.waiting() ?? 0;
  }

  /** The reconciler wrote status for key from `record`: refreshes waiting for this (or an older) job end. */
  reported(key: string, record: DiscoveryRecord): void {
    record.reported = true;
    this.wake(key, 'reported', (w) => record.seq >= w.minSeq);
    // The next discovery is the manager's to start (see the schedule at the top).
    const job = this.jobs.get(key);
    if (job && sameInputs(job, record) && !this.stopped && this.records.get(key) === record && !this.running.has(key) && !this.pending.has(key) && this.rerunRecords.get(key) !== record) {
      this.rerunWhenDue(key, record);
    }
  }

  /**
   * The reconciler wrote status for key and will not discover it now (nothing to discover, or the reconcile
   * failed first): no queued job starts and no rerun comes; the kept job is dropped (a job running now still
   * finishes and is reconciled). The next reconcile that discovers asks again.
   */
  settle(key: string): void {
    this.forced.delete(key);
    this.pending.delete(key);
    this.jobs.delete(key);
    this.cancelRerun(key);
    this.wake(key, 'reported', () => true);
  }

  /** The key is gone: drops its record and queued job; refreshes waiting on it end with 'gone'. */
  forget(key: string): void {
    this.records.delete(key);
    this.pending.delete(key);
    this.forced.delete(key);
    this.jobs.delete(key);
    this.cancelRerun(key);
    this.wake(key, 'gone', () => true);
  }

  activity(key: string): DiscoveryActivity {
    const startedAt = this.running.get(key);
    if (startedAt !== undefined) return { phase: 'running', forMs: this.options.clock.now() - startedAt };
    if (this.pending.has(key)) {
      let ahead = this.running.size;
      for (const k of this.pending.keys()) {
        if (k === key) break;
        ahead++;
      }
      return { phase: 'queued', ahead };
    }
    return { phase: 'idle' };
  }

  /** Ends every refresh with 'stopped' and starts no new work; running jobs finish on their own budget. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.rerunRecords.clear();
    this.reruns.clear();
    for (const key of [...this.waiters.keys()]) this.wake(key, 'stopped', () => true);
  }

  private wake(key: string, end: RefreshEnd, matches: (w: RefreshWaiter) => boolean): void {
    const list = this.waiters.get(key);
    if (!list) return;
    const keep = list.filter((w) => !matches(w));
    if (keep.length > 0) this.waiters.set(key, keep);
    else this.waiters.delete(key);
    for (const w of list) if (matches(w)) w.resolve(end);
  }

  private pump(): void {
    if (this.yielding) return;
    const wait = this.pending.size > 0 && this.running.size < this.options.concurrency ? this.options.reconcilesWaiting?.() : undefined;
    if (!wait) return this.startJobs();
    // Writes that never let the reconcile queue empty must not starve discovery: the pool yields for
    // MAX_YIELD_MS at most, then fills its free slots anyway.
    const yielding = {};
    this.yielding = yielding;
    const clock = this.options.clock;
    // A wait that ended (by its timeout) and resolves later is not the current one: it ends nothing.
    const resume = () => {
      if (this.yielding !== yielding) return;
      this.yielding = undefined;
      clock.clearTimeout(timer);
      this.startJobs();
    };
    const timer = clock.setTimeout(resume, MAX_YIELD_MS);
    // A wait that fails ends the yield as one that resolves: discovery must not stall on it.
    wait.then(resume, resume);
  }

  private startJobs(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.pending.size > 0) {
      const [key, job] = this.pending.entries().next().value as [string, Pending];
      this.pending.delete(key);
      this.cancelRerun(key);
      this.running.set(key, this.options.clock.now());
      void this.runJob(key, job, this.nextSeq++);
    }
  }

  /**
   * When a server that failed for `reason` (the `failures`th time in a row) is tried again: its own
   * backoff (base doubling to the cap for the reason, shortened by jitter), or later when the retry budget
   * gives its slot later, and the bound status states.
   */
  private retry(reason: string, failures: number): { delayMs: number; nextAttempt: NextAttempt } {
    const cap = this.retryCapMs(reason);
    const { jitter, retryBudget } = this.options;
    const own = backoffDelay(failures - 1, { baseDelayMs: this.retryBaseMs, maxDelayMs: cap, ...(jitter ? { jitter } : {}) });
    const { delayMs } = retryBudget ? retryBudget.delay(own) : { delayMs: own };
    const nextAttempt: NextAttempt = delayMs > cap && retryBudget ? { withinMs: roundUp(delayMs), budget: retryBudget.rate } : { withinMs: cap };
    return { delayMs, nextAttempt };
  }

  private async runJob(key: string, job: Pending, seq: number): Promise<void> {
    const startedAt = this.options.clock.now();
    let outcome: DiscoveryOutcome;
    try {
      outcome = await job.run();
    } catch (err) {
      // Jobs report failures as results; an exception here is a bug, kept visible as a ProtocolError.
      this.options.logger.error({ key, err: err instanceof Error ? err.message : String(err) }, 'discovery job threw');
      outcome = {
        result: {
          ok: false,
          reason: ConditionReason.ProtocolError,
          message: 'Discovery failed unexpectedly; see the control plane log.',
          authStatus: { status: 'unknown', method: null, message: 'Discovery failed unexpectedly.' },
        },
      };
    }
    // A record holds the tool list (and schemas) every server that found the same holds: one copy in memory.
    if (outcome.result.ok) outcome = { ...outcome, result: shareDiscoveryResult(outcome.result) };
    const now = this.options.clock.now();
    const previous = this.records.get(key);
    const failures = outcome.result.ok ? 0 : (previous?.inputsHash === job.inputsHash ? previous.failures : 0) + 1;
    const retry = outcome.result.ok ? undefined : this.retry(outcome.result.reason, failures);
    let dueAt = retry ? now + retry.delayMs : nextSlot(key, now, this.rediscoveryIntervalMs());
    const expiresAt = outcome.bearer?.expiresAt;
    // A bearer token is renewed before it expires: by a minute, or half its lifetime when that is shorter.
    if (expiresAt !== undefined) dueAt = Math.min(dueAt, expiresAt - Math.min(60_000, Math.max(0, expiresAt - now) / 2));
    const nextAttempt = retry ? { nextAttempt: retry.nextAttempt } : {};
    const unchanged = !this.stopped && this.foundTheSame(key, job, previous, outcome, retry?.nextAttempt);
    // Unchanged: the previous outcome is kept (the status was written from it), so the new one is garbage at once.
    const record: DiscoveryRecord = { inputsHash: job.inputsHash, outcome: unchanged ? previous!.outcome : outcome, startedAt, finishedAt: now, failures, dueAt, seq, generation: job.generation, ...nextAttempt, ...(unchanged ? { reported: true } : {}) };
    if (!this.stopped) this.records.set(key, record);
    this.running.delete(key);
    this.pump();
    if (this.stopped) return;
    if (unchanged) this.rerunWhenDue(key, record);
    else this.options.enqueue(key);
  }

  /** See the contract at the top: whether this job's result needs no reconcile. */
  private foundTheSame(key: string, job: Pending, previous: DiscoveryRecord | undefined, outcome: DiscoveryOutcome, nextAttempt: NextAttempt | undefined): boolean {
    if (!previous?.reported || job.forced || this.forced.has(key) || this.waiters.has(key) || this.pending.has(key)) return false;
    if (previous.inputsHash !== job.inputsHash || previous.generation !== job.generation) return false;
    // A reconcile since asked for other inputs, a newer generation, or no discovery at all.
    const latest = this.jobs.get(key);
    if (!latest || !sameInputs(latest, job)) return false;
    if (this.options.mustReport?.(key)) return false;
    const before = previous.outcome;
    // An OpenAPI catalog is not compared here: such a discovery is always reconciled.
    if (before.openapi || outcome.openapi) return false;
    if (before.bearer?.token !== outcome.bearer?.token || before.bearer?.expiresAt !== outcome.bearer?.expiresAt) return false;
    return sameJson(previous.nextAttempt, nextAttempt) && sameJson(before.result, outcome.result);
  }

  /**
   * The interval each server is rediscovered in: intervalMs, or the multiple of it the rate needs for the
   * servers the manager keeps a job of (those it rediscovers; during a cold sync every reconciled server).
   */
  rediscoveryIntervalMs(): number {
    return rediscoveryInterval(this.options.intervalMs, this.jobs.size, this.options.rediscoveryRate);
  }

  /** Runs the kept job of key again at record.dueAt, unless a reconcile starts another, settles or forgets key first. */
  private rerunWhenDue(key: string, record: DiscoveryRecord): void {
    this.rerunRecords.set(key, record);
    this.reruns.set(key, record.dueAt);
  }

  private rerunDue(key: string): void {
    const record = this.rerunRecords.get(key);
    this.rerunRecords.delete(key);
    if (!record || this.stopped || this.records.get(key) !== record || this.running.has(key) || this.pending.has(key)) return;
    const job = this.jobs.get(key);
    if (!job || !sameInputs(job, record)) return;
    this.pending.set(key, { inputsHash: job.inputsHash, run: job.run, generation: job.generation });
    this.pump();
  }

  private cancelRerun(key: string): void {
    this.rerunRecords.delete(key);
    this.reruns.delete(key);
  }
}

/** Whether a job (or record) is for the same inputs and generation as another. */
function sameInputs(a: { inputsHash: string; generation: number }, b: { inputsHash: string; generation: number }): boolean {
  return a.inputsHash === b.inputsHash && a.generation === b.generation;
}

/** Deep equality of JSON-shaped values (what a discovery answers); key order does not matter. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Where in every interval key's rediscovery falls, as a fraction in [0, 1): fixed per key, uniform over keys. */
export function rediscoveryPhase(key: string): number {
  return createHash('sha256').update(key).digest().readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The smallest multiple of intervalMs in which `servers` rediscoveries fit at `rate` (count per perMs): the
 * interval itself while the fleet is small. A multiple, so a fleet that grows past a bound moves every
 * server's slot once, not at every new server.
 */
export function rediscoveryInterval(intervalMs: number, servers: number, rate: RetryRate | undefined): number {
  if (!rate || servers === 0) return intervalMs;
  const needed = (servers / rate.count) * rate.perMs;
  return intervalMs * Math.max(1, Math.ceil(needed / intervalMs));
}

/**
 * The first instant more than half an interval after now that is key's phase of the interval (counted from
 * time 0): between 0.5 and 1.5 intervals away, and exactly one interval after a rediscovery that ran at its
 * slot (and took less than half an interval).
 */
export function nextSlot(key: string, now: number, intervalMs: number): number {
  const offset = Math.floor(rediscoveryPhase(key) * intervalMs);
  const from = now + Math.floor(intervalMs / 2);
  const wait = (((offset - from) % intervalMs) + intervalMs) % intervalMs;
  return from + (wait === 0 ? intervalMs : wait);
}

/** Round figures a budgeted bound is rounded up to, so the stated bound changes seldom. */
const ROUND_BOUNDS_MS = [10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];

function roundUp(ms: number): number {
  return ROUND_BOUNDS_MS.find((b) => b >= ms) ?? Math.ceil(ms / 3_600_000) * 3_600_000;
}
