// A page read in two steps (ResourceReader.listKeys, then viewsOf a batch of its keys, as a streamed list
// answer reads it): the same members, order and total as listViews for every kind of query, and the views
// of the keys asked for in their order, a resource removed since left out.
import type { ListQuery } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, newResource } from './fixtures.js';

export function listKeyCases(engine: () => StoreEngine): void {
  describe('pages by keys (listKeys, viewsOf)', () => {
    /** listKeys + viewsOf of the page, against listViews of it. */
    const same = async (query: Omit<ListQuery, 'tenant'>) => {
      const { resources } = engine();
      const full = { tenant: 'default', ...query };
      const { fqns, total } = await resources.listKeys(full);
      const viewed = await resources.listViews(full);
      expect(total).toBe(viewed.total);
      expect(await resources.viewsOf(fqns)).toEqual(viewed.views);
      return { names: fqns.map((f) => f.slice(fqnOf('').length)), total };
    };

    it('answer the members, order and total listViews answers, for every kind of query', async () => {
      const { resources } = engine();
      for (const name of ['d', 'bb', 'a', 'cc', 'e']) await resources.create(newResource(name));
      expect(await same({ limit: 100, offset: 0 })).toEqual({ names: ['a', 'bb', 'cc', 'd', 'e'], total: 5 });
      expect(await same({ limit: 2, offset: 1 })).toEqual({ names: ['bb', 'cc'], total: 5 });
      expect(await same({ limit: 2, offset: 9 })).toEqual({ names: [], total: 5 });
      expect(await same({ limit: 10, offset: 0, name: 'cc' })).toEqual({ names: ['cc'], total: 1 });
      // fixtures: a name of even length is team red.
      expect(await same({ limit: 10, offset: 0, tag: { key: 'team', value: 'red' } })).toEqual({ names: ['bb', 'cc'], total: 2 });
      expect(await same({ limit: 1, offset: 1, readableBy: { accounts: ['default'], subjects: ['team:everyone'] } })).toEqual({ names: ['bb'], total: 5 });
      expect(await same({ limit: 10, offset: 0, account: 'default', tag: { key: 'team', value: 'blue' } })).toEqual({ names: ['a', 'd', 'e'], total: 3 });
      expect(await same({ limit: 2, offset: 1, filter: (r) => r.name !== 'bb' })).toEqual({ names: ['cc', 'd'], total: 4 });
    });

    it('viewsOf answers in the order asked, leaves out a resource removed since, and answers nothing for no keys', async () => {
      const { resources } = engine();
      for (const name of ['a', 'b', 'c']) await resources.create(newResource(name));
      const { fqns } = await resources.listKeys({ tenant: 'default', limit: 10, offset: 0 });
      await resources.remove(fqnOf('b'));
      const names = (views: string[]) => views.map((v) => (JSON.parse(v) as { name: string }).name);
      expect(names(await resources.viewsOf(fqns))).toEqual(['a', 'c']);
      expect(names(await resources.viewsOf([fqnOf('c'), fqnOf('a')]))).toEqual(['c', 'a']);
      expect(await resources.viewsOf([])).toEqual([]);
    });
  });
}
