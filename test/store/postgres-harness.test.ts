// The test PostgreSQL (test/support/postgres.ts): a real server per worker, isolated schemas, a restart
// that keeps the data, and a stop that leaves neither a server nor its directory behind.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('test PostgreSQL', () => {
  it('gives each caller a schema of its own, selected by the URL', async () => {
    const server = await testPostgres();
    const a = await server.freshSchema();
    const b = await server.freshSchema();
    expect(a.schema).not.toBe(b.schema);
    await query(a.url, 'CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
    await query(b.url, 'CREATE TABLE t (v int); INSERT INTO t VALUES (2)');
    expect(await query(a.url, 'SELECT v FROM t')).toEqual([{ v: 1 }]);
    expect(await query(b.url, 'SELECT v FROM t')).toEqual([{ v: 2 }]);
    expect(await query(a.url, 'SELECT current_schema() AS s')).toEqual([{ s: a.schema }]);
    // Loopback only.
    expect(await query(server.url, "SELECT current_setting('listen_addresses') AS l")).toEqual([{ l: '127.0.0.1' }]);
  });

  it('is one server per process: a second call answers the same one', async () => {
    expect(await testPostgres()).toBe(await testPostgres());
  });

  it('keeps the data across a restart, and a crash-like one', async () => {
    const server = await testPostgres();
    const { url } = await server.freshSchema();
    await query(url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
    await server.restart();
    expect(await query(url, 'SELECT v FROM kept')).toEqual([{ v: 7 }]);
    // A crash keeps what reached the disk (commits are asynchronous here, so a checkpoint first).
    await query(url, 'CHECKPOINT');
    await server.restart('immediate');
    expect(await query(url, 'SELECT v FROM kept')).toEqual([{ v: 7 }]);
  });

  it('stops: the server refuses connections and its directory is gone; the next call starts another', async () => {
    const server = await testPostgres();
    const [row] = await query<{ dir: string }>(server.url, "SELECT current_setting('data_directory') AS dir");
    const dir = row!.dir;
    expect(existsSync(dir)).toBe(true);
    await server.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
    const next = await testPostgres();
    expect(next).not.toBe(server);
    expect(await query(next.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
