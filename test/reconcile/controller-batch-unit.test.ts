// The controller's batch as one unit of work of a real SQLite store: the outcome of every key is decided
// after the commit, and a reconcile's `finish` (what must await something other than the store) runs
// after the commit, outside the unit.
import { fqnOf, newResource } from '../store/conformance/fixtures.js';
import { useControllerBatch } from '../support/controller-batch.js';
import { waitFor } from '../support/wait-for.js';

const batch = useControllerBatch();

it('runs a reconcile\'s finish after its batch committed, outside the unit, and reports it as the outcome', async () => {
  const seenByFinish: (number | undefined)[] = [];
  const { queue, outcomes } = batch.start(async (key) => {
    await batch.store.create(newResource(key));
    return {
      finish: async () => {
        // Committed: another connection reads it. And not in the unit: a unit opened now from
        // elsewhere would wait for this call if it were, so this write commits on its own.
        seenByFinish.push((await batch.other.get(fqnOf(key)))?.generation);
        await batch.store.recordEvent({ fqn: fqnOf(key), resourceId: `id-${key}`, type: 'Normal', reason: 'Finished', message: 'finished', actor: 'test' });
        return { requeueAfterMs: 5_000 };
      },
    };
  });
  queue.add('a');
  await waitFor(() => outcomes.length === 1, { what: 'the outcome of a' });
  expect(seenByFinish).toEqual([1]);
  expect(outcomes[0]).toMatchObject({ key: 'a', result: 'requeue', retryInMs: 5_000 });
  expect(await batch.other.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(1);
});

it('reports a finish that rejects as the reconcile\'s error, while the batch\'s writes stay committed', async () => {
  const { queue, outcomes } = batch.start(async (key) => {
    await batch.store.create(newResource(key));
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
  expect(await batch.other.keys()).toEqual([fqnOf('a')]);
});

it('decides no outcome before the commit: a batch that fails to commit retries every key, and none of its writes stay', async () => {
  const { queue: q, clock, outcomes: seen } = batch.start(async (key) => void (await batch.store.create(newResource(`${key}-${seen.length}`))), {
    failFirstCommit: true,
    batchMs: 600_000,
  });
  q.add('a');
  q.add('b');
  await waitFor(() => seen.length === 2, { what: 'the failed batch\'s outcomes' });
  expect(seen.map((o) => [o.key, o.result])).toEqual([
    ['a', 'error'],
    ['b', 'error'],
  ]);
  expect(await batch.other.keys()).toEqual([]);
  clock.advance(1_000);
  await waitFor(() => seen.length === 4, { what: 'the retried keys' });
  expect(seen.slice(2).map((o) => [o.key, o.result])).toEqual([
    ['a', 'success'],
    ['b', 'success'],
  ]);
  expect((await batch.other.keys()).sort()).toEqual([fqnOf('a-2'), fqnOf('b-2')]);
});
