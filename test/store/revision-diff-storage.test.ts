// A revision's diff does not repeat its spec: an op whose value is the generation's own spec value at its
// path is stored as its path, and read back with the value, so a create's diff (every field listed) costs
// its paths. Every read (listed masked, read opened; while the revision is live and after it moved on)
// answers the diff the write was given. Both engines.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { planApply } from '../../src/plan/plan.js';
import type { ResourceStore } from '../../src/store/index.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, manifest, newResource, updateOf } from './conformance/fixtures.js';

interface Engine {
  open(): Promise<ResourceStore>;
  /** The stored diff column of each revision, by generation. */
  diffs(): Promise<string[]>;
  dispose(): Promise<void>;
}

/** A manifest with more to it than the fixture's: nested fields, an array, tags. */
function richManifest(description: string, secret: string): McpServerManifest {
  return {
    ...manifest('a', description, secret),
    tool_settings: [{ name: 'search', description: 'Search the corpus', disabled: false }],
    tls_settings: { reject_unauthorized: true },
    tags: { team: 'red', purpose: 'Purpose-One' },
  } as unknown as McpServerManifest;
}

function cases(make: () => Promise<Engine>): void {
  let engine: Engine;
  beforeEach(async () => {
    engine = await make();
  });
  afterEach(() => engine.dispose());

  it("stores a create's diff as its paths and answers it, and an update's, as given", async () => {
    const store = await engine.open();
    const first = richManifest('first', 'Bearer one');
    const create = planApply({ desired: first, desiredHash: 'h1', metadata: {}, source: { kind: 'api' }, accountId: 'default', stored: undefined });
    const created = await store.create({ ...newResource('a'), manifest: first }, { revision: { diff: create.diff } });
    // The diff lists the fields with their values (the secret only as set): the stored column holds none of the values.
    expect(create.diff.some((op) => op.secret)).toBe(true);
    const [stored] = await engine.diffs();
    expect(stored).not.toContain('Search the corpus');
    expect(stored).not.toContain('Purpose-One');
    expect(stored!.length).toBeLessThan(JSON.stringify(create.diff).length / 2);
    const second = { ...richManifest('second', 'Bearer two'), tags: { team: 'blue', purpose: 'Purpose-One', extra: 'yes' }, tls_settings: { reject_unauthorized: true, ca: 'none' } } as unknown as McpServerManifest;
    const update = planApply({ desired: second, desiredHash: 'h2', metadata: { note: 'x' }, source: { kind: 'api' }, accountId: 'default', stored: await store.get(fqnOf('a')) });
    expect(update.diff.some((op) => op.op === 'replace')).toBe(true);
    expect(update.diff.some((op) => op.op === 'add')).toBe(true);
    const check = async () => {
      const listed = (await store.listRevisions(created.id, { limit: 10, offset: 0 })).items;
      expect(listed.filter((r) => r.generation <= 2).map((r) => r.diff)).toEqual([update.diff, create.diff]);
      expect((await store.getRevision(created.id, 1))!.diff).toEqual(create.diff);
      expect((await store.getRevision(created.id, 2))!.diff).toEqual(update.diff);
    };
    await store.update(fqnOf('a'), { ...updateOf('a', 2), manifest: second }, { revision: { diff: update.diff } });
    // Generation 1 moved on (its spec copied into its revision); generation 2 is the row's.
    await check();
    await store.update(fqnOf('a'), { ...updateOf('a', 3), manifest: richManifest('third', 'Bearer three') });
    await check();
    await store.remove(fqnOf('a'));
    await check();
  });
}

describe('revision diffs on SQLite', () => {
  cases(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'revision-diff-'));
    const path = join(dir, 'control-plane.db');
    let store: SqliteResourceStore | undefined;
    return {
      async open() {
        store = new SqliteResourceStore({ path, views: resourceViews });
        return store;
      },
      async diffs() {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare('SELECT diff FROM revisions ORDER BY generation').pluck().all() as string[];
        } finally {
          db.close();
        }
      },
      async dispose() {
        await store?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

const pg = requirePostgres();
pg.describe('revision diffs on PostgreSQL', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  cases(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    let store: PostgresResourceStore | undefined;
    return {
      async open() {
        store = await PostgresResourceStore.open({ database, views: resourceViews });
        return store;
      },
      async diffs() {
        return (await database.pool.query<{ diff: string }>('SELECT diff FROM revisions ORDER BY generation')).rows.map((r) => r.diff);
      },
      async dispose() {
        await store?.close();
        await database.close();
      },
    };
  });
});
