// A reconcile's `committed` hook: called once its batch committed (another connection then reads what it
// wrote), never for a batch that failed to commit.
import { fqnOf, newResource } from '../store/conformance/fixtures.js';
import { useControllerBatch } from '../support/controller-batch.js';
import { waitFor } from '../support/wait-for.js';

const batch = useControllerBatch();

it('calls committed after the commit, with the write readable elsewhere, and not for a batch that failed', async () => {
  /** Per hook: the resource its reconcile created, and whether another connection read it then. */
  const readAtHook: [string, boolean][] = [];
  const hooks: Promise<void>[] = [];
  let n = 0;
  const { queue, clock, outcomes } = batch.start(
    async (key) => {
      const name = `${key}-${n++}`;
      await batch.store.create(newResource(name));
      return { committed: () => void hooks.push(batch.other.keys().then((keys) => void readAtHook.push([name, keys.includes(fqnOf(name))]))) };
    },
    { failFirstCommit: true },
  );
  queue.add('a');
  queue.add('b');
  await waitFor(() => outcomes.some((o) => o.result === 'error'), { what: 'the failed batch' });
  clock.advance(1_000);
  await waitFor(() => outcomes.filter((o) => o.result === 'success').length === 2, { what: 'both keys reconciled' });
  await Promise.all(hooks);
  // A hook for every committed write and none other: the failed batch's writes are gone, and had no hook.
  const committed = await batch.other.keys();
  expect(committed).toHaveLength(2);
  expect(readAtHook.map(([name]) => fqnOf(name)).sort()).toEqual([...committed].sort());
  expect(readAtHook.every(([, read]) => read)).toBe(true);
});
