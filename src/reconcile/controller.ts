// The generic reconcile loop, modelled on controller-runtime: N workers take keys from a WorkQueue
// and run a level-triggered reconcile function on each; a periodic resync re-adds every known key, or
// (planResync) the keys whose stored states differ at once and a slice of the rest spread over its interval.
//
// What each outcome of a reconcile means (retry, requeue, terminal) is the contract in reconcile.ts.
//
// Batches: a worker that takes a key waits for the event loop's next turn (so keys added in the same
// turn, say by a pool of discoveries finishing, join it), then reconciles the ready keys one after the
// other for up to BATCH_MS inside `batch` (main.ts: one unit of work of each store), so a burst of
// 10,000 keys costs a few hundred commits instead of 10,000. Inside the batch a reconcile awaits only
// the store, inside `each` (main.ts: a nested unit, a savepoint: one that fails rolls back only its own
// writes and the batch goes on). One that must await something else (stopping a stdio process) answers `finish`, which ends
// the batch and runs after it committed, outside its unit; the worker waits for it before its next
// batch. The outcome of every key of a batch is decided after its commit (a batch that fails to commit
// retries each of its keys with backoff). Between batches the event loop gets a turn, so I/O waits at
// most BATCH_MS; beforeBatch may hold a batch back and shorten it (answers first: main.ts).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock, TimerHandle } from '../domain/clock.js';
import { TerminalError, type ReconcileResult, type Reconciler } from './reconcile.js';
import type { QueueItem, WorkQueue } from './workqueue.js';

/** How long one batch may reconcile before the event loop gets a turn. */
const BATCH_MS = 10;
/** A resync's full pass is added in this many parts over its interval (see planResync). */
const SPREAD_STEPS = 20;

export interface ReconcileOutcome {
  key: string;
  result: 'success' | 'requeue' | 'error' | 'terminal';
  durationMs: number;
  waitedMs: number;
  /** For 'error' and 'terminal'. */
  error?: Error;
  /** For 'requeue' (the requested delay) and 'error' (the backoff delay). */
  retryInMs?: number;
}

/** pino-compatible subset. */
export interface ControllerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ControllerOptions {
  /** Names the controller in logs. */
  name: string;
  reconcile: Reconciler;
  queue: WorkQueue;
  clock: Clock;
  /** Concurrent reconciles (of different keys). At least 1. */
  workers: number;
  /** Every this many ms, listKeys() is re-added to the queue. 0 turns resync off. */
  resyncIntervalMs: number;
  /** Every key that should exist, for enqueueAll() (and resync, without planResync). */
  listKeys: () => string[] | Promise<string[]>;
  /**
   * The keys whose stored states show they are not converged (resync-plan.ts), which enqueueAll() adds
   * before the rest, so after a restart or a takeover they do not wait behind every converged key. A
   * rejection is logged and enqueueAll() adds every key in listKeys() order.
   */
  listDiffering?: () => Promise<readonly string[]>;
  /**
   * What a periodic resync reconciles (see resync-plan.ts): `now` at once, `spread` evenly over the
   * interval. Without it every resync adds every key of listKeys() at once.
   */
  planResync?: () => Promise<{ now: readonly string[]; spread: readonly string[] }>;
  /** Called after every reconcile (metrics, tests). Its errors are logged and swallowed. */
  onOutcome?: (outcome: ReconcileOutcome) => void;
  /**
   * Runs one batch of reconciles, e.g. inside one unit of work; a rejection means the batch did not
   * commit, and its keys are retried with backoff. Default: runs it as it is.
   */
  batch?: (run: () => Promise<void>) => Promise<void>;
  /**
   * Runs one reconcile inside the batch, e.g. in a nested unit of work (a savepoint), so a reconcile that
   * throws rolls back only its own writes and the batch goes on. Default: runs it as it is.
   */
  each?: (run: () => Promise<void>) => Promise<void>;
  /** How long one batch may reconcile before the event loop gets a turn (default BATCH_MS). */
  batchMs?: number;
  /**
   * Awaited before each batch: resolves once the batch may start, with its time budget in ms (undefined:
   * batchMs). main.ts: answers first (http/answers-first.ts). Default: at once, with batchMs.
   */
  beforeBatch?: () => Promise<number | undefined>;
  logger?: ControllerLogger;
}

/** A reconcile of a batch that has run, its outcome to be reported once the batch committed. */
interface Ran {
  key: string;
  waitedMs: number;
  /** How long the reconcile (and its finish) ran. */
  durationMs: number;
  ended: { result: ReconcileResult | void } | { thrown: unknown };
}

const silentLogger: ControllerLogger = { info: () => {}, warn: () => {}, error: () => {} };

export class Controller {
  private readonly name: string;
  private readonly reconcileFn: Reconciler;
  private readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly workers: number;
  private readonly resyncIntervalMs: number;
  private readonly listKeys: () => string[] | Promise<string[]>;
  private readonly listDiffering: (() => Promise<readonly string[]>) | undefined;
  private readonly planResync: (() => Promise<{ now: readonly string[]; spread: readonly string[] }>) | undefined;
  private readonly onOutcome: ((outcome: ReconcileOutcome) => void) | undefined;
  private readonly batch: (run: () => Promise<void>) => Promise<void>;
  private readonly each: (run: () => Promise<void>) => Promise<void>;
  private readonly batchMs: number;
  private readonly beforeBatch: (() => Promise<number | undefined>) | undefined;
  private readonly logger: ControllerLogger;

  private state: 'new' | 'running' | 'stopped' = 'new';
  private workerLoops: Promise<void>[] = [];
  private resyncTimer: TimerHandle | undefined;
  private resyncInFlight = false;
  /** The keys of the last resync's spread not added yet, and the timer that adds the next part. */
  private spreading: { keys: readonly string[]; next: number; timer: TimerHandle | undefined } | undefined;

  constructor(options: ControllerOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError(`Controller ${options.name}: workers must be an integer >= 1, got ${options.workers}`);
    }
    if (!(options.resyncIntervalMs >= 0)) {
      throw new RangeError(
        `Controller ${options.name}: resyncIntervalMs must be >= 0 (0 = off), got ${options.resyncIntervalMs}`,
      );
    }
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.queue = options.queue;
    this.clock = options.clock;
    this.workers = options.workers;
    this.resyncIntervalMs = options.resyncIntervalMs;
    this.listKeys = options.listKeys;
    this.listDiffering = options.listDiffering;
    this.planResync = options.planResync;
    this.onOutcome = options.onOutcome;
    this.batch = options.batch ?? ((run) => run());
    this.each = options.each ?? ((run) => run());
    this.batchMs = options.batchMs ?? BATCH_MS;
    this.beforeBatch = options.beforeBatch;
    this.logger = options.logger ?? silentLogger;
  }

  /** Start the workers and the periodic resync. Does not enqueue anything itself: see enqueueAll(). */
  start(): void {
    if (this.state !== 'new') throw new Error(`Controller ${this.name}: start() called twice or after stop()`);
    this.state = 'running';
    for (let i = 0; i < this.workers; i++) this.workerLoops.push(this.runWorker());
    this.scheduleResync();
    this.logger.info(
      { controller: this.name, workers: this.workers, resyncIntervalMs: this.resyncIntervalMs },
      'controller started',
    );
  }

  /** Add every key listKeys() returns, those of listDiffering() first. Rejects if listKeys() fails. */
  async enqueueAll(): Promise<void> {
    if (this.listDiffering) {
      try {
        for (const key of await this.listDiffering()) this.queue.add(key);
      } catch (err) {
        this.safely(() =>
          this.logger.warn(
            { controller: this.name, err: err instanceof Error ? err.message : String(err) },
            'could not read which keys differ; every key is enqueued in name order',
          ),
        );
      }
    }
    const keys = await this.listKeys();
    for (const key of keys) this.queue.add(key);
  }

  /** Stop resync, shut the queue down, and resolve once every in-flight reconcile has finished. */
  async stop(): Promise<void> {
    if (this.state === 'running' || this.state === 'new') {
      this.state = 'stopped';
      if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
      this.resyncTimer = undefined;
      if (this.spreading?.timer !== undefined) this.clock.clearTimeout(this.spreading.timer);
      this.spreading = undefined;
      this.queue.shutdown();
    }
    await Promise.all(this.workerLoops);
    this.logger.info({ controller: this.name }, 'controller stopped');
  }

  /**
   * Resolves when no key is ready and none is being reconciled. Keys waiting out a delay (backoff or
   * requeueAfterMs) do not hold it up: otherwise a permanently failing key would keep it from ever
   * resolving. It is a snapshot; a later add makes the controller busy again.
   */
  waitForIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const first = await this.queue.getWithWait();
      if (first === undefined) return;
      await nextTurn();
      const budgetMs = this.beforeBatch ? await this.beforeBatch() : undefined;
      await this.runBatch(first, budgetMs ?? this.batchMs);
    }
  }

  /**
   * Reconciles `first` and then ready keys for up to batchMs in one batch; a reconcile that answers
   * `finish` ends the batch. After the batch: the finish, then every key's outcome. Never rejects.
   */
  private async runBatch(first: QueueItem, budgetMs: number): Promise<void> {
    const ran: Ran[] = [];
    try {
      await this.batch(async () => {
        const startedAt = performance.now();
        let item: QueueItem | undefined = first;
        while (item) {
          const done = await this.process(item.key, item.waitedMs);
          ran.push(done);
          item = !('result' in done.ended && done.ended.result?.finish) && performance.now() - startedAt < budgetMs ? this.queue.tryGet() : undefined;
        }
      });
    } catch (err) {
      // The batch did not commit: what its reconciles wrote is gone, so each of them runs again.
      this.safely(() =>
        this.logger.error(
          { controller: this.name, keys: ran.length, err: err instanceof Error ? err.message : String(err) },
          'a batch of reconciles failed to commit; retrying its keys with backoff',
        ),
      );
      // A reconcile that was under way when the batch failed is one of them.
      const keys = new Set(ran.map((r) => r.key));
      if (!keys.has(first.key)) ran.push({ key: first.key, waitedMs: first.waitedMs, durationMs: 0, ended: { thrown: err } });
      for (const r of ran) this.finish(r.key, r.waitedMs, r.durationMs, { thrown: err });
      return;
    }
    for (const r of ran) {
      const committed = 'result' in r.ended ? r.ended.result?.committed : undefined;
      if (committed) this.safely(committed);
      const finish = 'result' in r.ended ? r.ended.result?.finish : undefined;
      if (finish) {
        const startedAt = this.clock.now();
        try {
          r.ended = { result: await finish() };
        } catch (thrown) {
          r.ended = { thrown };
        }
        r.durationMs += this.clock.now() - startedAt;
      }
      if ('result' in r.ended && r.ended.result && 'failed' in r.ended.result) r.ended = { thrown: r.ended.result.failed };
      this.finish(r.key, r.waitedMs, r.durationMs, r.ended);
    }
  }

  /** Runs one reconcile and answers how it ended. Never rejects. */
  private async process(key: string, waitedMs: number): Promise<Ran> {
    const startedAt = this.clock.now();
    let ended: Ran['ended'];
    try {
      // In `each` (a savepoint of the batch's unit): a reconcile that throws undoes only its own writes,
      // and on PostgreSQL its failed write does not abort the rest of the batch (the savepoint is sent
      // with its first write: src/store/postgres/units.ts).
      let result: ReconcileResult | void = undefined;
      await this.each(async () => {
        result = await this.reconcileFn(key);
      });
      ended = { result };
    } catch (thrown) {
      ended = { thrown };
    }
    return { key, waitedMs, durationMs: this.clock.now() - startedAt, ended };
  }

  private finish(key: string, waitedMs: number, durationMs: number, ended: Ran['ended']): void {
    let outcome: ReconcileOutcome;
    if ('result' in ended) {
      const requeueAfterMs = ended.result?.requeueAfterMs;
      this.queue.forget(key);
      if (typeof requeueAfterMs === 'number' && Number.isFinite(requeueAfterMs)) {
        const retryInMs = Math.max(0, requeueAfterMs);
        this.queue.addAfter(key, retryInMs);
        outcome = { key, result: 'requeue', durationMs, waitedMs, retryInMs };
      } else {
        outcome = { key, result: 'success', durationMs, waitedMs };
      }
    } else {
      const { thrown } = ended;
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (error instanceof TerminalError) {
        this.queue.forget(key);
        outcome = { key, result: 'terminal', durationMs, waitedMs, error };
        this.safely(() =>
          this.logger.warn(
            { controller: this.name, key, reason: error.reason, err: error.message },
            'reconcile failed terminally; not retrying until the key is added again',
          ),
        );
      } else {
        const retryInMs = this.queue.addRateLimited(key);
        outcome = { key, result: 'error', durationMs, waitedMs, error, retryInMs };
        this.safely(() =>
          this.logger.error(
            { controller: this.name, key, err: error.message, failures: this.queue.failures(key), retryInMs },
            'reconcile failed; retrying with backoff',
          ),
        );
      }
    }
    try {
      this.onOutcome?.(outcome);
    } catch (hookError) {
      this.safely(() =>
        this.logger.error({ controller: this.name, key, err: String(hookError) }, 'onOutcome hook threw'),
      );
    } finally {
      this.queue.done(key);
    }
  }

  private scheduleResync(): void {
    if (this.resyncIntervalMs <= 0 || this.state !== 'running') return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      // Reschedule first, so the period does not drift by the duration of listKeys().
      this.scheduleResync();
      void this.resync();
    }, this.resyncIntervalMs);
  }

  /**
   * Level-triggered repair: re-add every key through the queue, or what planResync answers. Skipped if the
   * previous one is still reading.
   */
  private async resync(): Promise<void> {
    if (this.resyncInFlight) return;
    this.resyncInFlight = true;
    try {
      if (!this.planResync) {
        await this.enqueueAll();
        return;
      }
      const plan = await this.planResync();
      if (this.state !== 'running') return;
      for (const key of plan.now) this.queue.add(key);
      this.spread(plan.spread);
    } catch (err) {
      this.safely(() =>
        this.logger.warn(
          { controller: this.name, err: err instanceof Error ? err.message : String(err) },
          'resync: listKeys failed; will try again at the next interval',
        ),
      );
    } finally {
      this.resyncInFlight = false;
    }
  }

  /**
   * Adds `keys` in SPREAD_STEPS equal parts, the first now and the last before the interval ends. What a
   * previous spread had not added yet is added at once.
   */
  private spread(keys: readonly string[]): void {
    const previous = this.spreading;
    if (previous) {
      if (previous.timer !== undefined) this.clock.clearTimeout(previous.timer);
      for (let i = previous.next; i < previous.keys.length; i++) this.queue.add(previous.keys[i]!);
      this.spreading = undefined;
    }
    if (keys.length === 0) return;
    const steps = Math.min(SPREAD_STEPS, keys.length);
    const per = Math.ceil(keys.length / steps);
    const spreading: { keys: readonly string[]; next: number; timer: TimerHandle | undefined } = { keys, next: 0, timer: undefined };
    this.spreading = spreading;
    const step = () => {
      spreading.timer = undefined;
      if (this.spreading !== spreading || this.state !== 'running') return;
      const end = Math.min(keys.length, spreading.next + per);
      for (; spreading.next < end; spreading.next++) this.queue.add(keys[spreading.next]!);
      if (spreading.next < keys.length) spreading.timer = this.clock.setTimeout(step, this.resyncIntervalMs / steps);
      else this.spreading = undefined;
    };
    step();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // A broken logger must not take the worker down with it.
    }
  }
}
