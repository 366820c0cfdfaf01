// Transactions: the writes of a unit commit together or not at all, and what a rolled-back unit wrote
// is gone from every read (rows, changelog, events, the source inventory).
import { WriteConflictError } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, gatewayEntry, newResource, updateOf } from './fixtures.js';

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

    it('a nested unit that fails undoes only its own writes; the outer one goes on and commits', async () => {
      const { resources, gateway } = engine();
      const heard: string[] = [];
      gateway.watch((fqn) => heard.push(fqn));
      const rv = await resources.currentResourceVersion();
      await resources.transaction(async () => {
        await resources.create(newResource('a'));
        await expect(
          Promise.resolve().then(() =>
            resources.transaction(async () => {
              await resources.create(newResource('b'));
              await resources.recordEvent({ fqn: fqnOf('b'), resourceId: 'id-b', type: 'Normal', reason: 'Created', message: 'created', actor: 'admin' });
              throw new Error('this file is refused');
            }),
          ),
        ).rejects.toThrow('this file is refused');
        await resources.create(newResource('c'));
      });
      await gateway.transaction(async () => {
        await gateway.apply(gatewayEntry('a'));
        await expect(
          Promise.resolve().then(() =>
            gateway.transaction(async () => {
              await gateway.apply(gatewayEntry('b'));
              throw new Error('refused');
            }),
          ),
        ).rejects.toThrow('refused');
      });
      expect(await resources.keys()).toEqual([fqnOf('a'), fqnOf('c')]);
      expect((await resources.changesSince(rv, 10)).map((c) => [c.fqn, c.resourceVersion])).toEqual([
        [fqnOf('a'), rv + 1],
        [fqnOf('c'), rv + 2],
      ]);
      expect(await resources.listEvents({ limit: 10 })).toEqual([]);
      expect(await gateway.keys()).toEqual([fqnOf('a')]);
      expect(heard).toEqual([fqnOf('a')]);
    });

    it('a write refused (WriteConflictError) inside a unit writes nothing and leaves the unit usable', async () => {
      const { resources } = engine();
      const created = await resources.create(newResource('a'));
      await resources.update(fqnOf('a'), updateOf('a', 2));
      await resources.transaction(async () => {
        const stale = { expect: { resourceVersion: created.resourceVersion } };
        await expect(Promise.resolve().then(() => resources.update(fqnOf('a'), updateOf('a', 3), stale))).rejects.toThrow(WriteConflictError);
        await expect(Promise.resolve().then(() => resources.create(newResource('a', { id: 'id-other' })))).rejects.toThrow(WriteConflictError);
        const current = await resources.get(fqnOf('a'));
        await resources.update(fqnOf('a'), updateOf('a', 3), { expect: { resourceVersion: current!.resourceVersion } });
      });
      expect((await resources.get(fqnOf('a')))!.generation).toBe(3);
    });
  });
}
