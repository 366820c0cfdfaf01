// The shared secret key, checked before a replica touches the data: the first replica on a database seals
// a canary value with its key and stores it; every replica after it must open that value with its own
// key, or it refuses to start (a replica with another key would write secrets no other replica can read,
// and fail to read theirs). One row (the table: migration 5, src/store/postgres/migrations.ts), made by the
// first caller: replicas starting together insert it at once, and the primary key keeps the first one, so
// they agree on one canary.
import type pg from 'pg';
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
 * Seals the canary when the database (migrated) has none; otherwise opens it. Answers 'created' or 'matched';
 * throws SecretKeyMismatchError when the codec's key is another.
 */
export async function checkSecretKeyCanary(pool: Pick<pg.Pool, 'query'>, codec: SecretCodec): Promise<'created' | 'matched'> {
  // A second inserter waits for the first one's commit, then inserts nothing and reads its row.
  const inserted = await pool.query('INSERT INTO secret_key_canary (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [codec.seal(CANARY_TEXT)]);
  if (inserted.rowCount === 1) return 'created';
  const { rows } = await pool.query<{ sealed: string }>('SELECT sealed FROM secret_key_canary WHERE id = 1');
  const sealed = rows[0]!.sealed;
  let opened: string | undefined;
  try {
    opened = codec.open(sealed);
  } catch {
    throw new SecretKeyMismatchError();
  }
  if (opened !== CANARY_TEXT) throw new SecretKeyMismatchError();
  return 'matched';
}
