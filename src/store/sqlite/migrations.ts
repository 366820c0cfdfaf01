// Opening a SQLite file the way both SQLite stores want it, and running their versioned schema
// migrations. Append only: a shipped migration is never edited.
import Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').all().map((r) => (r as { version: number }).version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
}

/**
 * The size the write-ahead log is truncated to when it starts over after a checkpoint (journal_size_limit).
 * Without it the file keeps the size of its largest burst for good (a cold sync of 10,000 servers:
 * ≈114 MB). 16 MiB is four times the log's steady size (the automatic checkpoint runs at 1,000 pages of
 * 4 KiB, ≈4 MiB), so everyday writes never pay for truncating and growing the file again.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Each connection's page cache, in KiB (cache_size). It is malloc'd and kept: better-sqlite3 builds SQLite
 * with 16 MB per connection (SQLite's own default is 2 MB), which a 10,000-server store fills (a list of
 * 1,000 servers reads ≈650 pages of views, a cold sync every page of the table) and keeps for good, on every
 * connection (control-plane.db; gateway.db on each thread). A page beyond it is read again from the OS's file
 * cache, one pread, which costs little next to what the cache would hold.
 */
export const PAGE_CACHE_KIB = 2048;

/**
 * Opens a SQLite file (or ":memory:") in WAL with the pragmas every store here wants, migrated. Commits run
 * at synchronous=NORMAL (in WAL mode: no fsync at commit, both files fsynced at each checkpoint); a store that
 * promises more fsyncs the WAL itself before it acknowledges (--durability full: wal-sync.ts).
 */
export function openDatabase(path: string, migrations: readonly Migration[]): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  migrate(db, migrations);
  return db;
}
