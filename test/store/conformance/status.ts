// StatusWriter: a status is written only when it differs, and only while the resource is still the one
// (id and generation) it was computed from.
import { initialStatus } from '../../../src/domain/resource.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, newResource, readyStatus, updateOf } from './fixtures.js';

export function statusCases(engine: () => StoreEngine): void {
  describe('status', () => {
    it('a different status is written at a new resourceVersion; the same one writes nothing', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      const rv = await resources.setStatus(fqnOf('a'), readyStatus(1));
      expect(rv).toBeGreaterThan(created.resourceVersion);
      expect(await resources.currentResourceVersion()).toBe(rv);
      const read = await resources.get(fqnOf('a'));
      expect(read).toMatchObject({ resourceVersion: rv, generation: 1, status: readyStatus(1) });
      // The same status again (its keys in another order too) answers the stored resourceVersion.
      expect(await resources.setStatus(fqnOf('a'), readyStatus(1))).toBe(rv);
      const reordered = Object.fromEntries(Object.entries(readyStatus(1)).reverse()) as ReturnType<typeof readyStatus>;
      expect(await resources.setStatus(fqnOf('a'), reordered)).toBe(rv);
      expect(await resources.changesSince(rv!, 10)).toEqual([]);
      // Its changelog entry and view carry it.
      const [change] = await resources.changesSince(created.resourceVersion, 10);
      expect(change).toMatchObject({ resourceVersion: rv, type: 'MODIFIED', object: { status: readyStatus(1), resourceVersion: rv } });
      const view = JSON.parse((await resources.getWithAnswer(fqnOf('a')))!.answer.view) as { resourceVersion: string };
      expect(view.resourceVersion).toBe(String(rv));
    });

    it('answers undefined for a missing resource', async () => {
      const { resources } = engine();
      expect(await resources.setStatus(fqnOf('a'), readyStatus(1))).toBeUndefined();
      expect(await resources.count()).toBe(0);
    });

    it('with expect, drops a status of another generation or of a resource deleted and created again', async () => {
      const { resources } = engine();
      await resources.create(newResource('a'));
      await resources.update(fqnOf('a'), updateOf('a', 2));
      const rv = await resources.currentResourceVersion();
      expect(await resources.setStatus(fqnOf('a'), readyStatus(1), { id: 'id-a', generation: 1 })).toBeUndefined();
      await resources.remove(fqnOf('a'));
      await resources.create(newResource('a', { id: 'id-a2' }));
      const recreated = await resources.currentResourceVersion();
      expect(await resources.setStatus(fqnOf('a'), readyStatus(2), { id: 'id-a', generation: 2 })).toBeUndefined();
      expect((await resources.changesSince(rv, 10)).map((c) => c.type)).toEqual(['DELETED', 'ADDED']);
      expect((await resources.get(fqnOf('a')))!.status).toEqual(initialStatus());
      // The current id and generation write.
      expect(await resources.setStatus(fqnOf('a'), readyStatus(1), { id: 'id-a2', generation: 1 })).toBeGreaterThan(recreated);
    });
  });
}
