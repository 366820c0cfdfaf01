// Events: keyed by resource id, folded when the newest one of the resource repeats, listed newest
// first through a filter.
import type { EventInput } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { WriteConflictError } from '../../../src/store/index.js';
import { fqnOf, newResource, updateOf } from './fixtures.js';

const event = (resourceId: string, reason: string, message = `${reason} happened`): EventInput => ({
  fqn: fqnOf('a'),
  resourceId,
  type: 'Normal',
  reason,
  message,
  actor: 'admin',
});

export function eventCases(engine: () => StoreEngine): void {
  describe('events', () => {
    it('fold a repeat into the newest event of the resource, and a repeat after another event is a new one', async () => {
      const { resources } = engine();
      await resources.recordEvent(event('id-a', 'Created'));
      await resources.recordEvent(event('id-a', 'Applied'));
      await resources.recordEvent(event('id-a', 'Applied'));
      await resources.recordEvent(event('id-a', 'Created'));
      const listed = await resources.listEvents({ resourceId: 'id-a', limit: 10 });
      expect(listed.map((e) => [e.reason, e.count])).toEqual([
        ['Created', 1],
        ['Applied', 2],
        ['Created', 1],
      ]);
    });

    it('belong to a resource id: a name deleted and created again starts a new history', async () => {
      const { resources } = engine();
      await resources.create(newResource('a'));
      await resources.recordEvent(event('id-a', 'Created'));
      await resources.remove(fqnOf('a'));
      await resources.create(newResource('a', { id: 'id-a2' }));
      await resources.recordEvent(event('id-a2', 'Created'));
      expect((await resources.listEvents({ resourceId: 'id-a2', limit: 10 })).map((e) => [e.resourceId, e.count])).toEqual([['id-a2', 1]]);
      expect(await resources.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(1);
      expect(await resources.listEvents({ limit: 10 })).toHaveLength(2);
    });

    it('given with a write are recorded for the written resource, and not at all when the write is refused', async () => {
      const { resources } = engine();
      const note = (reason: string) => ({ type: 'Normal' as const, reason, message: `${reason} by a write`, actor: 'admin' });
      const created = await resources.create(newResource('a'), { events: [note('Created')] });
      await expect(Promise.resolve().then(() => resources.create(newResource('a', { id: 'id-other' }), { events: [note('Lost')] }))).rejects.toThrow(WriteConflictError);
      const stale = { resourceVersion: created.resourceVersion - 1 };
      await expect(Promise.resolve().then(() => resources.update(fqnOf('a'), updateOf('a', 2), { expect: stale, events: [note('Stale')] }))).rejects.toThrow(WriteConflictError);
      await resources.update(fqnOf('a'), updateOf('a', 2), { expect: { resourceVersion: created.resourceVersion }, events: [note('TakenOver'), note('Updated')] });
      expect(await resources.remove(fqnOf('missing'), { events: [note('Deleted')] })).toBeUndefined();
      await resources.remove(fqnOf('a'), { events: [note('Deleted')] });
      const listed = await resources.listEvents({ limit: 10 });
      expect(listed.map((e) => [e.fqn, e.resourceId, e.reason])).toEqual([
        [fqnOf('a'), 'id-a', 'Created'],
        [fqnOf('a'), 'id-a', 'TakenOver'],
        [fqnOf('a'), 'id-a', 'Updated'],
        [fqnOf('a'), 'id-a', 'Deleted'],
      ]);
    });

    it('answer the newest `limit` that pass the filter, oldest of them first', async () => {
      const { resources } = engine();
      for (let i = 0; i < 5; i++) await resources.recordEvent(event(i % 2 === 0 ? 'id-even' : 'id-odd', `Step${i}`));
      const even = await resources.listEvents({ limit: 2, filter: (e) => e.resourceId === 'id-even' });
      expect(even.map((e) => e.reason)).toEqual(['Step2', 'Step4']);
      expect((await resources.listEvents({ limit: 3 })).map((e) => e.reason)).toEqual(['Step2', 'Step3', 'Step4']);
    });
  });
}
