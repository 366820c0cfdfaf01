// Two connections to the same data (two replicas): each reads what the other committed, and the
// resourceVersion stays one order across both.
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, gatewayEntry, newResource, readyStatus, updateOf } from './fixtures.js';

export function replicaCases(engine: () => StoreEngine): void {
  describe('two connections', () => {
    const second = async () => {
      const connect = engine().connect;
      return connect ? connect() : undefined;
    };

    it('read each other\'s writes, in one resourceVersion order', async () => {
      const { resources } = engine();
      const other = await second();
      if (!other) return;
      const start = await resources.currentResourceVersion();
      await resources.create(newResource('a'));
      await other.resources.update(fqnOf('a'), updateOf('a', 2));
      await resources.setStatus(fqnOf('a'), readyStatus(2));
      await other.resources.create(newResource('b'));
      for (const reader of [resources, other.resources]) {
        expect((await reader.get(fqnOf('a')))!).toMatchObject({ generation: 2, status: readyStatus(2) });
        const changes = await reader.changesSince(start, 10);
        expect(changes.map((c) => [c.type, c.fqn])).toEqual([
          ['ADDED', fqnOf('a')],
          ['MODIFIED', fqnOf('a')],
          ['MODIFIED', fqnOf('a')],
          ['ADDED', fqnOf('b')],
        ]);
        expect(await reader.currentResourceVersion()).toBe(changes[3]!.resourceVersion);
      }
      // A create of a name the other replica took fails.
      await expect(Promise.resolve().then(() => resources.create(newResource('b', { id: 'id-b2' })))).rejects.toThrow();
    });

    it('answer the source inventory with the other\'s writes in it (no in-memory copy goes stale)', async () => {
      const { resources } = engine();
      const other = await second();
      if (!other) return;
      await resources.create(newResource('a', { source: fileSource('a.yaml') }));
      // Both have read the inventory (an engine may keep a copy of it), then the other writes.
      expect([...(await resources.fileRefs('default', '/manifests')).keys()]).toEqual(['a']);
      expect([...(await other.resources.fileRefs('default', '/manifests')).keys()]).toEqual(['a']);
      await other.resources.create(newResource('b', { source: fileSource('b.yaml') }));
      await other.resources.remove(fqnOf('a'));
      expect([...(await resources.fileRefs('default', '/manifests')).keys()]).toEqual(['b']);
      expect((await resources.fileRefsAt('default', '/manifests', 'a.yaml')).map((r) => r.name)).toEqual([]);
      expect((await resources.listRefs('default')).map((r) => r.name)).toEqual(['b']);
      // And its own writes after that keep it current.
      await resources.update(fqnOf('b'), updateOf('b', 2, { source: fileSource('c.yaml') }));
      expect((await other.resources.fileRefsAt('default', '/manifests', 'c.yaml')).map((r) => [r.name, r.generation])).toEqual([['b', 2]]);
    });

    it('see the other\'s gateway writes, and its revision moves with them', async () => {
      const { gateway } = engine();
      const other = await second();
      if (!other) return;
      const revision = await gateway.externalRevision();
      await other.gateway.apply(gatewayEntry('a'));
      expect((await gateway.get(fqnOf('a')))!.headers).toEqual(gatewayEntry('a').headers);
      expect(await gateway.externalRevision()).not.toBe(revision);
    });
  });
}
