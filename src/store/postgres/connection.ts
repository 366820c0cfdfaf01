// The connection pool to PostgreSQL, configured the one way every part of the control plane wants it:
// bounded, named (application_name), every statement under a timeout, and an idle-in-transaction timeout
// below the leader lease, so a frozen leader's open transaction (and the lease row lock it holds, see
// src/cluster/fence.ts) ends before another replica could take over. BIGINT columns come back as numbers.
// A connection lost while idle (the server restarted, a session ended by a timeout) is reported through
// onError and replaced on next use; it never crashes the process.
import pg from 'pg';
import { parsePostgresUrl } from './store-url.js';

export { parsePostgresUrl, redactPostgresUrl } from './store-url.js';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface PostgresConnectOptions {
  /** Shown in pg_stat_activity. Default "mcp-control-plane". */
  applicationName?: string;
  /** Connections at most. Default 10. */
  max?: number;
  /**
   * Every statement ends after this long (waits for locks included). Default 10 s. A statement that gets no
   * answer at all (the server unreachable) fails 5 s later on this side, and its connection is dropped.
   */
  statementTimeoutMs?: number;
  /** A session idle inside a transaction this long is ended by the server. Default min(5 s, lease / 3). */
  idleInTransactionTimeoutMs?: number;
  /** The leader lease the idle-in-transaction timeout must stay below. Default 15 s. */
  leaseDurationMs?: number;
  /** Opening a connection fails after this long. Default 5 s. */
  connectTimeoutMs?: number;
  /** An unused connection is closed after this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** A connection failed outside any query (its next user gets a new one). Default: ignored. */
  onError?: (err: Error) => void;
}

const INT8_OID = 20;
/** int8 as a JS number: every counter here (resourceVersion, epoch, ids) stays far below 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function connect(url: string, options: PostgresConnectOptions = {}): pg.Pool {
  parsePostgresUrl(url);
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const idleInTransactionTimeoutMs = options.idleInTransactionTimeoutMs ?? Math.min(5_000, Math.floor(leaseDurationMs / 3));
  if (!(idleInTransactionTimeoutMs > 0 && idleInTransactionTimeoutMs < leaseDurationMs)) {
    throw new Error(
      `idleInTransactionTimeoutMs (${idleInTransactionTimeoutMs}) must be above 0 and below the lease duration (${leaseDurationMs} ms), ` +
        'so a frozen leader cannot hold the lease row past its lease',
    );
  }
  const onError = options.onError ?? (() => {});
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: url,
    application_name: options.applicationName ?? 'mcp-control-plane',
    max: options.max ?? 10,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 5_000,
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    keepAlive: true,
    types,
  });
  // An idle connection's failure reaches the pool; a checked-out one's reaches the client itself, which
  // would throw it (an 'error' without a listener) when no query is running.
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/** A client of the pool, or none when `pool.connect()` fails. */
export type PoolLike = Pick<pg.Pool, 'connect'>;

/**
 * Runs fn in a transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws (the error
 * is rethrown). A transaction the server aborted (fn swallowed a failed statement) throws instead of
 * reporting success. A connection whose ROLLBACK failed is closed, not returned to the pool.
 */
export async function inTransaction<T>(pool: PoolLike, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    const commit = await client.query('COMMIT');
    if (commit.command !== 'COMMIT') throw new Error('The transaction was aborted by an earlier failed statement and rolled back');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
