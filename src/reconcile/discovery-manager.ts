// Runs discoveries off the reconcile workers, so a slow or dead server never holds a worker or delays
// other servers. The reconciler asks for the latest record of a key and, when one is due, hands over a
// job; the job runs in a bounded pool and the key is re-enqueued when it finishes. Records live in
// memory: after a restart every server is discovered once more.
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { DiscoveryResult } from '../discovery/index.js';

export interface DiscoveryOutcome {
  result: DiscoveryResult;
  /** The bearer token the job obtained (OAuth client credentials), for the gateway entry. */
  bearer?: { token: string; expiresAt?: number };
}

export interface DiscoveryRecord {
  /** The hash of everything the discovery depended on (URL, headers, TLS, timeouts...). */
  inputsHash: string;
  outcome: DiscoveryOutcome;
  finishedAt: number;
  /** Consecutive failures for these inputs; 0 after a success. */
  failures: number;
  /** When this record is due for a fresh discovery (the interval after a success, backoff after a failure). */
  dueAt: number;
}

export interface DiscoveryState {
  /** The latest record for the current inputs, if any. */
  record: DiscoveryRecord | undefined;
  running: boolean;
}

export interface DiscoveryManagerOptions {
  clock: Clock;
  /** Discoveries running at once. */
  concurrency: number;
  /** Rediscover a healthy server this often. */
  intervalMs: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called when a job for key finishes; the reconciler's queue.add. */
  onComplete: (key: string) => void;
  logger: Logger;
}

interface Pending {
  inputsHash: string;
  run: () => Promise<DiscoveryOutcome>;
}

export class DiscoveryManager {
  private readonly records = new Map<string, DiscoveryRecord>();
  private readonly running = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private readonly forced = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private stopped = false;

  constructor(private readonly options: DiscoveryManagerOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
  }

  state(key: string, inputsHash: string): DiscoveryState {
    const record = this.records.get(key);
    return {
      record: record && record.inputsHash === inputsHash ? record : undefined,
      running: this.running.has(key) || this.pending.has(key),
    };
  }

  /** Whether a new discovery should start for these inputs now. */
  isDue(key: string, inputsHash: string): boolean {
    const record = this.records.get(key);
    return this.forced.has(key) || !record || record.inputsHash !== inputsHash || this.options.clock.now() >= record.dueAt;
  }

  /** Starts (or queues) a discovery for key if one is due and none is running. */
  ensure(key: string, inputsHash: string, run: () => Promise<DiscoveryOutcome>): void {
    if (this.stopped || this.running.has(key) || !this.isDue(key, inputsHash)) return;
    this.forced.delete(key);
    this.pending.set(key, { inputsHash, run });
    this.pump();
  }

  /** Forces a discovery at the key's next reconcile; resolves when that discovery has finished. */
  refresh(key: string): Promise<void> {
    this.forced.add(key);
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }

  forget(key: string): void {
    this.records.delete(key);
    this.pending.delete(key);
    this.forced.delete(key);
  }

  /** Wakes every refresh waiter and starts no new work; running jobs finish on their own budget. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const list of this.waiters.values()) for (const w of list) w();
    this.waiters.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.pending.size > 0) {
      const [key, job] = this.pending.entries().next().value as [string, Pending];
      this.pending.delete(key);
      this.running.add(key);
      void this.runJob(key, job);
    }
  }

  private async runJob(key: string, job: Pending): Promise<void> {
    let outcome: DiscoveryOutcome;
    try {
      outcome = await job.run();
    } catch (err) {
      // Jobs report failures as results; an exception here is a bug, kept visible as a ProtocolError.
      this.options.logger.error({ key, err: err instanceof Error ? err.message : String(err) }, 'discovery job threw');
      outcome = {
        result: {
          ok: false,
          reason: 'ProtocolError',
          message: 'Discovery failed unexpectedly; see the control plane log.',
          authStatus: { status: 'unknown', method: null, message: 'Discovery failed unexpectedly.' },
        },
      };
    }
    const now = this.options.clock.now();
    const previous = this.records.get(key);
    const failures = outcome.result.ok ? 0 : (previous?.inputsHash === job.inputsHash ? previous.failures : 0) + 1;
    const retryIn = Math.min(this.retryBaseMs * 2 ** Math.max(0, failures - 1), this.retryMaxMs);
    let dueAt = now + (outcome.result.ok ? this.options.intervalMs : retryIn);
    const expiresAt = outcome.bearer?.expiresAt;
    // A bearer token is renewed before it expires: by a minute, or half its lifetime when that is shorter.
    if (expiresAt !== undefined) dueAt = Math.min(dueAt, expiresAt - Math.min(60_000, Math.max(0, expiresAt - now) / 2));
    if (!this.stopped) this.records.set(key, { inputsHash: job.inputsHash, outcome, finishedAt: now, failures, dueAt });
    this.running.delete(key);
    this.pump();
    if (this.stopped) return;
    this.options.onComplete(key);
    const waiters = this.waiters.get(key);
    if (waiters) {
      this.waiters.delete(key);
      for (const w of waiters) w();
    }
  }
}
