// "End a worker after an idle period", on the injected clock: the one countdown the parse pool, the WAL
// checkpointer, the policy evaluator and the OpenAPI document parser keep for their worker threads.
//
// idle() starts the countdown (from the start again if it runs); busy() stops it; onIdle runs once the
// countdown runs out with no busy() or idle() since, never after busy(). The owner ends its worker in onIdle
// and lets go of it there, before the worker has exited, so a request that comes while it exits starts a
// fresh worker instead of waiting for (or being lost with) the one that is ending.
import type { Clock, TimerHandle } from './clock.js';

export class IdleTimer {
  private handle: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {}

  /** Starts the countdown, of `ms` (default: the idle time) from now. */
  idle(ms: number = this.idleMs): void {
    this.busy();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.onIdle();
    }, ms);
  }

  /** Stops the countdown: the worker has work (or is being closed). */
  busy(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  /** Whether the countdown runs. */
  get counting(): boolean {
    return this.handle !== undefined;
  }
}
