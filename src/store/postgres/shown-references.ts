// Once per database, at open: resources and revisions whose spec masks a secret reference show it as
// written (see ../masked-references.ts). A resource's view is rendered again after (its view_rv cleared).
// On the caller's write transaction (the writer lock): replicas opening together run it once.
import { MASK_JSON, REFERENCES_SHOWN_COUNTER, specShowingReferences } from '../masked-references.js';
import type { SecretCodec } from '../secret-codec.js';
import type { Queryable } from './connection.js';

/** Answers the rows rewritten; nothing is read when the pass has run on this database before. */
export async function showMaskedReferences(client: Queryable, codec: SecretCodec): Promise<number> {
  const done = (await client.query<{ value: number }>('SELECT value FROM counters WHERE name = $1 FOR UPDATE', [REFERENCES_SHOWN_COUNTER])).rows[0]?.value;
  if (done !== 0) return 0;
  let changed = 0;
  for (const [table, key, stale] of [
    ['resources', 'fqn', ', view_rv = NULL'],
    ['revisions', "resource_id || '/' || generation", ''],
  ] as const) {
    // Only rows whose spec holds the mask can mask a reference.
    const { rows } = await client.query<{ k: string; spec: string; secrets: string }>(
      `SELECT ${key} AS k, spec, secrets FROM ${table} WHERE secrets <> '{}' AND strpos(spec, $1) > 0`,
      [MASK_JSON],
    );
    const keys: string[] = [];
    const specs: string[] = [];
    for (const row of rows) {
      const spec = specShowingReferences(row.spec, row.secrets, codec);
      if (spec === undefined) continue;
      keys.push(row.k);
      specs.push(spec);
    }
    if (keys.length > 0) {
      await client.query(`UPDATE ${table} SET spec = v.spec${stale} FROM unnest($1::text[], $2::text[]) AS v(k, spec) WHERE (${key}) = v.k`, [keys, specs]);
    }
    changed += keys.length;
  }
  await client.query('UPDATE counters SET value = 1 WHERE name = $1', [REFERENCES_SHOWN_COUNTER]);
  return changed;
}
