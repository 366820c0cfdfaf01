// The test PostgreSQL (test/support/postgres.ts): a real server per worker, isolated schemas, a restart
// that keeps the data, and a stop that leaves neither a server nor its directory behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from '@swc/core';
import pg from 'pg';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const SUPPORT = join(dirname(fileURLToPath(import.meta.url)), '..', 'support');

/**
 * The harness as plain ES modules in a temp directory (swc strips the types, 'pg' points at this
 * checkout's copy), so a child process can run it the way a jest worker does.
 */
function harnessForChild(dir: string): string {
  const pgEntry = pathToFileURL(createRequire(import.meta.url).resolve('pg')).href;
  for (const name of ['postgres', 'peer-process', 'wait-for', 'system-binary']) {
    const source = readFileSync(join(SUPPORT, `${name}.ts`), 'utf8');
    const { code } = transformSync(source, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } });
    writeFileSync(join(dir, `${name}.js`), code.replace(/from ['"]pg['"]/g, `from '${pgEntry}'`));
  }
  const main = join(dir, 'main.mjs');
  writeFileSync(main, [
    "import { testPostgres } from './postgres.js';",
    'const server = await testPostgres();',
    "process.stdout.write(server.url + '\\n');",
    'setInterval(() => {}, 60_000);',
  ].join('\n'));
  return main;
}

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
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
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
    // Another server (initdb and start): seconds on a busy machine, hence the start timeout of a beforeAll.
    const next = await testPostgres();
    expect(next).not.toBe(server);
    expect(await query(next.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  }, POSTGRES_START_TIMEOUT_MS);

  it('leaves no server and no directory behind when its process is killed (SIGKILL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-cp-pg-child-'));
    try {
      const child = spawn(process.execPath, [harnessForChild(dir)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const url = await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`the child exited: ${err}`);
        return out.includes('\n') ? out.trim() : undefined;
      }, { what: 'the child\'s server', timeoutMs: 60_000 });
      const [row] = await query<{ dir: string }>(url, "SELECT current_setting('data_directory') AS dir");
      const dataDir = row!.dir;
      child.kill('SIGKILL');
      await waitFor(async () => !existsSync(dataDir) && (await query(url, 'SELECT 1').then(() => false, () => true)), {
        what: 'the server stopped and its directory removed',
        timeoutMs: 30_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
