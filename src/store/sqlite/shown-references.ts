// Once per database, at open: resources and revisions whose spec masks a secret reference show it as
// written (see ../masked-references.ts). A resource's view is rendered again after (its view_rv cleared).
import type Database from 'better-sqlite3';
import { MASK_JSON, REFERENCES_SHOWN_COUNTER, specShowingReferences } from '../masked-references.js';
import type { SecretCodec } from '../secret-codec.js';

/** Answers the rows rewritten; nothing is read when the pass has run on this database before. */
export function showMaskedReferences(db: Database.Database, codec: SecretCodec): number {
  const done = db.prepare('SELECT value FROM counters WHERE name = ?').pluck().get(REFERENCES_SHOWN_COUNTER) as number | undefined;
  if (done !== 0) return 0;
  let changed = 0;
  db.transaction(() => {
    for (const [table, key, stale] of [
      ['resources', 'fqn', ', view_rv = NULL'],
      ['revisions', 'rowid', ''],
    ] as const) {
      // Only rows whose spec holds the mask can mask a reference.
      const rows = db.prepare(`SELECT ${key} AS k, spec, secrets FROM ${table} WHERE secrets <> '{}' AND instr(spec, ?) > 0`).all(MASK_JSON) as { k: string; spec: string; secrets: string }[];
      const update = db.prepare(`UPDATE ${table} SET spec = ?${stale} WHERE ${key} = ?`);
      for (const row of rows) {
        const spec = specShowingReferences(row.spec, row.secrets, codec);
        if (spec === undefined) continue;
        update.run(spec, row.k);
        changed++;
      }
    }
    db.prepare('UPDATE counters SET value = 1 WHERE name = ?').run(REFERENCES_SHOWN_COUNTER);
  })();
  return changed;
}
