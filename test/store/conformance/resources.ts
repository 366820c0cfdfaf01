// ResourceReader and ResourceWriter: what a write leaves, what each read answers, and the writes that
// must not win over a stored resource (a create of a taken name, an update of a missing one).
import { MASK } from '../../../src/manifest/index.js';
import { WriteConflictError } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, manifest, newResource, other, SECRET, subject, updateOf } from './fixtures.js';

export function resourceCases(engine: () => StoreEngine): void {
  describe('resources', () => {
    it('a create answers generation 1 at a new resourceVersion, and every read finds it', async () => {
      const { resources } = engine();
      const before = await resources.currentResourceVersion();
      const created = await resources.create(newResource('a'));
      expect(created).toMatchObject({ id: 'id-a', fqn: fqnOf('a'), generation: 1, createdBy: subject, updatedBy: subject });
      expect(created.resourceVersion).toBeGreaterThan(before);
      expect(await resources.currentResourceVersion()).toBe(created.resourceVersion);
      const read = await resources.get(fqnOf('a'));
      expect(read).toEqual(created);
      expect(await resources.getById('id-a')).toEqual(created);
      expect(await resources.keys()).toEqual([fqnOf('a')]);
      expect(await resources.count()).toBe(1);
      expect(await resources.listRefs('default')).toEqual([{ fqn: fqnOf('a'), id: 'id-a', tenant: 'default', name: 'a', generation: 1, source: { kind: 'api' } }]);
      expect(await resources.listRefs('elsewhere')).toEqual([]);
      expect(await resources.get(fqnOf('missing'))).toBeUndefined();
      expect(await resources.getById('missing')).toBeUndefined();
    });

    it('an update keeps who created it and when, and takes the generation it is given', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      const updated = await resources.update(fqnOf('a'), updateOf('a', 2));
      expect(updated).toMatchObject({ id: 'id-a', generation: 2, createdBy: subject, updatedBy: other, createdAt: created.createdAt });
      expect(updated.resourceVersion).toBeGreaterThan(created.resourceVersion);
      expect(await resources.get(fqnOf('a'))).toEqual(updated);
    });

    it('a create of a name that is taken fails and leaves the stored resource as it was', async () => {
      const { resources } = engine();
      const first = await resources.create(newResource('a'));
      const rv = await resources.currentResourceVersion();
      await expect(Promise.resolve().then(() => resources.create(newResource('a', { id: 'id-other' })))).rejects.toThrow(WriteConflictError);
      expect(await resources.get(fqnOf('a'))).toEqual(first);
      expect(await resources.currentResourceVersion()).toBe(rv);
      expect(await resources.changesSince(rv, 10)).toEqual([]);
    });

    it('an update of a missing resource fails and writes nothing; a remove of one answers undefined', async () => {
      const { resources } = engine();
      const rv = await resources.currentResourceVersion();
      await expect(Promise.resolve().then(() => resources.update(fqnOf('a'), updateOf('a', 2)))).rejects.toThrow(WriteConflictError);
      expect(await resources.remove(fqnOf('a'))).toBeUndefined();
      expect(await resources.currentResourceVersion()).toBe(rv);
      expect(await resources.count()).toBe(0);
    });

    it('an update or remove planned against another resourceVersion fails (compare-and-swap) and writes nothing', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      const updated = await resources.update(fqnOf('a'), updateOf('a', 2), { expect: { resourceVersion: created.resourceVersion } });
      const stale = { expect: { resourceVersion: created.resourceVersion } };
      await expect(Promise.resolve().then(() => resources.update(fqnOf('a'), updateOf('a', 3), stale))).rejects.toThrow(WriteConflictError);
      await expect(Promise.resolve().then(() => resources.remove(fqnOf('a'), stale))).rejects.toThrow(WriteConflictError);
      expect(await resources.get(fqnOf('a'))).toEqual(updated);
      expect(await resources.changesSince(updated.resourceVersion, 10)).toEqual([]);
      // The current one writes.
      const removed = await resources.remove(fqnOf('a'), { expect: { resourceVersion: updated.resourceVersion } });
      expect(removed!.resourceVersion).toBeGreaterThan(updated.resourceVersion);
    });

    it('a remove answers the resource at the resourceVersion of its deletion, and frees the name for another id', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      const removed = await resources.remove(fqnOf('a'));
      expect(removed).toMatchObject({ id: 'id-a', manifest: manifest('a') });
      expect(removed!.resourceVersion).toBeGreaterThan(created.resourceVersion);
      expect(await resources.get(fqnOf('a'))).toBeUndefined();
      expect(await resources.getById('id-a')).toBeUndefined();
      const again = await resources.create(newResource('a', { id: 'id-a2' }));
      expect(again.id).toBe('id-a2');
      expect(again.generation).toBe(1);
    });

    it('answers secret values to get, and masked ones to masked lists, views and the changelog', async () => {
      const { resources } = engine();
      const rv = await resources.currentResourceVersion();
      await resources.create(newResource('a'));
      expect((await resources.get(fqnOf('a')))!.manifest).toEqual(manifest('a'));
      const listed = await resources.list({ tenant: 'default', limit: 10, offset: 0, masked: true });
      expect(JSON.stringify(listed)).not.toContain(SECRET);
      expect(JSON.stringify(listed)).toContain(MASK);
      const views = await resources.listViews({ tenant: 'default', limit: 10, offset: 0 });
      expect(views.total).toBe(1);
      expect(views.views.join('')).not.toContain(SECRET);
      expect(JSON.stringify(await resources.changesSince(rv, 10))).not.toContain(SECRET);
      const withAnswer = await resources.getWithAnswer(fqnOf('a'));
      expect(withAnswer!.resource.manifest).toEqual(manifest('a'));
      expect(withAnswer!.answer.view).toBe(views.views[0]);
      expect(withAnswer!.answer.maskedManifest).not.toContain(SECRET);
    });

    it('pages lists by name, filters and tags them, and counts the total before paging', async () => {
      const { resources } = engine();
      for (const name of ['c', 'a', 'bb', 'dd']) await resources.create(newResource(name));
      await resources.create(newResource('a', { tenant: 'elsewhere', id: 'id-elsewhere-a' }));
      const page = await resources.list({ tenant: 'default', limit: 2, offset: 1 });
      expect(page.total).toBe(4);
      expect(page.items.map((r) => r.name)).toEqual(['bb', 'c']);
      expect((await resources.list({ tenant: 'default', limit: 10, offset: 0, name: 'a' })).items.map((r) => r.id)).toEqual(['id-a']);
      const red = await resources.list({ tenant: 'default', limit: 10, offset: 0, tag: { key: 'team', value: 'red' } });
      expect(red.items.map((r) => r.name)).toEqual(['bb', 'dd']);
      const filtered = await resources.listViews({ tenant: 'default', limit: 1, offset: 1, filter: (r) => r.name !== 'a' });
      expect(filtered.total).toBe(3);
      expect(filtered.views).toHaveLength(1);
      expect(filtered.views[0]).toContain('"name":"c"');
    });

    it('answers the known manifest when the stored spec has its hash, and its own otherwise', async () => {
      const { resources } = engine();
      await resources.create(newResource('a'));
      const known = manifest('a');
      expect((await resources.get(fqnOf('a'), { known: { specHash: 'hash-a', manifest: known } }))!.manifest).toBe(known);
      const own = (await resources.get(fqnOf('a'), { known: { specHash: 'another', manifest: known } }))!.manifest;
      expect(own).not.toBe(known);
      expect(own).toEqual(known);
    });
  });
}
