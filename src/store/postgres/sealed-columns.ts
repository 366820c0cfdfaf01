// Sealed JSON columns ({ name: sealed value }) of a PostgreSQL table: sealing values stored in clear
// before encryption was configured, and checking the key against one sealed value, so a wrong key fails
// at startup instead of on the first read.
import type { SecretCodec } from '../secret-codec.js';
import type { Queryable } from './connection.js';

/** The key of each sealed table's rows, as one text. */
const KEYS = { resources: 'fqn', gateway_entries: 'fqn', revisions: "resource_id || '/' || generation" } as const;

/**
 * Seals every stored value the codec does not recognise as sealed, and opens the first sealed one (every
 * value is sealed under the one key). On the caller's write transaction. Answers the rows rewritten.
 */
export async function resealColumn(client: Queryable, table: 'resources' | 'gateway_entries' | 'revisions', column: 'secrets' | 'headers', codec: SecretCodec): Promise<number> {
  const key = KEYS[table];
  const sealed = codec.isSealed?.bind(codec);
  if (!sealed) return 0; // a codec that cannot tell has nothing to reseal (the identity codec)
  const { rows } = await client.query<{ k: string; v: string }>(`SELECT ${key} AS k, ${column} AS v FROM ${table} WHERE ${column} <> '{}'`);
  const keys: string[] = [];
  const values: string[] = [];
  let keyChecked = false;
  for (const row of rows) {
    const stored = JSON.parse(row.v) as Record<string, string>;
    let dirty = false;
    for (const [name, value] of Object.entries(stored)) {
      if (sealed(value)) {
        if (!keyChecked) codec.open(value);
        keyChecked = true;
        continue;
      }
      stored[name] = codec.seal(codec.open(value));
      dirty = true;
    }
    if (dirty) {
      keys.push(row.k);
      values.push(JSON.stringify(stored));
    }
  }
  if (keys.length > 0) {
    await client.query(`UPDATE ${table} SET ${column} = v.value FROM unnest($1::text[], $2::text[]) AS v(k, value) WHERE (${key}) = v.k`, [keys, values]);
  }
  return keys.length;
}
