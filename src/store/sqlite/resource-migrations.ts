// The resource store's schema. Append only: a shipped migration is never edited.
import type { Migration } from './migrations.js';

/** A row's managing source as resource_counts keys it: "api", or the watched directory's root. */
const sourceOf = (row: string) => `CASE json_extract(${row}.source, '$.kind') WHEN 'api' THEN 'api' ELSE coalesce(json_extract(${row}.source, '$.root'), '') END`;
/** The status of a row's Ready condition; Unknown when it has none. */
const readyOf = (row: string) =>
  `coalesce((SELECT json_extract(c.value, '$.status') FROM json_each(${row}.status, '$.conditions') AS c WHERE json_extract(c.value, '$.type') = 'Ready'), 'Unknown')`;
/** Admission policies share the table and are not servers: not counted. */
const isServer = (row: string) => `instr(${row}.fqn, ':mcp-policy:') = 0`;

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
  {
    version: 5,
    name: 'resources: the resourceVersion each view was rendered at (format 0: every view is rendered again at open)',
    sql: `
      ALTER TABLE resources ADD COLUMN view_rv INTEGER;
      UPDATE counters SET value = 0 WHERE name = 'view_format';
    `,
  },
  {
    version: 6,
    name: 'revisions: one per generation of each resource (spec masked, secrets sealed), kept after its removal for a while',
    sql: `
      CREATE TABLE revisions (
        resource_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        fqn TEXT NOT NULL,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        secrets TEXT NOT NULL,
        diff TEXT NOT NULL,
        source TEXT NOT NULL,
        origin TEXT NOT NULL,
        subject TEXT NOT NULL,
        account_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        PRIMARY KEY (resource_id, generation)
      );
      CREATE INDEX revisions_fqn ON revisions (fqn);
      CREATE INDEX revisions_deleted_at ON revisions (deleted_at) WHERE deleted_at IS NOT NULL;
    `,
  },
  {
    version: 7,
    name: "changelog by fqn: a status write's entry (type STATUS) keeps only the status, read with the full entry before it",
    sql: `
      CREATE INDEX changelog_fqn ON changelog (fqn, resource_version);
    `,
  },
  {
    version: 8,
    name: 'resource_tags and resource_readers: tag selectors and read access answered from indexes, kept by triggers',
    // Derived from the spec column (the masked manifest's JSON: tags, collaborators) and account_id by the
    // database itself, so every write path (and a row edited out of band) keeps them. A status or view write
    // sets neither column: no trigger runs for it.
    sql: `
      CREATE TABLE resource_tags (
        tenant TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        name TEXT NOT NULL,
        fqn TEXT NOT NULL,
        PRIMARY KEY (tenant, tag_key, tag_value, name)
      ) WITHOUT ROWID;
      CREATE INDEX resource_tags_fqn ON resource_tags (fqn);
      CREATE TABLE resource_readers (
        tenant TEXT NOT NULL,
        account_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        name TEXT NOT NULL,
        fqn TEXT NOT NULL,
        PRIMARY KEY (tenant, account_id, subject, name)
      ) WITHOUT ROWID;
      CREATE INDEX resource_readers_fqn ON resource_readers (fqn, subject);
      CREATE TRIGGER resources_index_insert AFTER INSERT ON resources BEGIN
        INSERT OR IGNORE INTO resource_tags (tenant, tag_key, tag_value, name, fqn)
          SELECT NEW.tenant, t.key, t.value, NEW.name, NEW.fqn FROM json_each(NEW.spec, '$.tags') AS t WHERE t.type = 'text';
        INSERT OR IGNORE INTO resource_readers (tenant, account_id, subject, name, fqn)
          SELECT NEW.tenant, NEW.account_id, json_extract(c.value, '$.subject'), NEW.name, NEW.fqn
          FROM json_each(NEW.spec, '$.collaborators') AS c WHERE json_type(c.value, '$.subject') = 'text';
      END;
      CREATE TRIGGER resources_index_update AFTER UPDATE OF spec, account_id, tenant, name, fqn ON resources
        WHEN OLD.spec IS NOT NEW.spec OR OLD.account_id IS NOT NEW.account_id OR OLD.tenant IS NOT NEW.tenant
          OR OLD.name IS NOT NEW.name OR OLD.fqn IS NOT NEW.fqn BEGIN
        DELETE FROM resource_tags WHERE fqn = OLD.fqn;
        DELETE FROM resource_readers WHERE fqn = OLD.fqn;
        INSERT OR IGNORE INTO resource_tags (tenant, tag_key, tag_value, name, fqn)
          SELECT NEW.tenant, t.key, t.value, NEW.name, NEW.fqn FROM json_each(NEW.spec, '$.tags') AS t WHERE t.type = 'text';
        INSERT OR IGNORE INTO resource_readers (tenant, account_id, subject, name, fqn)
          SELECT NEW.tenant, NEW.account_id, json_extract(c.value, '$.subject'), NEW.name, NEW.fqn
          FROM json_each(NEW.spec, '$.collaborators') AS c WHERE json_type(c.value, '$.subject') = 'text';
      END;
      CREATE TRIGGER resources_index_delete AFTER DELETE ON resources BEGIN
        DELETE FROM resource_tags WHERE fqn = OLD.fqn;
        DELETE FROM resource_readers WHERE fqn = OLD.fqn;
      END;
      INSERT OR IGNORE INTO resource_tags (tenant, tag_key, tag_value, name, fqn)
        SELECT r.tenant, t.key, t.value, r.name, r.fqn FROM resources AS r, json_each(r.spec, '$.tags') AS t WHERE t.type = 'text';
      INSERT OR IGNORE INTO resource_readers (tenant, account_id, subject, name, fqn)
        SELECT r.tenant, r.account_id, json_extract(c.value, '$.subject'), r.name, r.fqn
        FROM resources AS r, json_each(r.spec, '$.collaborators') AS c WHERE json_type(c.value, '$.subject') = 'text';
    `,
  },
  {
    version: 9,
    name: 'resources: what a resync compares (fqn, generation, observed generation) in a covering index',
    // syncStates reads it without touching the rows (≈4 KB each: a table scan at 50,000 cost 3× as much).
    // The expression must stay the very one resource-reads.ts selects.
    sql: `CREATE INDEX resources_sync_states ON resources (fqn, generation, json_extract(status, '$.observedGeneration'));`,
  },
  {
    version: 10,
    name: 'specs show secret references as written: 0 until the pass at open has shown those older builds masked (shown-references.ts)',
    sql: `INSERT INTO counters (name, value) VALUES ('references_shown', 0);`,
  },
  {
    version: 11,
    name: 'resource_counts (servers by tenant, source and Ready status, kept by triggers); revisions keep no copy of their live row\'s spec; resources by account',
    // resource_counts: what /metrics reads. A status write runs the update trigger only when the status
    // text changed; the counts move only when the Ready status, the source or the tenant did. Rows at 0
    // stay (a few per source).
    // revisions: spec and secrets become NULL for the revision of a live resource's current generation
    // (read from the row, see revision-rows.ts); the keep-spec triggers copy the row's into it when the
    // generation moves on or the row is deleted. The table is rebuilt for the nullable columns.
    // resources_account: a project's servers (ListQuery.account) in name order.
    sql: `
      CREATE TABLE resource_counts (
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        ready TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, source, ready)
      ) WITHOUT ROWID;
      CREATE TRIGGER resource_counts_insert AFTER INSERT ON resources WHEN ${isServer('NEW')} BEGIN
        INSERT INTO resource_counts (tenant, source, ready, count) VALUES (NEW.tenant, ${sourceOf('NEW')}, ${readyOf('NEW')}, 1)
          ON CONFLICT (tenant, source, ready) DO UPDATE SET count = count + 1;
      END;
      CREATE TRIGGER resource_counts_delete AFTER DELETE ON resources WHEN ${isServer('OLD')} BEGIN
        UPDATE resource_counts SET count = count - 1 WHERE tenant = OLD.tenant AND source = ${sourceOf('OLD')} AND ready = ${readyOf('OLD')};
      END;
      CREATE TRIGGER resource_counts_update AFTER UPDATE OF status, source, tenant, fqn ON resources
        WHEN (OLD.status IS NOT NEW.status OR OLD.source IS NOT NEW.source OR OLD.tenant IS NOT NEW.tenant OR OLD.fqn IS NOT NEW.fqn)
          AND (${isServer('OLD')} OR ${isServer('NEW')})
          AND (OLD.tenant IS NOT NEW.tenant OR OLD.fqn IS NOT NEW.fqn OR ${sourceOf('OLD')} IS NOT ${sourceOf('NEW')} OR ${readyOf('OLD')} IS NOT ${readyOf('NEW')}) BEGIN
        UPDATE resource_counts SET count = count - 1
          WHERE ${isServer('OLD')} AND tenant = OLD.tenant AND source = ${sourceOf('OLD')} AND ready = ${readyOf('OLD')};
        INSERT INTO resource_counts (tenant, source, ready, count) SELECT NEW.tenant, ${sourceOf('NEW')}, ${readyOf('NEW')}, 1 WHERE ${isServer('NEW')}
          ON CONFLICT (tenant, source, ready) DO UPDATE SET count = count + 1;
      END;
      INSERT INTO resource_counts (tenant, source, ready, count)
        SELECT tenant, source, ready, count(*) FROM (SELECT r.tenant AS tenant, ${sourceOf('r')} AS source, ${readyOf('r')} AS ready FROM resources AS r WHERE ${isServer('r')})
        GROUP BY tenant, source, ready;
      CREATE TABLE revisions_compact (
        resource_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        fqn TEXT NOT NULL,
        name TEXT NOT NULL,
        spec TEXT,
        secrets TEXT,
        diff TEXT NOT NULL,
        source TEXT NOT NULL,
        origin TEXT NOT NULL,
        subject TEXT NOT NULL,
        account_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        PRIMARY KEY (resource_id, generation)
      );
      INSERT INTO revisions_compact (resource_id, generation, fqn, name, spec, secrets, diff, source, origin, subject, account_id, created_at, deleted_at)
        SELECT v.resource_id, v.generation, v.fqn, v.name, CASE WHEN r.id IS NULL THEN v.spec END, CASE WHEN r.id IS NULL THEN v.secrets END,
          v.diff, v.source, v.origin, v.subject, v.account_id, v.created_at, v.deleted_at
        FROM revisions AS v LEFT JOIN resources AS r
          ON r.id = v.resource_id AND r.generation = v.generation AND r.spec = v.spec AND r.secrets = v.secrets AND v.deleted_at IS NULL;
      DROP TABLE revisions;
      ALTER TABLE revisions_compact RENAME TO revisions;
      CREATE INDEX revisions_fqn ON revisions (fqn);
      CREATE INDEX revisions_deleted_at ON revisions (deleted_at) WHERE deleted_at IS NOT NULL;
      CREATE TRIGGER revisions_keep_spec_update AFTER UPDATE OF generation ON resources WHEN OLD.generation IS NOT NEW.generation BEGIN
        UPDATE revisions SET spec = OLD.spec, secrets = OLD.secrets WHERE resource_id = OLD.id AND generation = OLD.generation AND spec IS NULL;
      END;
      CREATE TRIGGER revisions_keep_spec_delete AFTER DELETE ON resources BEGIN
        UPDATE revisions SET spec = OLD.spec, secrets = OLD.secrets WHERE resource_id = OLD.id AND generation = OLD.generation AND spec IS NULL;
      END;
      CREATE INDEX resources_account ON resources (tenant, account_id, name);
    `,
  },
  {
    version: 12,
    name: "changelog: a live resource's latest status entry keeps no copy of its status (NULL, read from the row)",
    // The status entry of a live resource's current resourceVersion holds NULL: its status is the row's
    // (see change-rows.ts); the keep-status triggers copy the row's into it when the resourceVersion moves
    // on or the row is deleted. The table is rebuilt for the nullable column; entries written before keep
    // their status.
    sql: `
      CREATE TABLE changelog_nullable (
        resource_version INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        fqn TEXT NOT NULL,
        object TEXT,
        at TEXT NOT NULL
      );
      INSERT INTO changelog_nullable (resource_version, type, fqn, object, at) SELECT resource_version, type, fqn, object, at FROM changelog;
      DROP TABLE changelog;
      ALTER TABLE changelog_nullable RENAME TO changelog;
      CREATE INDEX changelog_fqn ON changelog (fqn, resource_version);
      CREATE TRIGGER changelog_keep_status_update AFTER UPDATE OF resource_version ON resources
        WHEN OLD.resource_version IS NOT NEW.resource_version BEGIN
        UPDATE changelog SET object = OLD.status WHERE resource_version = OLD.resource_version AND object IS NULL;
      END;
      CREATE TRIGGER changelog_keep_status_delete AFTER DELETE ON resources BEGIN
        UPDATE changelog SET object = OLD.status WHERE resource_version = OLD.resource_version AND object IS NULL;
      END;
    `,
  },
];
