// ListQuery.account: a project's servers from the (tenant, account, name) index, alone and with a name, a
// tag, a reader's scope or a filter; in name order, paged, with the total; equal to filtering every
// resource by its account, through a move of a resource to another account and a removal.
import type { ListQuery } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, manifest, newResource, updateOf } from './fixtures.js';

export function accountSelectionCases(engine: () => StoreEngine): void {
  describe('list selection by account', () => {
    it('answers the servers of one account as a scan filtered by account would, whatever else selects', async () => {
      const { resources } = engine();
      // fixtures: tag team red for even-length names, blue otherwise; collaborator team:everyone.
      const accounts: Record<string, string> = { a: 'p1', bb: 'p2', c: 'p1', dd: 'p1', e: 'p2', ff: 'p1' };
      for (const [name, accountId] of Object.entries(accounts)) await resources.create({ ...newResource(name), accountId });
      await resources.create({ ...newResource('a', { tenant: 'elsewhere', id: 'id-elsewhere-a' }), accountId: 'p1' });
      const both = async (query: Omit<ListQuery, 'tenant' | 'limit' | 'offset'> & Partial<ListQuery>) => {
        const full = { tenant: 'default', limit: 100, offset: 0, ...query };
        const listed = await resources.list(full);
        const views = await resources.listViews(full);
        expect(views.total).toBe(listed.total);
        expect(views.views.map((v) => JSON.parse(v).name)).toEqual(listed.items.map((r) => r.name));
        return { names: listed.items.map((r) => r.name), total: listed.total };
      };
      const scanned = async (account: string) =>
        (await resources.list({ tenant: 'default', limit: 100, offset: 0 })).items.filter((r) => r.accountId === account).map((r) => r.name);

      expect(await both({ account: 'p1' })).toEqual({ names: ['a', 'c', 'dd', 'ff'], total: 4 });
      expect((await both({ account: 'p1' })).names).toEqual(await scanned('p1'));
      expect(await both({ account: 'p1', limit: 2, offset: 1 })).toEqual({ names: ['c', 'dd'], total: 4 });
      expect(await both({ account: 'p1', name: 'c' })).toEqual({ names: ['c'], total: 1 });
      expect(await both({ account: 'p2', name: 'c' })).toEqual({ names: [], total: 0 });
      expect(await both({ account: 'p1', tag: { key: 'team', value: 'red' } })).toEqual({ names: ['dd', 'ff'], total: 2 });
      expect(await both({ account: 'p1', readableBy: { accounts: ['p1', 'p2'], subjects: ['team:everyone'] } })).toEqual({ names: ['a', 'c', 'dd', 'ff'], total: 4 });
      expect(await both({ account: 'p1', readableBy: { accounts: ['p2'], subjects: ['team:everyone'] } })).toEqual({ names: [], total: 0 });
      expect(await both({ account: 'p1', readableBy: { accounts: ['p1'], subjects: ['team:nobody'] } })).toEqual({ names: [], total: 0 });
      expect(await both({ account: 'p1', filter: (r) => r.name !== 'a' })).toEqual({ names: ['c', 'dd', 'ff'], total: 3 });
      expect(await both({ account: 'nobody' })).toEqual({ names: [], total: 0 });

      // A move to another account and a removal are seen at once.
      await resources.update(fqnOf('c'), { ...updateOf('c', 2, { manifest: manifest('c', 'moved') }), accountId: 'p2' });
      await resources.remove(fqnOf('dd'));
      expect((await both({ account: 'p1' })).names).toEqual(['a', 'ff']);
      expect((await both({ account: 'p2' })).names).toEqual(['bb', 'c', 'e']);
      expect((await both({ account: 'p2' })).names).toEqual(await scanned('p2'));
    });
  });
}
