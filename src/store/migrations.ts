// Versioned schema migrations. Append only: a shipped migration is never edited.
import type Database from 'better-sqlite3';

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

/** Opens a SQLite file (or ":memory:") the way every store here wants it. */
export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}

export const controlPlaneMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'resources, changelog, events',
    sql: `
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO counters (name, value) VALUES ('resource_version', 0);
      CREATE TABLE resources (
        id TEXT PRIMARY KEY,
        fqn TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        secrets TEXT NOT NULL,
        spec_hash TEXT NOT NULL,
        generation INTEGER NOT NULL,
        resource_version INTEGER NOT NULL,
        source TEXT NOT NULL,
        metadata TEXT NOT NULL,
        account_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL
      );
      CREATE INDEX resources_tenant_name ON resources (tenant, name);
      CREATE TABLE changelog (
        resource_version INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        fqn TEXT NOT NULL,
        object TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fqn TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        type TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        actor TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_ts TEXT NOT NULL,
        last_ts TEXT NOT NULL
      );
      CREATE INDEX events_fqn ON events (fqn, id);
      CREATE INDEX events_last_ts ON events (last_ts);
    `,
  },
  {
    version: 2,
    name: 'source files: what each cleanly applied manifest file held',
    sql: `
      CREATE TABLE source_files (
        root TEXT NOT NULL,
        path TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        names TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (root, path)
      );
    `,
  },
  {
    version: 3,
    name: 'resources: the view each read answers (rendered by the store; format 0 renders every row at open)',
    sql: `
      ALTER TABLE resources ADD COLUMN view TEXT;
      INSERT INTO counters (name, value) VALUES ('view_format', 0);
    `,
  },
  {
    version: 4,
    name: 'events: keyed by resource id (a name deleted and created again starts a new history)',
    sql: `
      CREATE INDEX events_resource ON events (resource_id, id);
      DROP INDEX events_fqn;
    `,
  },
];
