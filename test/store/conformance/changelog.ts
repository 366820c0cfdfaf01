// ChangeLog: one entry per write, in resourceVersion order without gaps a reader could miss, and a
// wake-up for every write.
import type { StoreEngine } from './engine.js';
import { fqnOf, newResource, readyStatus, updateOf } from './fixtures.js';

export function changelogCases(engine: () => StoreEngine): void {
  describe('changelog', () => {
    it('answers every write in resourceVersion order, each version once, each object as it was after the write', async () => {
      const { resources } = engine();
      const start = await resources.currentResourceVersion();
      await resources.create(newResource('a'));
      await resources.create(newResource('b'));
      await resources.update(fqnOf('a'), updateOf('a', 2));
      await resources.setStatus(fqnOf('b'), readyStatus(1));
      await resources.remove(fqnOf('a'));
      const changes = await resources.changesSince(start, 100);
      expect(changes.map((c) => [c.type, c.fqn])).toEqual([
        ['ADDED', fqnOf('a')],
        ['ADDED', fqnOf('b')],
        ['MODIFIED', fqnOf('a')],
        ['MODIFIED', fqnOf('b')],
        ['DELETED', fqnOf('a')],
      ]);
      const versions = changes.map((c) => c.resourceVersion);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(versions.length);
      for (const c of changes) expect(c.object.resourceVersion).toBe(c.resourceVersion);
      expect(changes[2]!.object.generation).toBe(2);
      expect(versions[versions.length - 1]).toBe(await resources.currentResourceVersion());
      // Resuming from any version answers exactly what follows it, a page at a time.
      expect(await resources.changesSince(versions[1]!, 2)).toEqual(changes.slice(2, 4));
      expect(await resources.oldestRetainedResourceVersion()).toBeLessThanOrEqual(versions[0]!);
    });

    it('an empty store can be resumed from its current version', async () => {
      const { resources } = engine();
      const current = await resources.currentResourceVersion();
      expect(await resources.changesSince(current, 10)).toEqual([]);
      expect(await resources.oldestRetainedResourceVersion()).toBeGreaterThan(current);
    });

    it('wakes onWrite listeners on every write until they unsubscribe', async () => {
      const { resources } = engine();
      let woken = 0;
      const unsubscribe = await resources.onWrite(() => woken++);
      await resources.create(newResource('a'));
      await resources.setStatus(fqnOf('a'), readyStatus(1));
      expect(woken).toBeGreaterThanOrEqual(2);
      unsubscribe();
      const seen = woken;
      await resources.remove(fqnOf('a'));
      expect(woken).toBe(seen);
    });
  });
}
