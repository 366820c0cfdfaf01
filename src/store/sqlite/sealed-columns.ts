// Sealed JSON columns of a SQLite table ({ name: sealed value }): checking the key at open, and sealing
// values stored in clear before encryption was configured. Shared by both SQLite stores.
import type Database from 'better-sqlite3';
import type { SecretCodec } from '../secret-codec.js';
import { resealerOf } from '../sealed-values.js';

/**
 * Opens the first sealed value of a column, so a wrong key fails at startup; answers false when the
 * column holds none (nothing to check, or values stored before encryption: resealColumn's work).
 */
export function checkColumnKey(db: Database.Database, table: string, column: string, codec: SecretCodec): boolean {
  const sealed = codec.isSealed?.bind(codec);
  if (!sealed) return false;
  for (const stored of db.prepare(`SELECT ${column} FROM ${table} WHERE ${column} <> '{}'`).pluck().iterate()) {
    const value = Object.values(JSON.parse(stored as string) as Record<string, string>).find(sealed);
    if (value === undefined) return false;
    codec.open(value);
    return true;
  }
  return false;
}

/**
 * Seals every stored value the codec does not recognise as sealed, and opens the first sealed one so a
 * wrong key fails at startup instead of on the first read. One is enough: every value is sealed under
 * the one key of the data directory, and opening them all took a third of a second per 10,000 servers
 * at each start. When something was rewritten, the file is vacuumed and the WAL truncated, so the old
 * clear text is gone from the disk too. Answers the rows rewritten.
 */
export function resealColumn(db: Database.Database, table: string, keyColumn: string, column: string, codec: SecretCodec): number {
  const resealer = resealerOf(codec);
  if (!resealer) return 0; // a codec that cannot tell has nothing to reseal (the identity codec)
  const rows = db.prepare(`SELECT ${keyColumn} AS k, ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL`).all() as { k: string; v: string }[];
  const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${keyColumn} = ?`);
  let changed = 0;
  db.transaction(() => {
    for (const row of rows) {
      const resealed = resealer.reseal(row.v);
      if (resealed === undefined) continue;
      update.run(resealed, row.k);
      changed++;
    }
  })();
  if (changed > 0) {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return changed;
}
