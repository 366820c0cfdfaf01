// Sealed JSON columns ({ name: sealed value }) of a PostgreSQL table: sealing values stored in clear
// before encryption was configured, and checking the key against one sealed value, so a wrong key fails
// at startup instead of on the first read.
import type { SecretCodec } from '../secret-codec.js';
import { resealerOf } from '../sealed-values.js';
import type { Queryable } from './connection.js';

/** The key of each sealed table's rows, as one text. */
const KEYS = {
  resources: 'fqn',
  gateway_entries: 'fqn',
  revisions: "resource_id || '/' || generation",
  credentials: "fqn || '/' || subject || '/' || kind",
  oauth_states: 'id',
} as const;

/**
 * Seals every stored value the codec does not recognise as sealed, and opens the first sealed one (every
 * value is sealed under the one key). On the caller's write transaction. Answers the rows rewritten.
 */
export async function resealColumn(client: Queryable, table: keyof typeof KEYS, column: 'secrets' | 'headers', codec: SecretCodec): Promise<number> {
  const key = KEYS[table];
  const resealer = resealerOf(codec);
  if (!resealer) return 0; // a codec that cannot tell has nothing to reseal (the identity codec)
  const { rows } = await client.query<{ k: string; v: string }>(`SELECT ${key} AS k, ${column} AS v FROM ${table} WHERE ${column} <> '{}'`);
  const keys: string[] = [];
  const values: string[] = [];
  for (const row of rows) {
    const resealed = resealer.reseal(row.v);
    if (resealed === undefined) continue;
    keys.push(row.k);
    values.push(resealed);
  }
  if (keys.length > 0) {
    await client.query(`UPDATE ${table} SET ${column} = v.value FROM unnest($1::text[], $2::text[]) AS v(k, value) WHERE (${key}) = v.k`, [keys, values]);
  }
  return keys.length;
}
