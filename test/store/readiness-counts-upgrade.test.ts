// The readiness counts (resource_counts) on a database written before they existed: the migration counts
// the stored servers once, the triggers keep the counts from there, and a restart reads them as they were
// left. Both engines; the old schema is the current one with the counts' migration undone.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCondition, READY } from '../../src/domain/conditions.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { sourceLabel } from '../../src/metrics/index.js';
import type { ReadinessCount, ResourceStore } from '../../src/store/index.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fileSource, fqnOf, newResource, readyStatus } from './conformance/fixtures.js';

const sorted = (counts: ReadinessCount[]) => [...counts].sort((a, b) => `${a.source}\n${a.ready}`.localeCompare(`${b.source}\n${b.ready}`));

async function recount(resources: ResourceStore): Promise<ReadinessCount[]> {
  const counts = new Map<string, ReadinessCount>();
  for (const r of (await resources.list({ tenant: 'default', limit: 10_000, offset: 0 })).items) {
    if (r.fqn.includes(':mcp-policy:')) continue;
    const key = { source: sourceLabel(r.source), ready: findCondition(r.status.conditions, READY)?.status ?? 'Unknown' };
    const entry = counts.get(`${key.source}\n${key.ready}`) ?? { ...key, count: 0 };
    entry.count++;
    counts.set(`${key.source}\n${key.ready}`, entry);
  }
  return sorted([...counts.values()]);
}

/** Servers of two sources in every Ready status, and a policy, as an older build would have stored them. */
async function fill(resources: ResourceStore): Promise<void> {
  for (let i = 0; i < 12; i++) {
    await resources.create(newResource(`s${i}`, i % 3 === 0 ? { source: fileSource(`s${i}.yaml`) } : {}));
    if (i % 4 !== 0) await resources.setStatus(fqnOf(`s${i}`), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
  }
  await resources.create({ ...newResource('p'), id: 'id-policy-p', fqn: 'default:mcp-policy:p' });
}

/** After the upgrade: the counts equal a recount, and go on following writes. */
async function expectCountsFollow(resources: ResourceStore): Promise<void> {
  expect(sorted(await resources.readinessCounts('default'))).toEqual(await recount(resources));
  expect((await resources.readinessCounts('default')).reduce((n, c) => n + c.count, 0)).toBe(12);
  await resources.setStatus(fqnOf('s0'), readyStatus(1, 'True'));
  await resources.remove(fqnOf('s1'));
  await resources.create(newResource('new', { source: fileSource('new.yaml', '/elsewhere') }));
  expect(sorted(await resources.readinessCounts('default'))).toEqual(await recount(resources));
}

describe('readiness counts on an older SQLite database', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'readiness-upgrade-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are counted by the migration, kept from there, and read as left after a restart', async () => {
    const path = join(dir, 'control-plane.db');
    let store = new SqliteResourceStore({ path, views: resourceViews });
    await fill(store);
    await store.close();
    // Back to schema 10: no counts, no triggers (revisions as compact as the upgrade leaves them: the migration handles both).
    const db = new Database(path);
    db.exec(`DROP TRIGGER revisions_keep_spec_update; DROP TRIGGER revisions_keep_spec_delete; DROP TRIGGER resource_counts_insert; DROP TRIGGER resource_counts_delete; DROP TRIGGER resource_counts_update;
             DROP TABLE resource_counts; DROP INDEX resources_account; DELETE FROM schema_migrations WHERE version = 11;`);
    db.close();

    store = new SqliteResourceStore({ path, views: resourceViews });
    await expectCountsFollow(store);
    const left = sorted(await store.readinessCounts('default'));
    await store.close();
    store = new SqliteResourceStore({ path, views: resourceViews });
    expect(sorted(await store.readinessCounts('default'))).toEqual(left);
    expect(left).toEqual(await recount(store));
    await store.close();
  });
});

const { describe: whenPostgres } = requirePostgres();

whenPostgres('readiness counts on an older PostgreSQL schema', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);

  it('are counted by the migration, kept from there, and read as left after a restart', async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const open = async () => {
      const database = await PostgresDatabase.open(url, { max: 2 });
      await migrate(database.pool);
      return { database, store: await PostgresResourceStore.open({ database, views: resourceViews }) };
    };
    let { database, store } = await open();
    await fill(store);
    // Back to schema 9: no counts, no trigger.
    await database.pool.query(`DROP TRIGGER revisions_keep_spec ON resources; DROP FUNCTION revisions_keep_spec(); DROP TRIGGER resources_counted ON resources; DROP FUNCTION resources_counted(); DROP FUNCTION resource_count_source(TEXT);
      DROP FUNCTION resource_count_ready(TEXT); DROP TABLE resource_counts; DROP INDEX resources_account; DELETE FROM schema_migrations WHERE version = 10;`);
    await store.close();
    await database.close();

    ({ database, store } = await open());
    await expectCountsFollow(store);
    const left = sorted(await store.readinessCounts('default'));
    await store.close();
    await database.close();
    ({ database, store } = await open());
    expect(sorted(await store.readinessCounts('default'))).toEqual(left);
    expect(left).toEqual(await recount(store));
    await store.close();
    await database.close();
  });
});
