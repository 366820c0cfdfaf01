// syncStates: what a resync compares, read from both stores without decoding: each resource's generation
// and the generation its status was written for, and each gateway entry's generation.
import type { StoreEngine } from './engine.js';
import { fqnOf, gatewayEntry, newResource, readyStatus, updateOf } from './fixtures.js';

export function syncStateCases(engine: () => StoreEngine): void {
  describe('sync states', () => {
    it('answer generations and observed generations as written', async () => {
      const { resources, gateway } = engine();
      expect(await resources.syncStates()).toEqual([]);
      expect(await gateway.syncStates()).toEqual([]);
      await resources.create(newResource('a'));
      await resources.create(newResource('b'));
      await resources.update(fqnOf('b'), updateOf('b', 2));
      await resources.setStatus(fqnOf('a'), readyStatus(1));
      await gateway.apply(gatewayEntry('a', 1));
      await gateway.apply(gatewayEntry('orphan', 3));
      const byFqn = <T extends { fqn: string }>(xs: T[]) => [...xs].sort((x, y) => x.fqn.localeCompare(y.fqn));
      expect(byFqn(await resources.syncStates())).toEqual([
        { fqn: fqnOf('a'), generation: 1, observedGeneration: 1 },
        { fqn: fqnOf('b'), generation: 2, observedGeneration: 0 },
      ]);
      expect(byFqn(await gateway.syncStates())).toEqual([
        { fqn: fqnOf('a'), generation: 1 },
        { fqn: fqnOf('orphan'), generation: 3 },
      ]);
    });
  });
}
