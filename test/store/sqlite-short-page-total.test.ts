// SQLite: a list of views whose first page is not full answers the page's length as its total, reading no
// count (one statement: the admission policies' version reads its scope so at every review). Shown by a
// kept count that differs from the rows: a short first page answers its rows; a full one, or a later
// page, the kept count.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyScope } from '../../src/domain/policy.js';
import { scopeVersion } from '../../src/policy/policy-scope-version.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { newResource } from './conformance/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'short-page-total-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews, clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')) });

describe('SQLite listViews total', () => {
  it('is the length of a first page that is not full, else the kept count', async () => {
    const first = open();
    for (const name of ['a', 'b', 'c']) await first.create(newResource(name));
    await first.close();
    const db = new Database(join(dir, 'control-plane.db'));
    db.prepare("UPDATE resource_counts SET count = count + 1000 WHERE tenant = 'default'").run();
    db.close();
    const store = open();
    try {
      const short = await store.listViews({ tenant: 'default', limit: 10, offset: 0 });
      expect(short.views).toHaveLength(3);
      expect(short.total).toBe(3);
      expect((await store.listViews({ tenant: 'default', limit: 3, offset: 0 })).total).toBe(1003);
      expect((await store.listViews({ tenant: 'default', limit: 10, offset: 1 })).total).toBe(1003);
      // An empty first page: nothing, total 0.
      expect(await store.listViews({ tenant: policyScope('default'), limit: 10, offset: 0 })).toEqual({ views: [], total: 0 });
    } finally {
      await store.close();
    }
  });

  it('still changes the policies scope version at every write of the scope', async () => {
    const store = open();
    try {
      const scope = policyScope('default');
      const empty = await scopeVersion(store, scope);
      await store.create({ ...newResource('p'), id: 'id-policy-p', tenant: scope, fqn: 'default:mcp-policy:p' });
      const one = await scopeVersion(store, scope);
      expect(one).not.toBe(empty);
      expect(one.startsWith('1\n')).toBe(true);
      await store.create({ ...newResource('q'), id: 'id-policy-q', tenant: scope, fqn: 'default:mcp-policy:q' });
      const two = await scopeVersion(store, scope);
      expect(two.startsWith('2\n')).toBe(true);
      // A server of the tenant is not in the scope.
      await store.create(newResource('s'));
      expect(await scopeVersion(store, scope)).toBe(two);
    } finally {
      await store.close();
    }
  });
});
