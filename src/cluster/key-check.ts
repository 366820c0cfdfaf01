// The shared secret key, checked before a replica touches the data: the first replica on a database seals
// a canary value with its key and stores it; every replica after it must open that value with its own
// key, or it refuses to start (a replica with another key would write secrets no other replica can read,
// and fail to read theirs). One row, made by the first caller: the check runs in one transaction under an
// advisory lock keyed by the schema, so replicas starting together agree on one canary.
//
// The table is the cluster's own, made here if missing: it is not part of the resource schema.
import { inTransaction, type PoolLike } from '../store/postgres/connection.js';
import type { SecretCodec } from '../store/secret-codec.js';
import { SECRET_KEY_ENV } from '../store/secret-codec.js';

/** What the canary holds: a value only its sealing key opens to. */
const CANARY_TEXT = 'mcp-control-plane secret key canary v1';

/** The replica's secret key is not the one the database was sealed with: it must not start. */
export class SecretKeyMismatchError extends Error {
  constructor() {
    super(
      `${SECRET_KEY_ENV} does not open the secrets stored in this PostgreSQL database (its key canary, sealed by the first replica, ` +
        `does not decrypt): give every replica the same ${SECRET_KEY_ENV}. This replica refuses to start.`,
    );
    this.name = 'SecretKeyMismatchError';
  }
}

/**
 * Seals the canary when the database has none; otherwise opens it. Answers 'created' or 'matched';
 * throws SecretKeyMismatchError when the codec's key is another.
 */
export async function checkSecretKeyCanary(pool: PoolLike, codec: SecretCodec): Promise<'created' | 'matched'> {
  const sealed = await inTransaction(pool, async (db) => {
    await db.query("SELECT pg_advisory_xact_lock(hashtext('mcp-control-plane key canary ' || current_schema()))");
    await db.query(`CREATE TABLE IF NOT EXISTS secret_key_canary (
      id INTEGER PRIMARY KEY CHECK (id = 1), sealed TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await db.query<{ sealed: string }>('SELECT sealed FROM secret_key_canary WHERE id = 1');
    if (rows[0]) return rows[0].sealed;
    await db.query('INSERT INTO secret_key_canary (id, sealed) VALUES (1, $1)', [codec.seal(CANARY_TEXT)]);
    return undefined;
  });
  if (sealed === undefined) return 'created';
  let opened: string | undefined;
  try {
    opened = codec.open(sealed);
  } catch {
    throw new SecretKeyMismatchError();
  }
  if (opened !== CANARY_TEXT) throw new SecretKeyMismatchError();
  return 'matched';
}
