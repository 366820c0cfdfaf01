// A Controller whose batches are units of work of a real SQLite store in a temp directory, for tests of
// what a batch commits and when: `store` is the controller's, `other` another connection to the same
// file (it reads only what was committed). Registers its own beforeEach/afterEach: a fresh file per test,
// the controller stopped and both connections closed after it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { Controller, type ReconcileOutcome } from '../../src/reconcile/controller.js';
import type { Reconciler } from '../../src/reconcile/reconcile.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from './fake-clock.js';

export interface BatchStart {
  /** The first batch runs every reconcile, then fails to commit; the next ones commit. Default false. */
  failFirstCommit?: boolean;
  /** The controller's batchMs. Default its own. */
  batchMs?: number;
}

export interface ControllerBatch {
  readonly store: SqliteResourceStore;
  readonly other: SqliteResourceStore;
  /** Starts the test's controller (one worker, no resync) over `store`; its queue's clock is fake. */
  start(reconcile: Reconciler, options?: BatchStart): { queue: WorkQueue; clock: FakeClock; outcomes: ReconcileOutcome[] };
}

export function useControllerBatch(): ControllerBatch {
  let dir: string;
  let store: SqliteResourceStore;
  let other: SqliteResourceStore;
  let controller: Controller | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'controller-batch-'));
    store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
    other = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await store.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    get store() {
      return store;
    },
    get other() {
      return other;
    },
    start(reconcile, options = {}) {
      const clock = new FakeClock(10_000);
      const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
      const outcomes: ReconcileOutcome[] = [];
      let failCommit = options.failFirstCommit ?? false;
      controller = new Controller({
        name: 'test',
        workers: 1,
        resyncIntervalMs: 0,
        listKeys: () => [],
        reconcile,
        queue,
        clock,
        batch: (run) =>
          store.transaction(async () => {
            await run();
            if (failCommit) {
              failCommit = false;
              throw new Error('the commit failed');
            }
          }),
        ...(options.batchMs !== undefined ? { batchMs: options.batchMs } : {}),
        onOutcome: (o) => void outcomes.push(o),
      });
      controller.start();
      return { queue, clock, outcomes };
    },
  };
}
