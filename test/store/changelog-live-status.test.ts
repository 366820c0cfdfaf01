// On both engines the status entry of a live resource's current resourceVersion keeps no copy of the
// status (its row holds it): the changelog of a settled fleet holds no status its rows hold. The entry
// gets the status when the row moves on (a status write, an update) or goes (a delete), and every
// change reads as before, prune's write-out of a first kept entry included.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ResourceStatus } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import type { ResourceStore } from '../../src/store/index.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, readyStatus, updateOf } from './conformance/fixtures.js';

interface RawRow {
  resource_version: number;
  fqn: string;
  type: string;
  object: string | null;
}

interface Engine {
  /** A store whose housekeeping prunes to `minEntries` after every `every` writes (entries of any age). */
  open(prune?: { minEntries: number; every: number }): Promise<ResourceStore>;
  rows(): Promise<RawRow[]>;
}

const statusNo = (i: number): ResourceStatus => ({ ...readyStatus(1), conditions: [{ ...readyStatus(1).conditions[0]!, message: `status ${i}` }] });
const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

function cases(engine: () => Engine): void {
  it("keeps no copy of a live resource's current status, and copies it in when the row moves on or goes", async () => {
    const store = await engine().open();
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    await store.setStatus(fqnOf('a'), statusNo(0));
    await store.setStatus(fqnOf('b'), statusNo(1));
    await store.setStatus(fqnOf('a'), statusNo(2));
    let rows = await engine().rows();
    expect(rows.map((r) => [r.type, r.object === null])).toEqual([
      ['ADDED', false],
      ['ADDED', false],
      ['STATUS', false], // a's status 0: a moved on
      ['STATUS', true], // b's current status
      ['STATUS', true], // a's current status
    ]);
    expect(rows[2]!.object).toBe(JSON.stringify(statusNo(0)));
    const before = await store.changesSince(0, 100);
    expect(before.map((c) => c.object.status)).toEqual([
      before[0]!.object.status,
      before[1]!.object.status,
      statusNo(0),
      statusNo(1),
      statusNo(2),
    ]);
    expect(before[4]!.object).toEqual({ ...before[0]!.object, resourceVersion: before[4]!.resourceVersion, status: statusNo(2) });
    // An update of a and the deletion of b: their status entries get the status they had.
    await store.update(fqnOf('a'), updateOf('a', 2));
    await store.remove(fqnOf('b'));
    rows = await engine().rows();
    expect(rows[3]!.object).toBe(JSON.stringify(statusNo(1)));
    expect(rows[4]!.object).toBe(JSON.stringify(statusNo(2)));
    expect(rows.every((r) => r.object !== null)).toBe(true);
    // Every change reads as it did while the statuses were the rows'.
    expect((await store.changesSince(0, 100)).slice(0, 5)).toEqual(before);
  });

  it('writes out a first kept entry that holds no status from its row, so resuming answers the same objects', async () => {
    const store = await engine().open({ minEntries: 3, every: 10 });
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    for (let i = 0; i < 7; i++) {
      clock.advance(1000);
      await store.setStatus(fqnOf('b'), statusNo(i));
    }
    // b's statuses only: a's ADDED entry is its latest. The 10th write (a's status) runs housekeeping:
    // entries 1-7 go, a's ADDED among them; a's status entry (rv 10, kept, current) is written out in full.
    const seen = new Map((await store.changesSince(0, 100)).map((c) => [c.resourceVersion, c.object]));
    clock.advance(1000);
    await store.setStatus(fqnOf('a'), statusNo(100));
    const expected = { ...(seen.get(1) as object), resourceVersion: 10, status: statusNo(100) };
    await waitFor(async () => (await store.oldestRetainedResourceVersion()) === 8, { what: 'the changelog pruned to its last 3 entries' });
    const rows = await engine().rows();
    expect(rows.map((r) => [r.resource_version, r.type, r.object === null])).toEqual([
      [8, 'MODIFIED', false], // b's first kept entry, written out in full (b's ADDED went)
      [9, 'STATUS', true], // b's current status
      [10, 'MODIFIED', false], // a's, written out in full from its row
    ]);
    const resumed = await store.changesSince(7, 100);
    expect(resumed.map((c) => c.object)).toEqual([seen.get(8), seen.get(9), expected]);
    // a moves on: its written-out entry keeps what it holds.
    await store.setStatus(fqnOf('a'), statusNo(101));
    expect((await store.changesSince(7, 100)).map((c) => c.object).slice(0, 3)).toEqual([seen.get(8), seen.get(9), expected]);
  });
}

describe('SQLite changelog: the live status is the row\'s', () => {
  let dir: string;
  let store: SqliteResourceStore | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'changelog-live-'));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const path = () => join(dir, 'control-plane.db');
  cases(() => ({
    async open(prune) {
      store = new SqliteResourceStore({
        path: path(),
        views: resourceViews,
        clock,
        ...(prune ? { changelogMinEntries: prune.minEntries, changelogMinAgeMs: 0, maintenanceEveryWrites: prune.every } : {}),
      });
      return store;
    },
    async rows() {
      const db = new Database(path(), { readonly: true });
      try {
        return db.prepare('SELECT resource_version, fqn, type, object FROM changelog ORDER BY resource_version').all() as RawRow[];
      } finally {
        db.close();
      }
    },
  }));
});

describe('SQLite changelog written before the live status was the row\'s', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'changelog-live-upgrade-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates: every entry reads as before, and writes from then on keep no copy of the live status', async () => {
    const path = join(dir, 'control-plane.db');
    let store = new SqliteResourceStore({ path, views: resourceViews, clock });
    await store.create(newResource('a'));
    await store.setStatus(fqnOf('a'), statusNo(0));
    await store.setStatus(fqnOf('a'), statusNo(1));
    const before = await store.changesSince(0, 100);
    await store.close();
    // The database as the build before wrote it: every status entry holds its status, no triggers, migration 12 undone.
    const db = new Database(path);
    db.exec(`
      DROP TRIGGER changelog_keep_status_update;
      DROP TRIGGER changelog_keep_status_delete;
      UPDATE changelog SET object = (SELECT status FROM resources AS r WHERE r.fqn = changelog.fqn) WHERE object IS NULL;
      DELETE FROM schema_migrations WHERE version = 12;
    `);
    db.close();
    store = new SqliteResourceStore({ path, views: resourceViews, clock });
    try {
      expect(await store.changesSince(0, 100)).toEqual(before);
      await store.setStatus(fqnOf('a'), statusNo(2));
      const rows = new Database(path, { readonly: true });
      try {
        expect(rows.prepare('SELECT object IS NULL FROM changelog ORDER BY resource_version').pluck().all()).toEqual([0, 0, 0, 1]);
      } finally {
        rows.close();
      }
      const after = await store.changesSince(0, 100);
      expect(after.slice(0, 3)).toEqual(before);
      expect(after[3]!.object).toEqual({ ...before[0]!.object, resourceVersion: after[3]!.resourceVersion, status: statusNo(2) });
    } finally {
      await store.close();
    }
  });
});

const pg = requirePostgres();
pg.describe('PostgreSQL changelog: the live status is the row\'s', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let store: PostgresResourceStore | undefined;
  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await database.close();
  });
  cases(() => ({
    async open(prune) {
      store = await PostgresResourceStore.open({
        database,
        views: resourceViews,
        clock,
        ...(prune ? { changelogMinEntries: prune.minEntries, changelogMinAgeMs: 0, housekeeping: true, housekeepingEveryWrites: prune.every } : {}),
      });
      return store;
    },
    async rows() {
      return (await database.pool.query<RawRow>('SELECT resource_version::int AS resource_version, fqn, type, object FROM changelog ORDER BY resource_version')).rows;
    },
  }));
});
