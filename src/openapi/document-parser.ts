// Runs parse-document.ts in a worker thread, one document at a time, so a large document (validating and
// dereferencing a few MiB takes seconds) never blocks the event loop that serves the API and the gateway.
// The worker reads nothing itself: it asks, and `read` (document-reader.ts, on this thread) answers. A
// parse past its budget, or past the worker's heap, ends the worker; the next parse starts another. The
// worker is unref'd and ends after IDLE_MS without work (an isolate of its own: a server that parses no
// document keeps no thread); the next parse starts it again. Budgets and the idle time run on the clock.
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';
import { IdleTimer } from '../domain/idle-timer.js';
import type { ParseOutcome, ParseRequest } from './parse-document.js';

/** What the main thread sends the worker. */
export type WorkerRequest =
  | { kind: 'parse'; id: number; request: ParseRequest; where: string }
  | { kind: 'read-answer'; readId: number; data?: Uint8Array };
/** What the worker sends back. */
export type WorkerAnswer = { kind: 'read'; id: number; readId: number; url: string } | { kind: 'done'; id: number; outcome: ParseOutcome };

export type ParserOutcome = ParseOutcome | { ok: false; reason: 'Timeout' | 'ParserFailed'; message: string };

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './document-worker.ts' : './document-worker.js', import.meta.url);
// Run from the TypeScript sources (the tests), the worker needs the loader the tests use.
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];
/** The worker's heap: a document is at most --upstream-max-message-bytes, its parse a few times that. */
const WORKER_HEAP_MB = 512;
/** How long the worker waits for the next parse before it ends. */
export const IDLE_MS = 60_000;

export interface DocumentParserOptions {
  /** Default IDLE_MS. */
  idleMs?: number;
  /** For the budgets and the idle time. */
  clock?: Clock;
}

interface Job {
  id: number;
  request: ParseRequest;
  where: string;
  read: (url: string) => Promise<Uint8Array>;
  resolve: (outcome: ParserOutcome) => void;
  timer: TimerHandle;
}

export class DocumentParser {
  private worker: Worker | undefined;
  private current: Job | undefined;
  private readonly queue: Job[] = [];
  private nextId = 0;
  private readonly clock: Clock;
  /** Counts down while no parse runs or waits; ends the worker when it runs out. */
  private readonly idle: IdleTimer;

  constructor(options: DocumentParserOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.idle = new IdleTimer(this.clock, options.idleMs ?? IDLE_MS, () => {
      if (!this.current && this.queue.length === 0) this.retire(undefined);
    });
  }

  /** Whether a worker runs now (started, not ended). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** Parses within `budgetMs` (waiting for the worker included). Never throws. */
  parse(request: ParseRequest, where: string, read: (url: string) => Promise<Uint8Array>, budgetMs: number): Promise<ParserOutcome> {
    return new Promise((resolve) => {
      const job: Job = {
        id: ++this.nextId,
        request,
        where,
        read,
        resolve,
        timer: this.clock.setTimeout(() => {
          const message = `The OpenAPI document ${where} could not be read and parsed within the ${budgetMs} ms budget; serve a smaller document, or raise timeouts.total_ms.`;
          if (this.current === job) this.retire({ ok: false, reason: 'Timeout', message });
          else {
            this.queue.splice(this.queue.indexOf(job), 1);
            resolve({ ok: false, reason: 'Timeout', message });
          }
        }, budgetMs),
      };
      this.queue.push(job);
      this.pump();
    });
  }

  /** Ends the worker; parses under way or waiting answer ParserFailed. */
  close(): void {
    for (const job of this.queue.splice(0)) this.finish(job, { ok: false, reason: 'ParserFailed', message: 'The control plane is shutting down.' });
    this.retire({ ok: false, reason: 'ParserFailed', message: 'The control plane is shutting down.' });
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    this.current = job;
    this.idle.busy();
    const worker = (this.worker ??= this.start());
    worker.ref();
    worker.postMessage({ kind: 'parse', id: job.id, request: job.request, where: job.where } satisfies WorkerRequest);
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { execArgv: WORKER_EXEC_ARGV, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.unref();
    worker.on('message', (answer: WorkerAnswer) => {
      const job = this.current;
      if (!job || answer.id !== job.id) return;
      if (answer.kind === 'read') {
        job.read(answer.url).then(
          (data) => worker.postMessage({ kind: 'read-answer', readId: answer.readId, data } satisfies WorkerRequest),
          () => worker.postMessage({ kind: 'read-answer', readId: answer.readId } satisfies WorkerRequest),
        );
        return;
      }
      this.current = undefined;
      this.finish(job, answer.outcome);
      worker.unref();
      this.idle.idle();
      this.pump();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const why = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `parsing it needed more than ${WORKER_HEAP_MB} MiB` : `the parser failed (${error.message.slice(0, 200)})`;
      this.retire({ ok: false, reason: 'ParserFailed', message: `The OpenAPI document ${this.current?.where ?? ''} could not be parsed: ${why}.` });
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.retire({ ok: false, reason: 'ParserFailed', message: 'The OpenAPI document parser stopped unexpectedly.' });
    });
    return worker;
  }

  /** Ends the worker; the parse under way (if any) answers `outcome`. */
  private retire(outcome: ParserOutcome | undefined): void {
    const worker = this.worker;
    this.worker = undefined;
    this.idle.busy();
    const job = this.current;
    this.current = undefined;
    if (job && outcome) this.finish(job, outcome);
    void worker?.terminate();
    this.pump();
  }

  private finish(job: Job, outcome: ParserOutcome): void {
    this.clock.clearTimeout(job.timer);
    job.resolve(outcome);
  }
}

let shared: DocumentParser | undefined;

/** The process's parser, started on first use. */
export function sharedDocumentParser(): DocumentParser {
  shared ??= new DocumentParser();
  return shared;
}
