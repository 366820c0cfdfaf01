// SQLite: an unfiltered list's total is read from resource_counts (kept by triggers), not counted over the
// tenant's rows, so a page of 100 costs the same at 1,000 and at 50,000 servers. Shown by a count the
// file holds that differs from its rows: the total follows the kept count. A policies' scope, which
// resource_counts does not count, and a name are counted over their (few) rows.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyScope } from '../../src/domain/policy.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { newResource } from './conformance/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'list-total-counted-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews, clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')) });

describe('SQLite list total', () => {
  it('is the kept count of the tenant, not a count of its rows', async () => {
    const first = open();
    for (const name of ['a', 'b', 'c']) await first.create(newResource(name));
    await first.create({ ...newResource('p'), id: 'id-policy-p', tenant: policyScope('default'), fqn: 'default:mcp-policy:p' });
    await first.close();
    const db = new Database(join(dir, 'control-plane.db'));
    db.prepare("UPDATE resource_counts SET count = count + 1000 WHERE tenant = 'default'").run();
    db.close();
    const store = open();
    try {
      const query = { tenant: 'default', limit: 2, offset: 0 };
      expect((await store.list(query)).total).toBe(1003);
      expect((await store.listViews(query)).total).toBe(1003);
      // The page itself is read from the rows.
      expect((await store.list(query)).items.map((r) => r.name)).toEqual(['a', 'b']);
      expect((await store.list({ ...query, tenant: policyScope('default') })).total).toBe(1);
      expect((await store.list({ ...query, name: 'b' })).total).toBe(1);
    } finally {
      await store.close();
    }
  });
});
