// A reconcile's `committed` hook: called once its batch committed (another connection then reads what it
// wrote), never for a batch that failed to commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { Controller, type ReconcileOutcome } from '../../src/reconcile/controller.js';
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
  dir = mkdtempSync(join(tmpdir(), 'controller-committed-'));
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

it('calls committed after the commit, with the write readable elsewhere, and not for a batch that failed', async () => {
  const clock = new FakeClock(10_000);
  const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
  const outcomes: ReconcileOutcome[] = [];
  /** Per hook: the resource its reconcile created, and whether another connection read it then. */
  const readAtHook: [string, boolean][] = [];
  const hooks: Promise<void>[] = [];
  let failBatch = true;
  let n = 0;
  controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => [],
    reconcile: async (key) => {
      const name = `${key}-${n++}`;
      await store.create(newResource(name));
      return { committed: () => void hooks.push(other.keys().then((keys) => void readAtHook.push([name, keys.includes(fqnOf(name))]))) };
    },
    queue,
    clock,
    batch: (run) =>
      store.transaction(async () => {
        await run();
        if (failBatch) {
          failBatch = false;
          throw new Error('the commit failed');
        }
      }),
    onOutcome: (o) => void outcomes.push(o),
  });
  controller.start();
  queue.add('a');
  queue.add('b');
  await waitFor(() => outcomes.some((o) => o.result === 'error'), { what: 'the failed batch' });
  clock.advance(1_000);
  await waitFor(() => outcomes.filter((o) => o.result === 'success').length === 2, { what: 'both keys reconciled' });
  await Promise.all(hooks);
  // A hook for every committed write and none other: the failed batch's writes are gone, and had no hook.
  const committed = await other.keys();
  expect(committed).toHaveLength(2);
  expect(readAtHook.map(([name]) => fqnOf(name)).sort()).toEqual([...committed].sort());
  expect(readAtHook.every(([, read]) => read)).toBe(true);
});
