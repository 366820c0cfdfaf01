// connect(): the pool's session settings, the URL checks, and inTransaction's outcomes, on a real server.
import pg from 'pg';
import { connect, inTransaction, redactPostgresUrl } from '../../src/store/postgres/connection.js';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

describe('PostgreSQL connection', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let url: string;
  const pools: pg.Pool[] = [];
  function pool(options?: Parameters<typeof connect>[1]): pg.Pool {
    const p = connect(url, options);
    pools.push(p);
    return p;
  }
  beforeAll(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('names the session, bounds statements and idle transactions below the lease, and reads int8 as a number', async () => {
    const p = pool({ applicationName: 'replica-a', statementTimeoutMs: 7000, leaseDurationMs: 6000 });
    const { rows } = await p.query(`SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,
      current_setting('idle_in_transaction_session_timeout') AS idle, 9007199254740991::int8 AS big`);
    expect(rows).toEqual([{ app: 'replica-a', st: '7s', idle: '2s', big: 9007199254740991 }]);
    const defaults = await pool().query(`SELECT current_setting('application_name') AS app,
      current_setting('idle_in_transaction_session_timeout') AS idle`);
    expect(defaults.rows).toEqual([{ app: 'mcp-control-plane', idle: '5s' }]);
  });

  it('cancels a statement that runs past the statement timeout', async () => {
    // The statement waits on a lock another session holds, so it can only end by the timeout cancelling it.
    const holder = await pool().connect();
    await holder.query('SELECT pg_advisory_lock(4242)');
    const p = pool({ statementTimeoutMs: 100 });
    try {
      await expect(p.query('SELECT pg_advisory_lock(4242)')).rejects.toThrow('canceling statement due to statement timeout');
    } finally {
      await holder.query('SELECT pg_advisory_unlock(4242)');
      holder.release();
    }
    expect((await p.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses an idle-in-transaction timeout not below the lease, and a URL of another kind', () => {
    expect(() => connect(url, { leaseDurationMs: 1000, idleInTransactionTimeoutMs: 1000 })).toThrow(
      'idleInTransactionTimeoutMs (1000) must be above 0 and below the lease duration (1000 ms)',
    );
    expect(() => connect('sqlite:/var/lib/cp.db')).toThrow('The store URL\'s scheme is "sqlite:": expected postgres://user:password@host:port/database');
    expect(() => connect('not a url')).toThrow('The store URL is not a URL');
    expect(redactPostgresUrl('postgres://cp:s3cret@db:5432/cp')).toBe('postgres://cp:***@db:5432/cp');
  });

  it('commits, rolls back on a throw, and does not report a transaction the server aborted as committed', async () => {
    const p = pool();
    await p.query('CREATE TABLE tx (v int PRIMARY KEY)');
    await inTransaction(p, (c) => c.query('INSERT INTO tx VALUES (1)'));
    await expect(inTransaction(p, async (c) => {
      await c.query('INSERT INTO tx VALUES (2)');
      throw new Error('no');
    })).rejects.toThrow('no');
    await expect(inTransaction(p, async (c) => {
      await c.query('INSERT INTO tx VALUES (3)');
      await c.query('INSERT INTO tx VALUES (1)').catch(() => undefined);
    })).rejects.toThrow('The transaction was aborted by an earlier failed statement and rolled back');
    expect((await p.query('SELECT v FROM tx ORDER BY v')).rows).toEqual([{ v: 1 }]);
  });

  it('ends a frozen transaction after the idle timeout: its row lock frees, and the process lives on', async () => {
    const errors: Error[] = [];
    const frozen = pool({ leaseDurationMs: 3000, idleInTransactionTimeoutMs: 1000, onError: (e) => errors.push(e) });
    const other = pool();
    await other.query('CREATE TABLE held (id int PRIMARY KEY, v int); INSERT INTO held VALUES (1, 0)');
    const client = await frozen.connect();
    await client.query('BEGIN');
    await client.query('SELECT * FROM held WHERE id = 1 FOR UPDATE');
    // The frozen session sends nothing more; the other writer waits for its lock, then gets it.
    await other.query('UPDATE held SET v = 1 WHERE id = 1');
    await waitFor(() => errors.length > 0, { what: 'the ended session reported through onError' });
    expect(errors[0]!.message).toMatch(/idle-in-transaction timeout/);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    // The pool serves again with a new connection.
    expect((await frozen.query('SELECT v FROM held')).rows).toEqual([{ v: 1 }]);
  });
});
