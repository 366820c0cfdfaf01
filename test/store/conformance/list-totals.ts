// The total of an unfiltered list (ResourceReader.list and listViews without a selection): the number of a
// tenant's servers through creates, status changes, moves between sources, deletes and rolled-back units,
// on another connection too; a tenant's admission policies (their own scope) are counted apart; a name counts
// the one it names.
import { policyScope } from '../../../src/domain/policy.js';
import type { ResourceStore } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, newResource, readyStatus, updateOf } from './fixtures.js';

async function totals(resources: ResourceStore, tenant = 'default', name?: string): Promise<[number, number]> {
  const query = { tenant, limit: 1, offset: 0, ...(name !== undefined ? { name } : {}) };
  return [(await resources.list(query)).total, (await resources.listViews(query)).total];
}

/** A tenant's policy, stored as intake stores one: in the policies' scope. */
const policy = (name: string) => ({ ...newResource(name), id: `id-policy-${name}`, tenant: policyScope('default'), fqn: `default:mcp-policy:${name}` });

export function listTotalCases(engine: () => StoreEngine): void {
  describe('list totals', () => {
    it("count a tenant's servers through every kind of write, its policies apart", async () => {
      const { resources } = engine();
      expect(await totals(resources)).toEqual([0, 0]);
      await resources.create(newResource('a'));
      await resources.create(newResource('b', { source: fileSource('b.yaml') }));
      await resources.create(newResource('c', { source: fileSource('c.yaml', '/other') }));
      await resources.create(newResource('x', { tenant: 'elsewhere', id: 'id-elsewhere-x' }));
      await resources.create(policy('p'));
      await resources.create(policy('q'));
      expect(await totals(resources)).toEqual([3, 3]);
      expect(await totals(resources, 'elsewhere')).toEqual([1, 1]);
      expect(await totals(resources, policyScope('default'))).toEqual([2, 2]);
      expect(await totals(resources, 'default', 'b')).toEqual([1, 1]);
      expect(await totals(resources, 'default', 'nobody')).toEqual([0, 0]);

      // Status and source changes keep the count.
      await resources.setStatus(fqnOf('a'), readyStatus(1, 'True'));
      await resources.setStatus(fqnOf('b'), readyStatus(1, 'False'));
      await resources.update(fqnOf('b'), updateOf('b', 2, { source: { kind: 'api' } }));
      expect(await totals(resources)).toEqual([3, 3]);

      // A unit that rolls back leaves the total as it was.
      await expect(
        resources.transaction(async () => {
          await resources.create(newResource('d'));
          await resources.remove(fqnOf('a'));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await totals(resources)).toEqual([3, 3]);

      await resources.remove(fqnOf('a'));
      await resources.remove('default:mcp-policy:p');
      expect(await totals(resources)).toEqual([2, 2]);
      expect(await totals(resources, policyScope('default'))).toEqual([1, 1]);

      // Another connection (a replica) sees and moves the same total.
      const other = await engine().connect?.();
      if (other) {
        await other.resources.create(newResource('e'));
        expect(await totals(resources)).toEqual([3, 3]);
        expect(await totals(other.resources)).toEqual([3, 3]);
      }
    });
  });
}
