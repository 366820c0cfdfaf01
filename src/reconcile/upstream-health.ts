// The control plane's side of the data plane's UpstreamHealthReporter: it keeps, per server, the latest
// failure the gateway saw and asks for a reconcile, which folds it into status (Ready=False, Unreachable,
// with the time) and discovers the server again at once; a later success (a session the gateway opened,
// or a discovery that finished after the failure) clears it. The data plane never writes the store.
//
// Debounced: a server's reports reach the reconciler at most once per `minIntervalMs` (the last one
// wins); a success when no failure is kept costs one map lookup, so the request path stays cheap.
import type { Clock, TimerHandle } from '../domain/clock.js';
import type { UpstreamHealthReporter, UpstreamObservation } from '../gateway/data-plane/upstream-health.js';
import type { UpstreamFailureSeen } from './server-status.js';

export interface UpstreamHealthOptions {
  clock: Clock;
  /** Discover key again promptly and reconcile it (DiscoveryManager.rediscover). */
  rediscover: (key: string) => void;
  /** Reconcile key (the work queue's add). */
  enqueue: (key: string) => void;
  /** Default 1 s. */
  minIntervalMs?: number;
}

interface KeyState {
  failure: UpstreamFailureSeen | undefined;
  /** When a report last reached the reconciler. */
  sentAt: number;
  /** A report that waits for the interval to pass; what it sends is decided when it fires. */
  timer: TimerHandle | undefined;
  /** The waiting report includes a failure (so it asks for a rediscovery). */
  failed: boolean;
}

export class UpstreamHealth implements UpstreamHealthReporter {
  private readonly keys = new Map<string, KeyState>();
  private readonly minIntervalMs: number;

  constructor(private readonly options: UpstreamHealthOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
  }

  report(fqn: string, observation: UpstreamObservation): void {
    const state = this.keys.get(fqn);
    if (observation.ok) {
      if (!state?.failure) return;
      state.failure = undefined;
      this.send(fqn, state, false);
      return;
    }
    const failure = { reason: observation.reason, message: observation.message, at: this.options.clock.now() };
    if (!state) {
      const fresh: KeyState = { failure, sentAt: -Infinity, timer: undefined, failed: false };
      this.keys.set(fqn, fresh);
      this.send(fqn, fresh, true);
      return;
    }
    state.failure = failure;
    this.send(fqn, state, true);
  }

  /** The failure the gateway saw last, unless a success came after it. */
  failure(key: string): UpstreamFailureSeen | undefined {
    return this.keys.get(key)?.failure;
  }

  /** A discovery that finished at `at` describes the server better than failures seen before it. */
  supersede(key: string, at: number): void {
    const state = this.keys.get(key);
    if (state?.failure && state.failure.at <= at) state.failure = undefined;
    if (state && !state.failure && !state.timer) this.keys.delete(key);
  }

  /** The server is gone. */
  forget(key: string): void {
    const state = this.keys.get(key);
    if (state?.timer) this.options.clock.clearTimeout(state.timer);
    this.keys.delete(key);
  }

  close(): void {
    for (const key of [...this.keys.keys()]) this.forget(key);
  }

  private send(key: string, state: KeyState, failed: boolean): void {
    state.failed ||= failed;
    if (state.timer) return;
    const wait = state.sentAt + this.minIntervalMs - this.options.clock.now();
    if (wait <= 0) return this.deliver(key, state);
    state.timer = this.options.clock.setTimeout(() => {
      state.timer = undefined;
      this.deliver(key, state);
    }, wait);
  }

  private deliver(key: string, state: KeyState): void {
    state.sentAt = this.options.clock.now();
    const rediscover = state.failed && state.failure !== undefined;
    state.failed = false;
    if (rediscover) this.options.rediscover(key);
    else this.options.enqueue(key);
  }
}
