// Admission policies' expressions are evaluated off the event loop, each request under a deadline: CEL
// has no loops, but comprehensions nest (10 elements, 8 levels: 10^8 steps) and matches() runs a
// backtracking RegExp, and cel-js has no cost limit. One worker takes one request at a time; a request
// past its deadline gets an error for each expression and the worker is terminated (a fresh one starts
// with the next request). A deadline starts when the worker is loaded (its start is not the rule's time;
// a worker not loaded within STARTUP_BUDGET_MS fails what waits). Inputs are bounded too: a context larger
// than MAX_CONTEXT_BYTES is not sent. The worker starts with the first request and ends after IDLE_MS
// without one (an isolate of its own: a server whose policies are rarely evaluated keeps no thread); the
// next request starts it again. It is ended only with no request running or waiting.
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';
import { IdleTimer } from '../domain/idle-timer.js';
import type { EvaluationAnswer, EvaluationRequest, ExpressionOutcome } from './evaluate-rules.js';

/** How long one request (every rule of every matching policy, for one write) may take by default. */
export const DEFAULT_EVALUATION_BUDGET_MS = 1000;
/** The largest context (JSON of object, oldObject and request) evaluated: twice the largest body. */
export const MAX_CONTEXT_BYTES = 2 * 1024 * 1024;
const WORKER_HEAP_MB = 128;
/** How long the worker waits for the next request before it ends. */
export const IDLE_MS = 60_000;
/** How long a worker may take to load (from TypeScript sources on a busy machine: seconds). */
const STARTUP_BUDGET_MS = 30_000;

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './evaluator-worker.ts' : './evaluator-worker.js', import.meta.url);
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];

export interface PolicyEvaluatorOptions {
  /** Default DEFAULT_EVALUATION_BUDGET_MS. */
  budgetMs?: number;
  /** Default IDLE_MS. */
  idleMs?: number;
  clock?: Clock;
}

interface Job {
  request: EvaluationRequest;
  resolve(outcomes: ExpressionOutcome[]): void;
}

export class PolicyEvaluator {
  private readonly budgetMs: number;
  private readonly clock: Clock;
  /** Counts down while no request runs or waits; ends the worker when it runs out. */
  private readonly idle: IdleTimer;
  private worker: Worker | undefined;
  /** The worker has loaded and takes requests; until then `starting` bounds its start. */
  private ready = false;
  private starting: TimerHandle | undefined;
  private current: { job: Job; timer: TimerHandle } | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Requests that ran past their deadline (the worker was ended for each). */
  timeouts = 0;

  constructor(options: PolicyEvaluatorOptions = {}) {
    this.budgetMs = options.budgetMs ?? DEFAULT_EVALUATION_BUDGET_MS;
    this.clock = options.clock ?? systemClock;
    this.idle = new IdleTimer(this.clock, options.idleMs ?? IDLE_MS, () => {
      if (this.worker && !this.current && this.queue.length === 0) void this.retire(this.worker, 'idle');
    });
  }

  /** Whether a worker runs now (started, not ended). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** The outcome of each expression against the context, in order; never rejects. */
  evaluate(expressions: string[], context: { object: unknown; oldObject: unknown; request: unknown }): Promise<ExpressionOutcome[]> {
    if (expressions.length === 0) return Promise.resolve([]);
    const text = JSON.stringify(context);
    if (this.closed) return Promise.resolve(failAll(expressions, 'the policy evaluator is shut down'));
    if (Buffer.byteLength(text) > MAX_CONTEXT_BYTES) {
      return Promise.resolve(failAll(expressions, `the manifest is too large to evaluate (over ${MAX_CONTEXT_BYTES / 1024 / 1024} MiB)`));
    }
    return new Promise((resolve) => {
      this.queue.push({ request: { id: this.nextId++, expressions, context: text }, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(failAll(job.request.expressions, 'the policy evaluator is shut down'));
    if (this.worker) await this.retire(this.worker, 'the policy evaluator is shut down');
  }

  private pump(): void {
    if (this.current || this.closed) return;
    if (this.queue.length === 0) {
      // Idle: the worker ends unless a request comes first (this runs again with it).
      if (this.worker && this.ready && !this.idle.counting) this.idle.idle();
      return;
    }
    this.idle.busy();
    const worker = (this.worker ??= this.start());
    worker.ref();
    if (!this.ready) return;
    const job = this.queue.shift()!;
    const timer = this.clock.setTimeout(() => {
      this.timeouts++;
      void this.retire(worker, `evaluation took longer than ${this.budgetMs} ms, the limit; simplify the expression`, true);
    }, this.budgetMs);
    this.current = { job, timer };
    worker.postMessage(job.request);
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { execArgv: WORKER_EXEC_ARGV, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    this.ready = false;
    this.starting = this.clock.setTimeout(() => {
      for (const job of this.queue.splice(0)) job.resolve(failAll(job.request.expressions, 'the policy evaluator did not start'));
      void this.retire(worker, 'the policy evaluator did not start');
    }, STARTUP_BUDGET_MS);
    worker.on('message', (answer: EvaluationAnswer) => {
      if ('ready' in answer) {
        if (this.worker !== worker) return;
        if (this.starting !== undefined) this.clock.clearTimeout(this.starting);
        this.starting = undefined;
        this.ready = true;
        if (this.queue.length === 0) worker.unref();
        this.pump();
        return;
      }
      const current = this.current;
      if (!current || answer.id !== current.job.request.id) return;
      this.clock.clearTimeout(current.timer);
      this.current = undefined;
      worker.unref();
      current.job.resolve('error' in answer ? failAll(current.job.request.expressions, answer.error) : answer.outcomes);
      this.pump();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      void this.retire(worker, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'evaluation needed too much memory' : `evaluation failed (${err.message})`);
    });
    worker.on('exit', () => void this.retire(worker, 'the policy evaluator stopped unexpectedly'));
    return worker;
  }

  /** Ends the worker (when it is still the current one); the request it ran, if any, gets `message` for each expression. */
  private async retire(worker: Worker, message: string, timedOut = false): Promise<void> {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = false;
    this.idle.busy();
    if (this.starting !== undefined) this.clock.clearTimeout(this.starting);
    this.starting = undefined;
    const current = this.current;
    this.current = undefined;
    if (current) {
      this.clock.clearTimeout(current.timer);
      current.job.resolve(failAll(current.job.request.expressions, message, timedOut));
    }
    const exited = worker.terminate();
    this.pump();
    await exited;
  }
}

function failAll(expressions: string[], error: string, timedOut = false): ExpressionOutcome[] {
  return expressions.map(() => (timedOut ? { passed: false, error, timedOut: true } : { passed: false, error }));
}
