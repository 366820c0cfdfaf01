// The worker thread that runs WAL checkpoints (checkpoint-worker.ts) for every database file of the stores
// that share it: one isolate for the resource store's file and the gateway store's, not one each (a worker
// is ≈10 MB resident). Each store's checkpointer (checkpointer.ts) holds a lane: a connection of its own on
// the worker, opened at its first checkpoint and closed when the checkpointer ends it (idle, or the store
// closing). The worker runs one checkpoint at a time, in the order asked: a lane waits for another file's
// checkpoint to end (a PASSIVE checkpoint copies at most the WAL's size limit).
//
// Contract:
// - A lane's answers come in the order of its requests, to that lane only.
// - The worker starts at the first lane opened and exits once no lane is open (a new lane starts a new one).
// - If the worker fails (an error, or it exits while lanes are open), every open lane hears `failed` once;
//   a failed lane is closed (its release resolves at once) and its checkpointer does not use it again.
// - The worker is unreferenced while it only serves lanes; a lane's release keeps the process up until the
//   worker closed that lane's connection (the store's own connection, the last one, closes after it).
import { Worker } from 'node:worker_threads';
import type { CheckpointAnswer, CheckpointRequest, CheckpointReply } from './checkpoint-worker.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './checkpoint-worker.ts' : './checkpoint-worker.js', import.meta.url);
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', new URL('../../../test/support/ts-worker-register.mjs', import.meta.url).href] : [];

export interface LaneHandlers {
  /** The answer to the lane's last checkpoint request. */
  answer(answer: CheckpointAnswer): void;
  /** The worker failed: no answer will come for a request under way, nor for any later one. */
  failed(): void;
}

/** One database file's connection on the checkpoint worker. */
export interface CheckpointLane {
  /** Runs a PASSIVE checkpoint of the lane's file; answered through the handlers. */
  checkpoint(): void;
  /** Closes the lane's connection on the worker; resolves once it is closed (at once for a failed lane). */
  release(): Promise<void>;
}

interface OpenLane {
  readonly handlers: LaneHandlers;
  readonly worker: Worker;
  /** Waiting for the worker to close the lane's connection. */
  closed?: () => void;
}

export class CheckpointThread {
  private worker: Worker | undefined;
  private readonly lanes = new Map<number, OpenLane>();
  private nextId = 1;
  /** Lanes being released: while any is, the worker keeps the process up. */
  private releasing = 0;
  /** Workers started (a worker exits once no lane is open). */
  started = 0;

  /** Whether a worker runs now. */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** A lane for the database file at `path`; its connection opens on the worker at its first checkpoint. */
  open(path: string, handlers: LaneHandlers): CheckpointLane {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const lane: OpenLane = { handlers, worker };
    this.lanes.set(id, lane);
    return {
      checkpoint: () => {
        if (this.lanes.get(id) !== lane) return;
        worker.postMessage({ op: 'checkpoint', id, path } satisfies CheckpointRequest);
      },
      release: () => {
        if (this.lanes.get(id) !== lane || lane.closed) return Promise.resolve();
        this.releasing++;
        worker.ref();
        return new Promise<void>((resolve) => {
          lane.closed = resolve;
          worker.postMessage({ op: 'close', id } satisfies CheckpointRequest);
        }).finally(() => {
          if (--this.releasing === 0 && this.worker === worker) worker.unref();
        });
      },
    };
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { execArgv: WORKER_EXEC_ARGV });
    this.worker = worker;
    this.started++;
    worker.unref();
    worker.on('message', (reply: CheckpointReply) => {
      const lane = this.lanes.get(reply.id);
      if (!lane || lane.worker !== worker) return;
      if (reply.closed) {
        this.lanes.delete(reply.id);
        lane.closed?.();
        this.exitIfUnused(worker);
      } else {
        lane.handlers.answer(reply.answer);
      }
    });
    const failed = () => this.failed(worker);
    worker.on('error', failed);
    worker.on('exit', failed);
    return worker;
  }

  /** No lane open: the worker exits (a lane opened later starts a new one). */
  private exitIfUnused(worker: Worker): void {
    if (this.worker !== worker || [...this.lanes.values()].some((lane) => lane.worker === worker)) return;
    this.worker = undefined;
    worker.postMessage({ op: 'exit' } satisfies CheckpointRequest);
  }

  private failed(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    for (const [id, lane] of [...this.lanes]) {
      if (lane.worker !== worker) continue;
      this.lanes.delete(id);
      if (lane.closed) lane.closed();
      else lane.handlers.failed();
    }
  }
}
