// The controller's batch as one unit of work of a real SQLite store: the outcome of every key is decided
// after the commit, and a reconcile's `finish` (what must await something other than the store) runs
// after the commit, outside the unit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { Controller, type ReconcileOutcome } from '../../src/reconcile/controller.js';
import type { Reconciler } from '../../src/reconcile/reconcile.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { fqnOf, newResource } from '../store/conformance/fixtures.js';

let dir: string;
let store: SqliteResourceStore;
let other: SqliteResourceStore;
let controller: Controller | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'controller-batch-'));
  store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  // Another connection to the same file: it sees only what was committed.
  other = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
});
afterEach(async () => {
  await controller?.stop();
  controller = undefined;
  await store.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(reconcile: Reconciler): { queue: WorkQueue; outcomes: ReconcileOutcome[] } {
  const clock = new FakeClock(10_000);
  const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
  const outcomes: ReconcileOutcome[] = [];
  controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => [],
    reconcile,
    queue,
    clock,
    batch: (run) => store.transaction(run),
    onOutcome: (o) => void outcomes.push(o),
  });
  controller.start();
  return { queue, outcomes };
}

it('runs a reconcile\'s finish after its batch committed, outside the unit, and reports it as the outcome', async () => {
  const seenByFinish: (number | undefined)[] = [];
  const { queue, outcomes } = start(async (key) => {
    await store.create(newResource(key));
    return {
      finish: async () => {
        // Committed: another connection reads it. And not in the unit: a unit opened now from
        // elsewhere would wait for this call if it were, so this write commits on its own.
        seenByFinish.push((await other.get(fqnOf(key)))?.generation);
        await store.recordEvent({ fqn: fqnOf(key), resourceId: `id-${key}`, type: 'Normal', reason: 'Finished', message: 'finished', actor: 'test' });
        return { requeueAfterMs: 5_000 };
      },
    };
  });
  queue.add('a');
  await waitFor(() => outcomes.length === 1, { what: 'the outcome of a' });
  expect(seenByFinish).toEqual([1]);
  expect(outcomes[0]).toMatchObject({ key: 'a', result: 'requeue', retryInMs: 5_000 });
  expect(await other.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(1);
});

it('reports a finish that rejects as the reconcile\'s error, while the batch\'s writes stay committed', async () => {
  const { queue, outcomes } = start(async (key) => {
    await store.create(newResource(key));
    return {
      finish: async () => {
        throw new Error('the process would not stop');
      },
    };
  });
  queue.add('a');
  await waitFor(() => outcomes.length === 1, { what: 'the outcome of a' });
  expect(outcomes[0]).toMatchObject({ key: 'a', result: 'error' });
  expect(outcomes[0]?.error?.message).toBe('the process would not stop');
  expect(await other.keys()).toEqual([fqnOf('a')]);
});

it('decides no outcome before the commit: a batch that fails to commit retries every key, and none of its writes stay', async () => {
  const clock = new FakeClock(10_000);
  const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
  const seen: ReconcileOutcome[] = [];
  let failBatch = true;
  controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => [],
    reconcile: async (key) => void (await store.create(newResource(`${key}-${seen.length}`))),
    queue: q,
    clock,
    batch: (run) =>
      store.transaction(async () => {
        await run();
        if (failBatch) {
          failBatch = false;
          throw new Error('the commit failed');
        }
      }),
    batchMs: 600_000,
    onOutcome: (o) => void seen.push(o),
  });
  controller.start();
  q.add('a');
  q.add('b');
  await waitFor(() => seen.length === 2, { what: 'the failed batch\'s outcomes' });
  expect(seen.map((o) => [o.key, o.result])).toEqual([
    ['a', 'error'],
    ['b', 'error'],
  ]);
  expect(await other.keys()).toEqual([]);
  clock.advance(1_000);
  await waitFor(() => seen.length === 4, { what: 'the retried keys' });
  expect(seen.slice(2).map((o) => [o.key, o.result])).toEqual([
    ['a', 'success'],
    ['b', 'success'],
  ]);
  expect((await other.keys()).sort()).toEqual([fqnOf('a-2'), fqnOf('b-2')]);
});
