// The role of this replica: leader or follower. Every replica serves the API, watch and the data plane;
// only the leader runs the leader work (the reconciler, discovery, the GitOps watchers, housekeeping).
// ClusterRole starts that work when the election makes this replica leader, stops it when it loses the
// lease, and on stop() (SIGTERM) stops the work first and then releases the lease, so another replica
// takes over at its next try instead of after the lease runs out.
//
// Contracts:
// - Transitions run one at a time, in the order the election reported them: work is never started while
//   a stop is running, nor stopped while it starts (the stop waits for the start to finish).
// - start() of the work items runs in the given order, each awaited; stop() in the reverse order. A start
//   that fails ends the sequence (what comes after it may depend on it): what it started (the failed item
//   included) stops again, in reverse, and the lease is released (the election stops), so another replica
//   takes over at its next try instead of this one holding the lease with no reconciler. The replica stays
//   not ready. ClusterRole.start() rejects with that error when the election made it leader at once (SQLite
//   mode), so a failed first sync fails the start; a start that fails later is reported as onLost.
//   A failing stop is reported and the other items still stop.
// - Ready (notReadyReason): a follower when it has started; the leader once every work item started (the
//   first directory sync is part of starting the GitOps watchers). isLeading is true only then: work asked
//   of the leader by other replicas is refused while its work is still starting.
// - After a lost lease (not after stop()), onLost is told once the work stopped. The work items of the
//   composition root start once per process, so it ends the process there (as controller-runtime does);
//   work that can start again may instead lead again at a later term.
// - The election is given as a factory over the callbacks, so SQLite mode (always leader, alwaysLeader),
//   a real PostgreSQL lease (LeaderElector) and a test's fake all fit.
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';

export interface LeaderWork {
  /** For logs: "reconciler", "discovery", "manifest sources", ... */
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ElectionCallbacks {
  onStartedLeading(epoch: number): void;
  onStoppedLeading(): void;
}

export interface Election {
  start(): void;
  /** Stops campaigning and releases a held lease (onStoppedLeading then). */
  stop(): Promise<void>;
}

export interface ClusterRoleOptions {
  election: (callbacks: ElectionCallbacks) => Election;
  work: readonly LeaderWork[];
  logger: Logger;
  clock?: Clock;
  /** Told at each change of role (metrics). */
  onTransition?: (leading: boolean) => void;
  /** The lease was lost (not released by stop()); the work has stopped. */
  onLost?: () => void;
}

type Phase = 'follower' | 'starting' | 'leading' | 'stopping';

export class ClusterRole {
  private readonly clock: Clock;
  private readonly election: Election;
  private phase: Phase = 'follower';
  private term: { epoch: number; since: Date } | undefined;
  private started = false;
  /** The error of the latest term's failed start. */
  private startFailure: { error: unknown } | undefined;
  private stopping = false;
  /** start() has returned: a later failed start is reported through onLost. */
  private joined = false;
  /** The transitions, one after another. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClusterRoleOptions) {
    this.clock = options.clock ?? systemClock;
    this.election = options.election({
      onStartedLeading: (epoch) => this.enqueue(() => this.lead(epoch)),
      onStoppedLeading: () => this.enqueue(() => this.follow(!this.stopping)),
    });
  }

  /** Leading now: elected, whether or not its work has finished starting. */
  get isLeader(): boolean {
    return this.phase === 'starting' || this.phase === 'leading';
  }

  /** Leading, with every work item started: the leader work can be asked of it. */
  get isLeading(): boolean {
    return this.phase === 'leading';
  }

  /** The epoch and start of the current term while leading. */
  get leadership(): { epoch: number; since: Date } | undefined {
    return this.isLeader ? this.term : undefined;
  }

  /**
   * Joins the election. Resolves when the transitions it reported at once have run (SQLite mode: the leader
   * work started), and rejects when starting that work failed.
   */
  async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.election.start();
    }
    await this.chain;
    this.joined = true;
    if (this.startFailure) throw this.startFailure.error;
  }

  /** undefined when ready; otherwise why not (for /readyz). */
  notReadyReason(): string | undefined {
    if (!this.started) return 'starting: the replica has not joined the cluster yet';
    if (this.startFailure) {
      const e = this.startFailure.error;
      return `the leader work failed to start: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (this.phase === 'starting') return 'starting: this replica was elected leader and is starting the reconciler and the first directory sync';
    if (this.stopping) return 'shutting down';
    return undefined;
  }

  /** Resolves once every transition reported so far has run. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** The SIGTERM path: the leader work stops, then the lease is released. */
  async stop(): Promise<void> {
    if (this.stopping) return this.chain;
    this.stopping = true;
    this.enqueue(() => this.follow(false));
    await this.chain;
    await this.election.stop();
    await this.chain;
  }

  /** Runs step after the transitions before it; the chain never rejects (a failed start is kept in startFailure). */
  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => {
      this.startFailure = { error };
    });
  }

  private async lead(epoch: number): Promise<void> {
    if (this.stopping || this.phase !== 'follower') return;
    this.phase = 'starting';
    this.startFailure = undefined;
    this.term = { epoch, since: new Date(this.clock.now()) };
    this.options.onTransition?.(true);
    this.options.logger.info({ epoch }, 'elected leader: starting the leader work');
    const begun: LeaderWork[] = [];
    for (const work of this.options.work) {
      begun.push(work);
      try {
        await work.start();
      } catch (err) {
        this.options.logger.error({ work: work.name, err: err instanceof Error ? err.message : String(err) }, 'leader work failed to start: stopping it and releasing the lease');
        await this.abandon(begun);
        throw err;
      }
    }
    if (this.phase === 'starting') this.phase = 'leading';
  }

  /** After a failed start: stops what began, in reverse, and releases the lease so another replica leads. */
  private async abandon(begun: LeaderWork[]): Promise<void> {
    this.phase = 'stopping';
    await this.stopAll(begun);
    this.phase = 'follower';
    this.term = undefined;
    this.options.onTransition?.(false);
    try {
      await this.election.stop();
    } catch (err) {
      this.options.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'could not release the leader lease');
    }
    // The work items start once per process: ended as for a lost lease (its supervisor starts it again).
    if (this.joined && !this.stopping) this.options.onLost?.();
  }

  private async stopAll(items: readonly LeaderWork[]): Promise<void> {
    for (const work of [...items].reverse()) {
      try {
        await work.stop();
      } catch (err) {
        this.options.logger.error({ work: work.name, err: err instanceof Error ? err.message : String(err) }, 'leader work failed to stop');
      }
    }
  }

  private async follow(lost: boolean): Promise<void> {
    if (this.phase !== 'starting' && this.phase !== 'leading') return;
    this.phase = 'stopping';
    this.options.logger.info({ lost }, lost ? 'lost the leader lease: stopping the leader work' : 'stepping down: stopping the leader work');
    await this.stopAll(this.options.work);
    this.phase = 'follower';
    this.term = undefined;
    this.options.onTransition?.(false);
    if (lost) this.options.onLost?.();
  }
}

/** SQLite mode: the one replica leads from its start (epoch 1) until it stops. */
export function alwaysLeader(callbacks: ElectionCallbacks): Election {
  let leading = false;
  return {
    start() {
      leading = true;
      callbacks.onStartedLeading(1);
    },
    async stop() {
      if (!leading) return;
      leading = false;
      callbacks.onStoppedLeading();
    },
  };
}
