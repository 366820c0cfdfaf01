// SQLite: the indexes that answer tag selectors and reader scopes (resource_tags, resource_readers) are
// filled for rows stored before they existed (migration 8 on an older file), and the selections read
// them instead of scanning the resources table; a resync's syncStates reads covering indexes of both files.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { newResource } from './conformance/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'selection-indexes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews, clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')) });

describe('SQLite selection indexes', () => {
  it('are filled at migration for resources stored before them', async () => {
    const first = open();
    for (const name of ['ab', 'c', 'de', 'f']) await first.create(newResource(name));
    await first.close();
    // The file as an older build left it: no indexes, no triggers, migration 8 not applied.
    const db = new Database(join(dir, 'control-plane.db'));
    db.exec(`DROP TRIGGER resources_index_insert; DROP TRIGGER resources_index_update; DROP TRIGGER resources_index_delete;
      DROP TABLE resource_tags; DROP TABLE resource_readers; DELETE FROM schema_migrations WHERE version = 8`);
    db.close();
    const store = open();
    try {
      // The fixtures' team tag: red for names of even length.
      const red = await store.list({ tenant: 'default', limit: 10, offset: 0, tag: { key: 'team', value: 'red' } });
      expect(red.items.map((r) => r.name)).toEqual(['ab', 'de']);
      const everyone = await store.listViews({ tenant: 'default', limit: 10, offset: 0, readableBy: { accounts: ['default'], subjects: ['team:everyone'] } });
      expect(everyone.total).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('answer a tag, a scope, or both without scanning the resources table', async () => {
    const store = open();
    await store.create(newResource('a'));
    await store.close();
    const db = new Database(join(dir, 'control-plane.db'), { readonly: true });
    try {
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
      const scope = "a.account_id IN (SELECT value FROM json_each('[\"x\"]')) AND a.subject IN (SELECT value FROM json_each('[\"y\"]'))";
      const selections = [
        "SELECT t.name, t.fqn FROM resource_tags AS t WHERE t.tenant = 'default' AND t.tag_key = 'k' AND t.tag_value = 'v'",
        `SELECT t.name, t.fqn FROM resource_tags AS t WHERE t.tenant = 'default' AND t.tag_key = 'k' AND t.tag_value = 'v' AND EXISTS (SELECT 1 FROM resource_readers AS a WHERE a.fqn = t.fqn AND ${scope})`,
        `SELECT DISTINCT a.name, a.fqn FROM resource_readers AS a WHERE a.tenant = 'default' AND ${scope}`,
      ];
      for (const selection of selections) {
        const page = plan(`SELECT r.view FROM (${selection} ORDER BY name LIMIT 10 OFFSET 0) AS m CROSS JOIN resources AS r ON r.fqn = m.fqn ORDER BY m.name`);
        expect(page).not.toMatch(/SCAN r\b|SCAN resources/);
        expect(page).toMatch(/SEARCH r USING INDEX/);
        expect(plan(`SELECT count(*) FROM (${selection})`)).not.toMatch(/SCAN (r|resources)\b/);
      }
    } finally {
      db.close();
    }
  });

  it("answer a resync's sync states from covering indexes, not the rows", async () => {
    const store = open();
    await store.create(newResource('a'));
    await store.close();
    const gatewayPath = join(dir, 'gateway.db');
    const gateway = new SqliteGatewayStore({ path: gatewayPath });
    await gateway.close();
    const plan = (path: string, sql: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
      } finally {
        db.close();
      }
    };
    const source = readFileSync(new URL('../../src/store/sqlite/resource-reads.ts', import.meta.url), 'utf8');
    const resourcesSql = /syncStates: db\.prepare\("([^"]+)"\)/.exec(source)?.[1];
    expect(resourcesSql).toBeDefined();
    expect(plan(join(dir, 'control-plane.db'), resourcesSql!)).toMatch(/USING COVERING INDEX resources_sync_states/);
    expect(plan(gatewayPath, 'SELECT fqn, generation FROM gateway_entries')).toMatch(/USING COVERING INDEX/);
  });
});
