// Transactions: the writes of a unit commit together or not at all, and what a rolled-back unit wrote
// is gone from every read (rows, changelog, events, the source inventory).
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, newResource } from './fixtures.js';

export function transactionCases(engine: () => StoreEngine): void {
  describe('transactions', () => {
    it('commit the writes of a unit together', async () => {
      const { resources } = engine();
      const rv = await resources.currentResourceVersion();
      await resources.transaction(async () => {
        await resources.create(newResource('a'));
        await resources.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Created', message: 'created', actor: 'admin' });
      });
      expect(await resources.count()).toBe(1);
      expect(await resources.changesSince(rv, 10)).toHaveLength(1);
      expect(await resources.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(1);
    });

    it('roll back every write of a unit that fails', async () => {
      const { resources } = engine();
      await resources.create(newResource('kept', { source: fileSource('kept.yaml') }));
      await resources.fileRefs('default', '/manifests');
      const rv = await resources.currentResourceVersion();
      await expect(
        Promise.resolve().then(() =>
          resources.transaction(async () => {
            await resources.create(newResource('a', { source: fileSource('a.yaml') }));
            await resources.remove(fqnOf('kept'));
            await resources.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Created', message: 'created', actor: 'admin' });
            await resources.recordSourceFiles('/manifests', new Map([['a.yaml', { contentHash: 'h', names: ['a'], fingerprint: 'fp' }]]));
            throw new Error('the batch failed');
          }),
        ),
      ).rejects.toThrow('the batch failed');
      expect(await resources.keys()).toEqual([fqnOf('kept')]);
      expect(await resources.currentResourceVersion()).toBe(rv);
      expect(await resources.changesSince(rv, 10)).toEqual([]);
      expect(await resources.listEvents({ resourceId: 'id-a', limit: 10 })).toEqual([]);
      expect(await resources.sourceFiles('/manifests')).toEqual([]);
      expect([...(await resources.fileRefs('default', '/manifests')).keys()]).toEqual(['kept']);
    });
  });
}
