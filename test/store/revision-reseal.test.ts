// Revisions keep their secrets sealed like the rows: a store that wrote them in clear (before encryption
// was configured) has them sealed by resealSecrets, on both engines, and a rollback reads them back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { resourceViews } from '../../src/http/resource-view.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, SECRET, updateOf } from './conformance/fixtures.js';

// Only revisions that keep their own copy (an older generation's) hold secrets; the current one reads its row's.
const sealedValues = (rows: { secrets: string | null }[]) => rows.flatMap((r) => (r.secrets === null ? [] : Object.values(JSON.parse(r.secrets) as Record<string, string>)));

it('SQLite: revisions written in clear are sealed at startup', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'revision-reseal-'));
  try {
    const path = join(dir, 'control-plane.db');
    const legacy = new SqliteResourceStore({ path, views: resourceViews });
    await legacy.create(newResource('a'));
    await legacy.update(fqnOf('a'), updateOf('a', 2));
    await legacy.close();
    const codec = new AesGcmSecretCodec(randomBytes(32));
    const store = new SqliteResourceStore({ path, views: resourceViews, secretCodec: codec });
    try {
      expect(await store.resealSecrets()).toBe(2);
      const raw = new Database(path, { readonly: true });
      const values = sealedValues(raw.prepare('SELECT secrets FROM revisions').all() as { secrets: string | null }[]);
      raw.close();
      expect(values.length).toBe(1);
      expect(values.every((v) => codec.isSealed(v))).toBe(true);
      expect(JSON.stringify((await store.getRevision('id-a', 1))?.manifest)).toContain(SECRET);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const { describe: whenPostgres } = requirePostgres();

whenPostgres('PostgreSQL', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);

  it('revisions written in clear are sealed by resealSecrets', async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const database = await PostgresDatabase.open(url, { max: 2 });
    try {
      await migrate(database.pool);
      const legacy = await PostgresResourceStore.open({ database, views: resourceViews });
      await legacy.create(newResource('a'));
      await legacy.update(fqnOf('a'), updateOf('a', 2));
      await legacy.close();
      const codec = new AesGcmSecretCodec(randomBytes(32));
      const store = await PostgresResourceStore.open({ database, views: resourceViews, secretCodec: codec });
      try {
        expect(await store.resealSecrets()).toBe(2);
        const values = sealedValues((await database.pool.query<{ secrets: string | null }>('SELECT secrets FROM revisions')).rows);
        expect(values.length).toBe(1);
        expect(values.every((v) => codec.isSealed(v))).toBe(true);
        expect(JSON.stringify((await store.getRevision('id-a', 1))?.manifest)).toContain(SECRET);
      } finally {
        await store.close();
      }
    } finally {
      await database.close();
    }
  });
});
