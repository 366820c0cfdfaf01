// The one time budget of the upstream layer: for a whole discovery (HTTP or stdio), for opening a gateway
// session upstream, for a polite session DELETE. An AbortSignal that fires when it runs out, options that
// bound each SDK request by it, and a race that stops waiting on a promise the SDK does not let us cancel
// (SSEClientTransport.start waits for `endpoint`).
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';

export class BudgetExceededError extends Error {
  /** `requestCapMs`: the longest one SDK request may take (a server's timeouts.request_ms); the budget still bounds it. */
  constructor(
    readonly budgetMs: number,
    private readonly requestCapMs?: number,
  ) {
    super(`Time budget of ${budgetMs} ms exceeded`);
    this.name = 'BudgetExceededError';
  }
}

export class Budget {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private readonly timer: TimerHandle;

  /** `requestCapMs`: the longest one SDK request may take (a server's timeouts.request_ms); the budget still bounds it. */
  constructor(
    readonly budgetMs: number,
    private readonly requestCapMs?: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.deadline = clock.now() + budgetMs;
    this.timer = clock.setTimeout(() => this.controller.abort(new BudgetExceededError(budgetMs)), Math.max(0, budgetMs));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(1, this.deadline - this.clock.now());
  }

  /**
   * Options for an SDK request: cancelled with the budget. The SDK's own request timer (default 60 s) is
   * set just past the deadline, so the budget decides, and the timer is cleared when the request settles.
   */
  requestOptions(): { signal: AbortSignal; timeout: number } {
    const timeout = this.remainingMs() + 1000;
    return { signal: this.signal, timeout: this.requestCapMs !== undefined ? Math.min(timeout, this.requestCapMs) : timeout };
  }

  /** Settles like `promise`, or rejects when the budget runs out first. A late rejection of `promise` is swallowed. */
  run<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => undefined);
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Clears the timer; the signal stays as it is. Call once the work it bounds is over. */
  dispose(): void {
    this.clock.clearTimeout(this.timer);
  }
}
