// Transactions: the writes of a unit commit together or not at all, and what a rolled-back unit wrote
// is gone from every read (rows, changelog, events, the source inventory). The unit is ambient: calls
// from its asynchronous context join it, calls from any other context (one started before it, or a
// callback it scheduled that runs after it ended) do not, and a nested unit is a savepoint.
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

    it('are not seen, nor joined, by calls from another context while open', async () => {
      const { resources } = engine();
      await resources.create(newResource('kept'));
      // Continuations registered here run in this (outside) context, whoever resolves them.
      let startOutside!: () => void;
      const started = new Promise<void>((resolve) => (startOutside = resolve));
      const outsideRead = started.then(() => resources.get(fqnOf('a')));
      const outsideWrite = started.then(() => resources.create(newResource('b')));
      const outsideRemove = started.then(() => resources.remove(fqnOf('kept')));
      await expect(
        resources.transaction(async () => {
          await resources.create(newResource('a'));
          startOutside();
          // The outside calls have been made: an engine with one writer queues them, another runs them beside.
          await resources.count();
          await resources.count();
          expect(await resources.get(fqnOf('kept'))).toBeDefined();
          throw new Error('the unit failed');
        }),
      ).rejects.toThrow('the unit failed');
      expect(await outsideRead).toBeUndefined();
      expect((await outsideWrite).name).toBe('b');
      expect((await outsideRemove)?.name).toBe('kept');
      // What the outside calls wrote was theirs, not the rolled-back unit's.
      expect((await resources.keys()).sort()).toEqual([fqnOf('b')]);
    });

    it('are seen by a read made after the commit, with every write of the unit', async () => {
      const { resources } = engine();
      let startOutside!: () => void;
      const started = new Promise<void>((resolve) => (startOutside = resolve));
      const outsideCount = started.then(() => resources.count());
      await resources.transaction(async () => {
        await resources.create(newResource('a'));
        startOutside();
        await resources.count();
        await resources.create(newResource('b'));
      });
      // Before the commit (0) or after it (2): never half of the unit.
      expect([0, 2]).toContain(await outsideCount);
      expect(await resources.count()).toBe(2);
    });

    it('do not take in a call their callback makes after they ended', async () => {
      const { resources } = engine();
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      let late: Promise<unknown> | undefined;
      await resources.transaction(async () => {
        // Registered inside the unit, so it runs in the unit's context, but after the unit committed.
        late = gate.then(() => resources.create(newResource('late')));
        await resources.create(newResource('a'));
      });
      // A second unit, from another context, is open when the callback runs: the callback joins neither.
      let inSecond!: () => void;
      const secondOpen = new Promise<void>((resolve) => (inSecond = resolve));
      const second = resources.transaction(async () => {
        await resources.create(newResource('b'));
        inSecond();
        await resources.count();
        await resources.count();
        throw new Error('the second unit failed');
      });
      await secondOpen;
      openGate();
      await expect(second).rejects.toThrow('the second unit failed');
      await late;
      expect((await resources.keys()).sort()).toEqual([fqnOf('a'), fqnOf('late')]);
    });

    it('nest: a nested unit that rejects undoes only its own writes', async () => {
      const { resources } = engine();
      await resources.create(newResource('kept', { source: fileSource('kept.yaml') }));
      await resources.fileRefs('default', '/manifests');
      const rv = await resources.currentResourceVersion();
      await resources.transaction(async () => {
        await resources.create(newResource('a', { source: fileSource('a.yaml') }));
        await expect(
          resources.transaction(async () => {
            await resources.create(newResource('b', { source: fileSource('b.yaml') }));
            await resources.remove(fqnOf('kept'));
            await resources.recordSourceFiles('/manifests', new Map([['b.yaml', { contentHash: 'h', names: ['b'], fingerprint: 'fp' }]]));
            throw new Error('the file failed');
          }),
        ).rejects.toThrow('the file failed');
        await resources.create(newResource('c'));
      });
      expect((await resources.keys()).sort()).toEqual([fqnOf('a'), fqnOf('c'), fqnOf('kept')]);
      expect((await resources.changesSince(rv, 10)).map((c) => c.fqn)).toEqual([fqnOf('a'), fqnOf('c')]);
      expect(await resources.sourceFiles('/manifests')).toEqual([]);
      expect([...(await resources.fileRefs('default', '/manifests')).keys()].sort()).toEqual(['a', 'kept']);
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
