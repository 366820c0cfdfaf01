// GatewayWriter and GatewayReader: an entry is written only when its content changed, read back whole
// (its secrets opened), and announced to watchers once committed.
import { gatewayEntryHash } from '../../../src/gateway/gateway-entry.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, gatewayEntry } from './fixtures.js';

export function gatewayCases(engine: () => StoreEngine): void {
  describe('gateway entries', () => {
    it('are written when their content differs, and read back whole with the hash they were written with', async () => {
      const { gateway } = engine();
      expect(await gateway.apply(gatewayEntry('a'))).toBe(true);
      expect(await gateway.apply(gatewayEntry('a'))).toBe(false);
      const stored = await gateway.get(fqnOf('a'));
      expect(stored).toMatchObject(gatewayEntry('a'));
      expect(stored!.configHash).toBe(stored!.writtenHash);
      expect(await gateway.apply(gatewayEntry('a', 1, 'rotated'))).toBe(true);
      expect((await gateway.get(fqnOf('a')))!.headers).toEqual({ Authorization: 'Bearer rotated' });
      expect((await gateway.get(fqnOf('a')))!.upstreamProxy).toEqual(gatewayEntry('a', 1, 'rotated').upstreamProxy);
      expect(await gateway.get(fqnOf('missing'))).toBeUndefined();
    });

    it('take the hash and the current entry from a caller that knows them', async () => {
      const { gateway } = engine();
      await gateway.apply(gatewayEntry('a'));
      const current = await gateway.get(fqnOf('a'));
      expect(await gateway.apply(gatewayEntry('a'), { hash: current!.configHash, current })).toBe(false);
      const next = gatewayEntry('a', 2);
      expect(await gateway.apply(next, { hash: gatewayEntryHash(next), current })).toBe(true);
      expect((await gateway.get(fqnOf('a')))!.generation).toBe(2);
    });

    it('list and keys in name order; delete answers whether there was an entry', async () => {
      const { gateway } = engine();
      for (const name of ['b', 'a', 'c']) await gateway.apply(gatewayEntry(name));
      expect(await gateway.keys()).toEqual([fqnOf('a'), fqnOf('b'), fqnOf('c')]);
      expect((await gateway.list()).map((e) => e.name)).toEqual(['a', 'b', 'c']);
      expect(await gateway.delete(fqnOf('b'))).toBe(true);
      expect(await gateway.delete(fqnOf('b'))).toBe(false);
      expect(await gateway.keys()).toEqual([fqnOf('a'), fqnOf('c')]);
    });

    it('are announced to watchers after their transaction commits, and not at all when it rolls back', async () => {
      const { gateway } = engine();
      const heard: string[] = [];
      const unwatch = gateway.watch((fqn) => heard.push(fqn));
      await gateway.transaction(async () => {
        await gateway.apply(gatewayEntry('a'));
        await gateway.apply(gatewayEntry('b'));
        expect(heard).toEqual([]);
      });
      expect(heard).toEqual([fqnOf('a'), fqnOf('b')]);
      await expect(
        Promise.resolve().then(() =>
          gateway.transaction(async () => {
            await gateway.apply(gatewayEntry('a', 2));
            throw new Error('the batch failed');
          }),
        ),
      ).rejects.toThrow('the batch failed');
      expect(heard).toHaveLength(2);
      expect((await gateway.get(fqnOf('a')))!.generation).toBe(1);
      await gateway.delete(fqnOf('a'));
      expect(heard).toEqual([fqnOf('a'), fqnOf('b'), fqnOf('a')]);
      unwatch();
      await gateway.delete(fqnOf('b'));
      expect(heard).toHaveLength(3);
    });
  });
}
