// The PostgreSQL schema: migrated once under concurrency, all or nothing, mirroring the SQLite stores'
// columns, and refused (with both versions named) by a build older than the database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { connect } from '../../src/store/postgres/connection.js';
import {
  checkSchemaVersion,
  migrate,
  POSTGRES_SCHEMA_VERSION,
  postgresMigrations,
  SchemaTooNewError,
} from '../../src/store/postgres/migrations.js';
import { migrate as sqliteMigrate } from '../../src/store/sqlite/migrations.js';
import { controlPlaneMigrations } from '../../src/store/sqlite/resource-migrations.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

describe('PostgreSQL migrations', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const pools: pg.Pool[] = [];
  let lastUrl = '';
  async function freshPool(): Promise<pg.Pool> {
    const { url } = await (await testPostgres()).freshSchema();
    lastUrl = url;
    const pool = connect(url);
    pools.push(pool);
    return pool;
  }
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  async function tables(pool: pg.Pool): Promise<string[]> {
    const rows = await pool.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1');
    return rows.rows.map((r) => r.t);
  }

  it('creates the schema once; a second run changes nothing', async () => {
    const pool = await freshPool();
    expect(await migrate(pool)).toEqual({ from: 0, to: POSTGRES_SCHEMA_VERSION });
    expect(await tables(pool)).toEqual([
      'changelog', 'counters', 'credentials', 'events', 'gateway_entries', 'leases', 'oauth_states', 'replicas', 'resource_counts', 'resource_readers', 'resource_tags', 'resources', 'revisions', 'schema_migrations', 'secret_key_canary', 'source_files', 'write_rate_limits',
    ]);
    expect((await pool.query("SELECT value FROM counters WHERE name = 'resource_version'")).rows).toEqual([{ value: 0 }]);
    expect(await migrate(pool)).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
    expect(await checkSchemaVersion(pool)).toBe(POSTGRES_SCHEMA_VERSION);
  });

  it('migrates once when several replicas start together (advisory lock)', async () => {
    const first = await freshPool();
    const others = Array.from({ length: 4 }, () => connect(lastUrl));
    pools.push(...others);
    const results = await Promise.all([first, ...others].map((p) => migrate(p)));
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect((await first.query('SELECT version FROM schema_migrations')).rows).toEqual(postgresMigrations.map((m) => ({ version: m.version })));
  });

  it('has the columns of the SQLite stores (the ports write the same rows)', async () => {
    const pool = await freshPool();
    await migrate(pool);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-cp-pg-mirror-'));
    try {
      const resources = new Database(join(dir, 'cp.db'));
      sqliteMigrate(resources, controlPlaneMigrations);
      resources.close();
      await new SqliteGatewayStore({ path: join(dir, 'gateway.db') }).close();
      const sqliteColumns = (file: string, table: string) => {
        const db = new Database(join(dir, file), { readonly: true });
        try {
          return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name).sort();
        } finally {
          db.close();
        }
      };
      for (const [file, table] of [
        ['cp.db', 'resources'], ['cp.db', 'changelog'], ['cp.db', 'events'], ['cp.db', 'source_files'], ['cp.db', 'counters'],
        ['gateway.db', 'gateway_entries'],
      ] as const) {
        const pgColumns = (await pool.query<{ c: string }>(
          'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table],
        )).rows.map((r) => r.c).sort();
        expect({ table, columns: pgColumns }).toEqual({ table, columns: sqliteColumns(file, table) });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is all or nothing: a failing migration leaves the schema as it was', async () => {
    const pool = await freshPool();
    const broken = [...postgresMigrations, { version: POSTGRES_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE x (; ' }];
    await expect(migrate(pool, broken)).rejects.toThrow(/syntax error/);
    expect(await tables(pool)).toEqual([]);
  });

  it('refuses a database newer than this build, naming both versions, and changes nothing', async () => {
    const pool = await freshPool();
    const newer = [...postgresMigrations, { version: POSTGRES_SCHEMA_VERSION + 1, name: 'later', sql: 'CREATE TABLE later_feature (id int)' }];
    await migrate(pool, newer);
    const before = await tables(pool);
    const refused = migrate(pool);
    await expect(refused).rejects.toThrow(SchemaTooNewError);
    await expect(refused).rejects.toThrow(
      `The PostgreSQL schema is at version ${POSTGRES_SCHEMA_VERSION + 1}, newer than this build of the control plane knows (up to version ${POSTGRES_SCHEMA_VERSION})`,
    );
    await expect(checkSchemaVersion(pool)).rejects.toThrow(SchemaTooNewError);
    expect(await tables(pool)).toEqual(before);
  });

  it('checkSchemaVersion names both versions when a migration is due', async () => {
    const pool = await freshPool();
    await expect(checkSchemaVersion(pool)).rejects.toThrow(`The PostgreSQL schema is at version 0, older than this build's version ${POSTGRES_SCHEMA_VERSION}`);
  });
});
