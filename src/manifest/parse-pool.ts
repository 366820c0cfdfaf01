// Manifest files are parsed off the event loop: parsing is linear (parse.ts), but a MiB of YAML still
// takes seconds on a busy machine, and the API, the gateway and the watches must not wait for it. A
// small pool of worker threads parses one text per worker at a time, each within a time budget; a
// worker over budget (or out of memory) is terminated, the file gets an error saying so, and a fresh
// worker is started when next needed. Idle workers do not keep the process alive. A server owns its
// pool (main.ts): started warm for its first sync, and closed with the server.
// Memory: a worker is a V8 isolate of its own (≈20 MB resident once it has parsed a directory); its young
// generation is kept small (parsing makes short-lived garbage only). A worker ends after IDLE_MS without
// work (the shared pool's sooner, SHARED_IDLE_MS), and one that parsed RECYCLE_BYTES or more after
// RECYCLE_IDLE_MS, so the heap a cold sync of thousands of files grew is given back and an idle server keeps
// no parser; the next text starts a fresh worker (it waits for the worker to load, a fraction of a second).
// A worker given a text is never ended for being idle: the text is its job until it answers.
// Small texts are parsed here, on the caller's thread, without a worker: the edit of a file or two does not
// start an isolate. A text of at most INLINE_MAX_BYTES is parsed inline when nothing waits for a worker and
// the texts parsed inline in this turn of the event loop total at most INLINE_TURN_BYTES with it (parsing and
// validating are linear in the text, so the bytes bound the time: ≈0.3 ms per KiB on a busy 2-core machine,
// ≈5 ms for a turn's 16 KiB) as long as the text is shaped like a manifest: YAML with an anchor or an alias
// (`&`, `*`: an alias is expanded again wherever it is used, so a small text can stand for a large tree) and
// texts with more than INLINE_MAX_MARKS of `:`, `,` and `-` (a bound on their keys, items and documents) go
// to a worker, as do the rest of a batch, a cold sync's thousands of files, and every larger text.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';
import { IdleTimer } from '../domain/idle-timer.js';
import { readManifestDocuments, type ManifestDocument } from './manifest-documents.js';
import type { ParseAnswer, ParseRequest } from './parse-worker.js';

/** How long one file may take to parse. A valid MiB takes a few seconds on a busy machine. */
export const PARSE_BUDGET_MS = 30_000;
/** A worker's heap; composing a MiB of YAML needs far less. */
const WORKER_HEAP_MB = 512;
/** How long a worker waits for the next text before it ends: the edits of one session find it loaded. */
export const IDLE_MS = 60_000;
/** How long a worker of the shared pool waits for the next text before it ends. */
export const SHARED_IDLE_MS = 10_000;
/** A worker's young generation: a file's garbage dies young, and V8's default (up to 48 MiB) stays resident. */
const WORKER_YOUNG_MB = 8;
/** Texts (bytes in all) after which a worker ends sooner when idle (RECYCLE_IDLE_MS): its heap grew with them. */
export const RECYCLE_BYTES = 4 * 1024 * 1024;
/** How long such a worker waits for the next text: a sync's next file usually comes sooner. */
export const RECYCLE_IDLE_MS = 5_000;
/** The largest text parsed on the caller's thread (see the header). */
export const INLINE_MAX_BYTES = 16 * 1024;
/** Bytes of text parsed on the caller's thread in one turn of its event loop, at most. */
export const INLINE_TURN_BYTES = 16 * 1024;
/** `:`, `,` and `-` in a text parsed on the caller's thread, at most (a 1 KiB manifest has about 70). */
export const INLINE_MAX_MARKS = 1_000;

/**
 * Run from the TypeScript sources (the tests), the worker is a .ts file too and needs the loader the
 * tests use; built, it is the .js beside this module.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];

export interface ParsePoolOptions {
  /** Workers at most. Default: one, or two with more than two cores. */
  size?: number;
  /** Default PARSE_BUDGET_MS. */
  budgetMs?: number;
  /** How long an idle worker waits for the next text before it ends. Default IDLE_MS. */
  idleMs?: number;
  /** For the budget's and the idle timers. */
  clock?: Clock;
  /** Default RECYCLE_BYTES. */
  recycleBytes?: number;
  /** The largest text parsed on the caller's thread; 0: every text goes to a worker. Default INLINE_MAX_BYTES. */
  inlineMaxBytes?: number;
}

interface Job {
  request: ParseRequest;
  resolve(documents: ManifestDocument[]): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
  /** The budget of the job. */
  budget?: TimerHandle;
  /** Without a job, the time left before the worker ends (idleMs, or RECYCLE_IDLE_MS after recycleBytes). */
  idle: IdleTimer;
  /** Bytes of text this worker was given. */
  parsedBytes: number;
}

/** The documents of `text`, parsed here; what a worker answers, its failure included. */
function parsed(text: string, format: 'yaml' | 'json'): ManifestDocument[] {
  try {
    return readManifestDocuments(text, format);
  } catch (err) {
    return failed(`the file could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The documents of a text that could not be parsed at all: one error on the whole of it. */
function failed(message: string): ManifestDocument[] {
  return [{ index: 0, valid: false, value: undefined, name: undefined, errors: [{ path: '', line: 1, col: 1, message }], outline: [] }];
}

export class ParsePool {
  private readonly size: number;
  private readonly budgetMs: number;
  private readonly idleMs: number;
  private readonly clock: Clock;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly recycleBytes: number;
  private readonly inlineMaxBytes: number;
  /** Bytes parsed inline in this turn (reset at the next one). */
  private inlineTurnBytes = 0;
  private inlineTexts = 0;
  private nextId = 1;
  private started = 0;
  private closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.size = Math.max(1, options.size ?? (availableParallelism() > 2 ? 2 : 1));
    this.budgetMs = options.budgetMs ?? PARSE_BUDGET_MS;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.clock = options.clock ?? systemClock;
    this.recycleBytes = options.recycleBytes ?? RECYCLE_BYTES;
    this.inlineMaxBytes = options.inlineMaxBytes ?? INLINE_MAX_BYTES;
  }

  /** The documents of `text`, parsed and validated in a worker (a small one here, see the header); never rejects. */
  readManifests(text: string, format: 'yaml' | 'json'): Promise<ManifestDocument[]> {
    if (this.closed) return Promise.resolve(failed('the parser is shut down'));
    if (this.inline(text, format)) return Promise.resolve(parsed(text, format));
    return new Promise((resolve) => {
      this.queue.push({ request: { id: this.nextId++, text, format }, resolve });
      this.pump();
    });
  }

  /** Starts a worker now, if none runs, so the first text does not wait for one to load. */
  warm(): void {
    if (!this.closed && this.slots.size === 0) this.idle(this.start());
  }

  /** Texts being parsed or waiting for a worker. */
  pending(): number {
    let parsing = 0;
    for (const slot of this.slots) if (slot.job) parsing++;
    return parsing + this.queue.length;
  }

  /** Texts parsed on the caller's thread so far. */
  inlineParsed(): number {
    return this.inlineTexts;
  }

  /** Workers running, busy or idle. */
  workers(): number {
    return this.slots.size;
  }

  /** Workers started so far (a recycled, timed-out or failed worker is replaced by a new one). */
  startedWorkers(): number {
    return this.started;
  }

  /** Terminates the workers; texts still waiting get an error. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(failed('the parser is shut down'));
    await Promise.all([...this.slots].map((slot) => this.retire(slot, 'the parser is shut down')));
  }

  /** Whether `text` is parsed here: small, nothing waiting for a worker, and within this turn's bytes. */
  private inline(text: string, format: 'yaml' | 'json'): boolean {
    if (text.length > this.inlineMaxBytes || this.pending() > 0 || !shapedLikeAManifest(text, format)) return false;
    const bytes = Buffer.byteLength(text);
    if (bytes > this.inlineMaxBytes || this.inlineTurnBytes + bytes > INLINE_TURN_BYTES) return false;
    if (this.inlineTurnBytes === 0) setImmediate(() => (this.inlineTurnBytes = 0));
    this.inlineTurnBytes += bytes;
    this.inlineTexts++;
    return true;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => !s.job);
      if (!slot) {
        if (this.slots.size >= this.size) return;
        slot = this.start();
      }
      const job = this.queue.shift()!;
      slot.idle.busy();
      slot.job = job;
      slot.parsedBytes += job.request.text.length;
      slot.worker.ref();
      slot.budget = this.clock.setTimeout(() => {
        void this.retire(slot, `parsing took longer than ${this.budgetMs / 1000} s, the limit for one file: split it into several smaller files`);
      }, this.budgetMs);
      slot.worker.postMessage(job.request);
    }
  }

  private start(): Slot {
    const worker = new Worker(WORKER_URL, { execArgv: WORKER_EXEC_ARGV, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    const slot: Slot = { worker, parsedBytes: 0, idle: new IdleTimer(this.clock, this.idleMs, () => void this.retire(slot, 'idle')) };
    this.started++;
    worker.unref();
    worker.on('message', (answer: ParseAnswer) => {
      const job = slot.job;
      if (!job || answer.id !== job.request.id) return;
      this.settle(slot);
      this.idle(slot);
      job.resolve('error' in answer ? failed(`the file could not be parsed: ${answer.error}`) : answer.documents);
      this.pump();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'parsing it needed too much memory' : `the parser failed (${err.message})`;
      void this.retire(slot, `${why}: split it into several smaller files`);
    });
    worker.on('exit', () => void this.retire(slot, 'the parser stopped unexpectedly'));
    this.slots.add(slot);
    return slot;
  }

  private settle(slot: Slot): void {
    if (slot.budget !== undefined) this.clock.clearTimeout(slot.budget);
    slot.budget = undefined;
    slot.job = undefined;
    slot.worker.unref();
  }

  /** A worker without a job ends after the idle time (see the header); pump() stops the countdown with the next job. */
  private idle(slot: Slot): void {
    slot.idle.idle(slot.parsedBytes >= this.recycleBytes ? Math.min(RECYCLE_IDLE_MS, this.idleMs) : this.idleMs);
  }

  /** Ends a worker for good; its text, if any, gets `message` as its error. */
  private async retire(slot: Slot, message: string): Promise<void> {
    if (!this.slots.delete(slot)) return;
    const job = slot.job;
    this.settle(slot);
    slot.idle.busy();
    job?.resolve(failed(message));
    const exited = slot.worker.terminate();
    if (!this.closed) this.pump();
    await exited;
  }
}

let shared: ParsePool | undefined;

/** The pool of whatever has none of its own (a DirectorySync made without one), started on first use. */
export function sharedParsePool(): ParsePool {
  shared ??= new ParsePool({ idleMs: SHARED_IDLE_MS });
  return shared;
}

/** No YAML anchor or alias, and at most INLINE_MAX_MARKS of `:`, `,` and `-` (see the header). */
function shapedLikeAManifest(text: string, format: 'yaml' | 'json'): boolean {
  let marks = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a || c === 0x2c || c === 0x2d) {
      if (++marks > INLINE_MAX_MARKS) return false;
    } else if ((c === 0x26 || c === 0x2a) && format === 'yaml') return false;
  }
  return true;
}
