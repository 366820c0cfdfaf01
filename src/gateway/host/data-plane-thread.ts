// The control plane's side of the data-plane thread: starts the worker (host-worker.ts), which owns the
// public listener, and keeps the control plane's part of the conversation: gateway-store changes pushed
// as they commit (batched per event-loop turn), the data plane's upstream-health reports handed to the
// status, session counts, /metrics (the worker's registry, merged by the control plane), endSessionsOf
// and a graceful close. A worker that ends on its own (a crash, out of memory) is reported to onLost: its
// listener died with it, so the process must not go on as if it served (serve exits 1 there, so its
// supervisor restarts it).
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../domain/logger.js';
import type { UpstreamHealthReporter } from '../data-plane/upstream-health.js';
import type { DataPlaneHostOptions, FromHost, ToHost } from './host-options.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './host-worker.ts' : './host-worker.js', import.meta.url);
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];
/** A worker that does not end within this long after close is terminated. */
const CLOSE_GRACE_MS = 15_000;
/**
 * The thread's young generation (V8's new space, where its short-lived objects are made): a proxy's
 * garbage is per request and small, and at V8's default for a worker (48 MiB) most of that was resident
 * memory the thread kept after one busy moment; 8 MiB costs more, shorter scavenges under load instead.
 */
export const DATA_PLANE_YOUNG_GENERATION_MB = 8;

/** What the control plane asks of its data plane, inline or on its thread. */
export interface DataPlaneControl {
  /** Open sessions, of one server (by name) or of all (on the thread: as last reported by it). */
  sessionCount(name?: string): number;
  /** Ends one caller's sessions on one server (they disconnected their account). */
  endSessionsOf(fqn: string, subject: string, why: string): void;
  close(): Promise<void>;
}

export interface DataPlaneThreadDeps {
  upstreamHealth: UpstreamHealthReporter;
  logger: Logger;
  /** The worker ended without being asked to (its listener is gone). */
  onLost(error: Error): void;
}

export class DataPlaneThread implements DataPlaneControl {
  private readonly sessions = new Map<string, number>();
  private readonly metricsAsked = new Map<number, (metrics: unknown[]) => void>();
  private nextId = 0;
  private pending: Set<string> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly worker: Worker,
    readonly port: number,
    private readonly deps: DataPlaneThreadDeps,
  ) {}

  /** Started and listening; a host that could not start (say, the port is taken) rejects with its reason. */
  static start(options: DataPlaneHostOptions, deps: DataPlaneThreadDeps): Promise<DataPlaneThread> {
    const worker = new Worker(WORKER_URL, {
      workerData: options,
      execArgv: WORKER_EXEC_ARGV,
      resourceLimits: { maxYoungGenerationSizeMb: DATA_PLANE_YOUNG_GENERATION_MB },
    });
    return new Promise((resolveStart, rejectStart) => {
      let thread: DataPlaneThread | undefined;
      let failure: Error | undefined;
      worker.on('message', (message: FromHost) => {
        if (message.type === 'listening') {
          thread = new DataPlaneThread(worker, message.port, deps);
          resolveStart(thread);
        } else if (message.type === 'startFailed') failure = new Error(message.message);
        else thread?.received(message);
        if (!thread && message.type === 'log') logTo(deps.logger, message);
      });
      worker.on('error', (err) => {
        failure ??= err;
      });
      worker.on('exit', (code) => {
        if (!thread) return rejectStart(failure ?? new Error(`the data-plane thread exited (code ${code}) before it listened`));
        thread.exited(failure ?? new Error(`the data-plane thread exited (code ${code})`));
      });
    });
  }

  sessionCount(name?: string): number {
    if (name !== undefined) return this.sessions.get(name) ?? 0;
    let all = 0;
    for (const n of this.sessions.values()) all += n;
    return all;
  }

  endSessionsOf(fqn: string, subject: string, why: string): void {
    this.send({ type: 'endSessionsOf', fqn, subject, why });
  }

  setPublicUrl(url: string): void {
    this.send({ type: 'publicUrl', url });
  }

  /** A gateway entry was committed through the control plane's store object; sent with the others of this turn. */
  changed(fqn: string): void {
    if (this.pending) return void this.pending.add(fqn);
    this.pending = new Set([fqn]);
    setImmediate(() => {
      const fqns = [...this.pending!];
      this.pending = undefined;
      this.send({ type: 'changed', fqns });
    });
  }

  /** The worker's registry as prom-client's JSON (AggregatorRegistry merges it); [] once it is gone. */
  metricsJson(): Promise<unknown[]> {
    if (this.closed) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.metricsAsked.set(id, resolve);
      this.send({ type: 'metrics', id });
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      const grace = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
      this.worker.once('exit', () => {
        clearTimeout(grace);
        resolve();
      });
      this.send({ type: 'close' });
    });
    return this.closing;
  }

  private send(message: ToHost): void {
    if (!this.closed) this.worker.postMessage(message);
  }

  private received(message: FromHost): void {
    switch (message.type) {
      case 'health':
        return this.deps.upstreamHealth.report(message.fqn, message.observation);
      case 'session': {
        const n = (this.sessions.get(message.name) ?? 0) + message.delta;
        if (n > 0) this.sessions.set(message.name, n);
        else this.sessions.delete(message.name);
        return;
      }
      case 'metrics': {
        const answer = this.metricsAsked.get(message.id);
        this.metricsAsked.delete(message.id);
        return answer?.(message.metrics);
      }
      case 'log':
        return logTo(this.deps.logger, message);
      case 'closed':
        // Everything it held is closed: a handle left over (a timer, a pool) must not keep it.
        return void this.worker.terminate();
      default:
        return;
    }
  }

  private exited(error: Error): void {
    const asked = this.closing !== undefined;
    this.closed = true;
    this.sessions.clear();
    for (const answer of this.metricsAsked.values()) answer([]);
    this.metricsAsked.clear();
    if (asked) return;
    this.deps.logger.error({ err: error.message }, 'the data-plane thread ended: the gateway listener is gone');
    this.deps.onLost(error);
  }
}

function logTo(logger: Logger, line: Extract<FromHost, { type: 'log' }>): void {
  const target = Object.keys(line.bindings).length > 0 ? logger.child(line.bindings) : logger;
  target[line.level](line.fields, line.message);
}
