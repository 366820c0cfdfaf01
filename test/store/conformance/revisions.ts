// Revisions: one per generation, recorded by the write that makes it (in its unit), listed newest first
// with secrets masked, read with them opened, trimmed to the newest generations, kept after a removal for
// the retention and then gone.
import { MASK } from '../../../src/manifest/index.js';
import { WriteConflictError } from '../../../src/store/index.js';
import { FakeClock } from '../../support/fake-clock.js';
import type { StoreEngine, StoreEngineFactory } from './engine.js';
import { fqnOf, manifest, newResource, other, SECRET, subject, updateOf } from './fixtures.js';

const DAY = 24 * 3_600_000;

export function revisionCases(engine: () => StoreEngine, factory: StoreEngineFactory): void {
  describe('revisions', () => {
    it('are recorded per new generation with the diff and origin given, listed newest first with secrets masked', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'), { revision: { diff: [{ op: 'add', path: '/name', to: 'a' }] } });
      const second = updateOf('a', 2, { manifest: manifest('a', 'second', 'Bearer rotated') });
      await resources.update(fqnOf('a'), second, {
        revision: { diff: [{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }], origin: { via: 'gaia' } },
      });
      // The same generation again (metadata only): no revision.
      await resources.update(fqnOf('a'), { ...second, metadata: { note: 'changed' } });
      const { items, total } = await resources.listRevisions(created.id, { limit: 10, offset: 0 });
      expect(total).toBe(2);
      expect(items.map((r) => [r.generation, r.subject.subjectId, r.origin.via])).toEqual([
        [2, other.subjectId, 'gaia'],
        [1, subject.subjectId, undefined],
      ]);
      expect(items[0]!.diff).toEqual([{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }]);
      expect(items[0]!.manifest.description).toBe('second');
      expect(JSON.stringify(items)).not.toContain('s3cret');
      expect(JSON.stringify(items)).not.toContain('rotated');
      expect((items[0]!.manifest as unknown as { auth_data: { headers: Record<string, string> } }).auth_data.headers.Authorization).toBe(MASK);
      // Read one by one, the secrets are opened: a rollback applies them.
      const first = await resources.getRevision(created.id, 1);
      expect((first!.manifest as unknown as { auth_data: { headers: Record<string, string> } }).auth_data.headers.Authorization).toBe(SECRET);
      expect(await resources.getRevision(created.id, 3)).toBeUndefined();
      expect(await resources.revisedIdOf(fqnOf('a'))).toBe(created.id);
    });

    it('page newest first', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      for (let g = 2; g <= 5; g++) await resources.update(fqnOf('a'), updateOf('a', g));
      const page = await resources.listRevisions(created.id, { limit: 2, offset: 1 });
      expect(page.total).toBe(5);
      expect(page.items.map((r) => r.generation)).toEqual([4, 3]);
      expect((await resources.listRevisions(created.id, { limit: 2, offset: 10 })).total).toBe(5);
    });

    it('of a refused write, or a unit that rolls back, are not recorded', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      await expect(resources.update(fqnOf('a'), updateOf('a', 2), { expect: { resourceVersion: created.resourceVersion + 7 } })).rejects.toThrow(WriteConflictError);
      await expect(
        resources.transaction(async () => {
          await resources.update(fqnOf('a'), updateOf('a', 2));
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect((await resources.listRevisions(created.id, { limit: 10, offset: 0 })).items.map((r) => r.generation)).toEqual([1]);
    });

    it('keep the newest generations of a resource, and a removed one for the retention, then none', async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const own = await factory.open({ clock, revisionHistory: 3, revisionRetentionMs: 7 * DAY });
      try {
        const { resources } = own;
        const created = await resources.create(newResource('a'));
        for (let g = 2; g <= 5; g++) await resources.update(fqnOf('a'), updateOf('a', g));
        expect((await resources.listRevisions(created.id, { limit: 10, offset: 0 })).items.map((r) => r.generation)).toEqual([5, 4, 3]);
        expect(await resources.getRevision(created.id, 2)).toBeUndefined();

        await resources.remove(fqnOf('a'));
        clock.advance(7 * DAY - 1000);
        const kept = await resources.listRevisions(created.id, { limit: 10, offset: 0 });
        expect(kept.items.map((r) => [r.generation, typeof r.deletedAt])).toEqual([
          [5, 'string'],
          [4, 'string'],
          [3, 'string'],
        ]);
        expect(await resources.revisedIdOf(fqnOf('a'))).toBe(created.id);
        // A new resource of the name is the one its name answers; the removed one stays readable by id.
        const again = await resources.create(newResource('a', { id: 'id-a2' }));
        expect(await resources.revisedIdOf(fqnOf('a'))).toBe(again.id);
        expect((await resources.getRevision(created.id, 5))?.generation).toBe(5);
        await resources.remove(fqnOf('a'));
        expect(await resources.revisedIdOf(fqnOf('a'))).toBe(again.id);

        clock.advance(2000);
        expect(await resources.listRevisions(created.id, { limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
        expect(await resources.getRevision(created.id, 5)).toBeUndefined();
        expect(await resources.revisedIdOf(fqnOf('a'))).toBe(again.id);
      } finally {
        await own.dispose();
      }
    });

    it('written on one connection are read on another', async () => {
      const { resources, connect } = engine();
      if (!connect) return;
      const created = await resources.create(newResource('a'));
      const replica = await connect();
      expect((await replica.resources.getRevision(created.id, 1))?.manifest.name).toBe('a');
    });
  });
}
