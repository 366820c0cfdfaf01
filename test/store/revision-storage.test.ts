// Each spec is stored once: the revision of a live resource's current generation keeps no copy of the
// row's spec and secrets (NULL at rest), and gets them when the generation moves on or the resource is
// removed; every read (list masked, get opened) answers the same revisions whichever way they are stored.
// A database written before (a full copy in every revision) is compacted by the migration, reads unchanged.
// Both engines.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resourceViews } from '../../src/http/resource-view.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import type { ResourceStore, Revision } from '../../src/store/index.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, manifest, newResource, SECRET, updateOf } from './conformance/fixtures.js';

interface Engine {
  open(): Promise<ResourceStore>;
  /** (generation, spec is NULL, secrets is NULL) of each stored revision row, by generation. */
  atRest(): Promise<[number, boolean, boolean][]>;
  /** Puts the database back to before the compaction: every revision with its full copy, the migration undone. */
  undoCompaction(): Promise<void>;
  dispose(): Promise<void>;
}

/** Every revision of the resource, listed (masked) and read one by one (opened). */
async function everyRevision(store: ResourceStore, id: string): Promise<{ listed: Revision[]; read: (Revision | undefined)[] }> {
  const listed = (await store.listRevisions(id, { limit: 50, offset: 0 })).items;
  const read = await Promise.all(listed.map((r) => store.getRevision(id, r.generation)));
  return { listed, read };
}

function cases(make: () => Promise<Engine>): void {
  let engine: Engine;
  beforeEach(async () => {
    engine = await make();
  });
  afterEach(() => engine.dispose());

  it('keeps one copy of each spec and answers every revision the same, through updates and the removal', async () => {
    let store = await engine.open();
    const { id } = await store.create(newResource('a'));
    expect(await engine.atRest()).toEqual([[1, true, true]]);
    await store.update(fqnOf('a'), updateOf('a', 2, { manifest: manifest('a', 'second', 'Bearer second') }));
    await store.update(fqnOf('a'), updateOf('a', 3, { manifest: manifest('a', 'third', 'Bearer third') }));
    // Only the current generation's revision shares the row's columns.
    expect(await engine.atRest()).toEqual([
      [1, false, false],
      [2, false, false],
      [3, true, true],
    ]);
    const before = await everyRevision(store, id);
    expect(before.read.map((r) => (r!.manifest as unknown as { auth_data: { headers: Record<string, string> } }).auth_data.headers.Authorization)).toEqual([
      'Bearer third',
      'Bearer second',
      SECRET,
    ]);
    expect(before.listed.map((r) => r.manifest.description)).toEqual(['third', 'second', 'Server a']);
    expect(JSON.stringify(before.listed)).not.toContain('Bearer');

    await store.remove(fqnOf('a'));
    expect((await engine.atRest()).every(([, spec, secrets]) => !spec && !secrets)).toBe(true);
    const removed = await everyRevision(store, id);
    expect(removed.read).toEqual(before.read.map((r) => ({ ...r, deletedAt: expect.any(String) })));
    expect(removed.listed.map(({ deletedAt: _, ...r }) => r)).toEqual(before.listed);
    await store.close();
  });

  it('compacts the revisions of a database written before, and answers them as before', async () => {
    let store = await engine.open();
    const a = await store.create(newResource('a'));
    await store.update(fqnOf('a'), updateOf('a', 2, { manifest: manifest('a', 'second', 'Bearer second') }));
    const b = await store.create(newResource('b'));
    await store.remove(fqnOf('b'));
    const c = await store.create(newResource('c'));
    await store.close();
    await engine.undoCompaction();
    expect((await engine.atRest()).some(([, spec]) => spec)).toBe(false);

    store = await engine.open();
    const compacted = await engine.atRest();
    // a's generation 2 and c's generation 1 are their rows' now; a's first and b's (removed) keep theirs.
    expect(compacted.filter(([, spec, secrets]) => spec && secrets)).toHaveLength(2);
    expect(compacted.filter(([, spec]) => !spec)).toHaveLength(2);
    for (const id of [a.id, b.id, c.id]) {
      const { read, listed } = await everyRevision(store, id);
      expect(read.length).toBeGreaterThan(0);
      for (const r of read) expect(JSON.stringify(r!.manifest)).toMatch(/Bearer (s3cret-value|second)/);
      expect(JSON.stringify(listed)).not.toContain('Bearer');
    }
    expect((await store.getRevision(a.id, 1))!.manifest.description).toBe('Server a');
    expect((await store.getRevision(a.id, 2))!.manifest.description).toBe('second');
    await store.close();
  });
}

const codec = new AesGcmSecretCodec(randomBytes(32));

describe('revision storage: SQLite', () => {
  cases(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'revision-storage-'));
    const path = join(dir, 'control-plane.db');
    const raw = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(path);
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };
    return {
      open: async () => new SqliteResourceStore({ path, views: resourceViews, secretCodec: codec }),
      atRest: async () =>
        raw((db) => db.prepare('SELECT generation, spec IS NULL AS s, secrets IS NULL AS k FROM revisions ORDER BY resource_id, generation').all() as { generation: number; s: number; k: number }[]).map(
          (r) => [r.generation, r.s === 1, r.k === 1] as [number, boolean, boolean],
        ),
      undoCompaction: async () =>
        raw((db) => {
          db.exec(`UPDATE revisions SET spec = (SELECT r.spec FROM resources AS r WHERE r.id = revisions.resource_id),
                     secrets = (SELECT r.secrets FROM resources AS r WHERE r.id = revisions.resource_id) WHERE spec IS NULL;
                   DROP TRIGGER revisions_keep_spec_update; DROP TRIGGER revisions_keep_spec_delete;
                   DROP TRIGGER resource_counts_insert; DROP TRIGGER resource_counts_delete; DROP TRIGGER resource_counts_update;
                   DROP TABLE resource_counts; DROP INDEX resources_account; DELETE FROM schema_migrations WHERE version = 11;`);
        }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
});

const { describe: whenPostgres } = requirePostgres();

whenPostgres('revision storage: PostgreSQL', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  cases(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const database = await PostgresDatabase.open(url, { max: 2 });
    await migrate(database.pool);
    return {
      open: async () => {
        await migrate(database.pool);
        return PostgresResourceStore.open({ database, views: resourceViews, secretCodec: codec });
      },
      atRest: async () =>
        (
          await database.pool.query<{ generation: string; s: boolean; k: boolean }>(
            'SELECT generation, spec IS NULL AS s, secrets IS NULL AS k FROM revisions ORDER BY resource_id, generation',
          )
        ).rows.map((r) => [Number(r.generation), r.s, r.k] as [number, boolean, boolean]),
      undoCompaction: async () => {
        await database.pool.query(`UPDATE revisions AS v SET spec = r.spec, secrets = r.secrets FROM resources AS r WHERE r.id = v.resource_id AND v.spec IS NULL;
          DROP TRIGGER revisions_keep_spec ON resources; DROP FUNCTION revisions_keep_spec();
          DROP TRIGGER resources_counted ON resources; DROP FUNCTION resources_counted(); DROP FUNCTION resource_count_source(TEXT);
          DROP FUNCTION resource_count_ready(TEXT); DROP TABLE resource_counts; DROP INDEX resources_account; DELETE FROM schema_migrations WHERE version = 10;`);
      },
      dispose: () => database.close(),
    };
  });
});
