// The PostgreSQL schema of the control plane and its versioned migrations. Append only: a shipped
// migration is never edited. Both stores live in this one schema (resources and the gateway entries), so
// a status write and its gateway write can commit together.
//
// The columns mirror the SQLite stores (src/store/sqlite/resource-migrations.ts, src/store/sqlite/sqlite-gateway-store.ts): the
// JSON columns are TEXT, not jsonb, because the store keeps and answers their exact text (views). Times the
// application writes are ISO-8601 TEXT as there; times of the cluster (lease, replicas) are timestamptz
// from the database clock.
import type pg from 'pg';
import type { PoolLike } from './connection.js';
import { inTransaction } from './connection.js';
import { SchemaTooNewError } from './schema-too-new.js';

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'resources, resourceVersion counter, changelog, events, source files, gateway entries, lease, replicas',
    sql: `
      -- Single-purpose counter rows. 'resource_version' is bumped by every write, inside its transaction
      -- (see resource-version.ts): the row lock orders the writers, so commit order is resourceVersion order.
      CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
      INSERT INTO counters (name, value) VALUES ('resource_version', 0), ('view_format', 0);
      CREATE TABLE resources (
        id TEXT PRIMARY KEY,
        fqn TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        secrets TEXT NOT NULL,
        spec_hash TEXT NOT NULL,
        generation BIGINT NOT NULL,
        resource_version BIGINT NOT NULL,
        source TEXT NOT NULL,
        metadata TEXT NOT NULL,
        account_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        view TEXT
      );
      CREATE INDEX resources_tenant_name ON resources (tenant, name);
      CREATE TABLE changelog (
        resource_version BIGINT PRIMARY KEY,
        type TEXT NOT NULL,
        fqn TEXT NOT NULL,
        object TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE TABLE events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        fqn TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        type TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        actor TEXT NOT NULL,
        count BIGINT NOT NULL,
        first_ts TEXT NOT NULL,
        last_ts TEXT NOT NULL
      );
      CREATE INDEX events_resource ON events (resource_id, id);
      CREATE INDEX events_fqn ON events (fqn, id);
      CREATE INDEX events_last_ts ON events (last_ts);
      CREATE TABLE source_files (
        root TEXT NOT NULL,
        path TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        names TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (root, path)
      );
      CREATE TABLE gateway_entries (
        fqn TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        headers TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        generation BIGINT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- One row per lease (the controller's is 'controller'). holder NULL: released. epoch grows by one at
      -- every change of holder, and every leader transaction is fenced on it (src/cluster/fence.ts).
      -- (name, epoch) is a key on purpose: a takeover changes a key column, so it waits for the fences'
      -- FOR KEY SHARE locks, while a renewal or a release changes none and never waits for them.
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT,
        epoch BIGINT NOT NULL,
        duration_ms INTEGER NOT NULL CHECK (duration_ms > 0),
        acquired_at TIMESTAMPTZ NOT NULL,
        renewed_at TIMESTAMPTZ NOT NULL,
        UNIQUE (name, epoch)
      );
      -- Every running replica, with a heartbeat (last_seen).
      CREATE TABLE replicas (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        version TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        last_seen TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'resources: the resourceVersion each view was rendered at (the store never parses a view)',
    sql: `ALTER TABLE resources ADD COLUMN view_rv BIGINT;`,
  },
  {
    version: 3,
    name: 'gateway revision counter; resources by watched directory',
    sql: `
      -- Bumped by every gateway write, in its statement: what a replica whose LISTEN connection is down
      -- polls to learn that another wrote the gateway entries (GatewayReader.externalRevision).
      INSERT INTO counters (name, value) VALUES ('gateway_revision', 0);
      -- The source inventory (fileRefs) reads the resources of one watched directory.
      CREATE INDEX resources_source_root ON resources (tenant, ((source::jsonb ->> 'root')));
    `,
  },
  {
    version: 4,
    name: 'revisions: one per generation of each resource (spec masked, secrets sealed), kept after its removal for a while',
    sql: `
      CREATE TABLE revisions (
        resource_id TEXT NOT NULL,
        generation BIGINT NOT NULL,
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
    version: 5,
    name: 'secret key canary: a value sealed with the cluster\'s secret key, which every replica must open (src/cluster/key-check.ts)',
    // IF NOT EXISTS: before this migration the cluster code made the table itself, with these columns.
    sql: `
      CREATE TABLE IF NOT EXISTS secret_key_canary (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sealed TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 6,
    name: 'write rate limit: one row per token subject, shared by the replicas (src/cluster/shared-write-budget.ts)',
    sql: `
      -- tat: the bucket's theoretical arrival time (GCRA), in ms since the epoch; a subject with none is full.
      CREATE TABLE write_rate_limits (subject TEXT PRIMARY KEY, tat DOUBLE PRECISION NOT NULL);
    `,
  },
  {
    version: 7,
    name: 'per-user credentials and OAuth states (secret values sealed)',
    sql: `
      CREATE TABLE credentials (
        fqn TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        secrets TEXT NOT NULL,
        data TEXT NOT NULL,
        binding TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (fqn, subject, kind)
      );
      CREATE TABLE oauth_states (
        id TEXT PRIMARY KEY,
        fqn TEXT NOT NULL,
        subject TEXT NOT NULL,
        secrets TEXT NOT NULL,
        data TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
      CREATE INDEX oauth_states_fqn ON oauth_states (fqn);
    `,
  },
  {
    version: 8,
    name: 'resource_tags and resource_readers (tag selectors, read access) and the gateway entry count, kept by triggers',
    // As SQLite's migration 8: derived from the spec column (tags, collaborators) and account_id by the
    // database itself; a status or view write sets neither column, so the trigger does not run for it.
    // Names sort in byte order (COLLATE "C"), as every list here does, so a page is read in index order.
    sql: `
      CREATE TABLE resource_tags (
        tenant TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        fqn TEXT NOT NULL,
        PRIMARY KEY (tenant, tag_key, tag_value, name)
      );
      CREATE INDEX resource_tags_fqn ON resource_tags (fqn);
      CREATE TABLE resource_readers (
        tenant TEXT NOT NULL,
        account_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        fqn TEXT NOT NULL,
        PRIMARY KEY (tenant, account_id, subject, name)
      );
      CREATE INDEX resource_readers_fqn ON resource_readers (fqn, subject);
      CREATE FUNCTION resources_index_selections() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          IF TG_OP = 'UPDATE' AND NEW.spec IS NOT DISTINCT FROM OLD.spec AND NEW.account_id IS NOT DISTINCT FROM OLD.account_id
             AND NEW.tenant IS NOT DISTINCT FROM OLD.tenant AND NEW.name IS NOT DISTINCT FROM OLD.name AND NEW.fqn IS NOT DISTINCT FROM OLD.fqn THEN
            RETURN NULL;
          END IF;
          DELETE FROM resource_tags WHERE fqn = OLD.fqn;
          DELETE FROM resource_readers WHERE fqn = OLD.fqn;
        END IF;
        IF TG_OP <> 'DELETE' THEN
          INSERT INTO resource_tags (tenant, tag_key, tag_value, name, fqn)
            SELECT NEW.tenant, t.key, t.value #>> '{}', NEW.name, NEW.fqn
            FROM jsonb_each(CASE WHEN jsonb_typeof(NEW.spec::jsonb -> 'tags') = 'object' THEN NEW.spec::jsonb -> 'tags' ELSE '{}'::jsonb END) AS t
            WHERE jsonb_typeof(t.value) = 'string'
            ON CONFLICT DO NOTHING;
          INSERT INTO resource_readers (tenant, account_id, subject, name, fqn)
            SELECT NEW.tenant, NEW.account_id, c ->> 'subject', NEW.name, NEW.fqn
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(NEW.spec::jsonb -> 'collaborators') = 'array' THEN NEW.spec::jsonb -> 'collaborators' ELSE '[]'::jsonb END) AS c
            WHERE jsonb_typeof(c -> 'subject') = 'string'
            ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER resources_index_selections AFTER INSERT OR DELETE OR UPDATE OF spec, account_id, tenant, name, fqn ON resources
        FOR EACH ROW EXECUTE FUNCTION resources_index_selections();
      INSERT INTO resource_tags (tenant, tag_key, tag_value, name, fqn)
        SELECT r.tenant, t.key, t.value #>> '{}', r.name, r.fqn
        FROM resources AS r, jsonb_each(CASE WHEN jsonb_typeof(r.spec::jsonb -> 'tags') = 'object' THEN r.spec::jsonb -> 'tags' ELSE '{}'::jsonb END) AS t
        WHERE jsonb_typeof(t.value) = 'string'
        ON CONFLICT DO NOTHING;
      INSERT INTO resource_readers (tenant, account_id, subject, name, fqn)
        SELECT r.tenant, r.account_id, c ->> 'subject', r.name, r.fqn
        FROM resources AS r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.spec::jsonb -> 'collaborators') = 'array' THEN r.spec::jsonb -> 'collaborators' ELSE '[]'::jsonb END) AS c
        WHERE jsonb_typeof(c -> 'subject') = 'string'
        ON CONFLICT DO NOTHING;
      -- The gateway entry count, kept by a trigger, so reading it costs no scan.
      INSERT INTO counters (name, value) SELECT 'gateway_entries', count(*) FROM gateway_entries;
      CREATE FUNCTION gateway_entries_counted() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        UPDATE counters SET value = value + (CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END) WHERE name = 'gateway_entries';
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER gateway_entries_counted AFTER INSERT OR DELETE ON gateway_entries
        FOR EACH ROW EXECUTE FUNCTION gateway_entries_counted();
    `,
  },
  {
    version: 9,
    name: 'specs show secret references as written: 0 until the pass at open has shown those older builds masked (shown-references.ts)',
    sql: `INSERT INTO counters (name, value) VALUES ('references_shown', 0);`,
  },
  {
    version: 10,
    name: 'resource_counts (servers by tenant, source and Ready status, kept by a trigger); revisions keep no copy of their live row\'s spec; resources by account',
    // As SQLite's migration 11. The counting trigger returns at once for a write that changed none of the
    // columns it reads, and moves the counts only when the Ready status, the source or the tenant did.
    sql: `
      CREATE TABLE resource_counts (
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        ready TEXT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (tenant, source, ready)
      );
      -- A row's managing source as resource_counts keys it: "api", or the watched directory's root.
      CREATE FUNCTION resource_count_source(source TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $fn$
        SELECT CASE WHEN source::jsonb ->> 'kind' = 'api' THEN 'api' ELSE coalesce(source::jsonb ->> 'root', '') END
      $fn$;
      -- The status of a row's Ready condition; Unknown when it has none.
      CREATE FUNCTION resource_count_ready(status TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $fn$
        SELECT coalesce((SELECT c ->> 'status'
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(status::jsonb -> 'conditions') = 'array' THEN status::jsonb -> 'conditions' ELSE '[]'::jsonb END) AS c
          WHERE c ->> 'type' = 'Ready' LIMIT 1), 'Unknown')
      $fn$;
      CREATE FUNCTION resources_counted() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        old_source TEXT; old_ready TEXT; new_source TEXT; new_ready TEXT;
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.source IS NOT DISTINCT FROM OLD.source
           AND NEW.tenant IS NOT DISTINCT FROM OLD.tenant AND NEW.fqn IS NOT DISTINCT FROM OLD.fqn THEN
          RETURN NULL;
        END IF;
        -- Admission policies share the table and are not servers: not counted.
        IF TG_OP <> 'INSERT' AND position(':mcp-policy:' in OLD.fqn) = 0 THEN
          old_source := resource_count_source(OLD.source);
          old_ready := resource_count_ready(OLD.status);
        END IF;
        IF TG_OP <> 'DELETE' AND position(':mcp-policy:' in NEW.fqn) = 0 THEN
          new_source := resource_count_source(NEW.source);
          new_ready := resource_count_ready(NEW.status);
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.tenant IS NOT DISTINCT FROM OLD.tenant AND new_source IS NOT DISTINCT FROM old_source
           AND new_ready IS NOT DISTINCT FROM old_ready THEN
          RETURN NULL;
        END IF;
        IF old_source IS NOT NULL THEN
          UPDATE resource_counts SET count = count - 1 WHERE tenant = OLD.tenant AND source = old_source AND ready = old_ready;
        END IF;
        IF new_source IS NOT NULL THEN
          INSERT INTO resource_counts (tenant, source, ready, count) VALUES (NEW.tenant, new_source, new_ready, 1)
            ON CONFLICT (tenant, source, ready) DO UPDATE SET count = resource_counts.count + 1;
        END IF;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER resources_counted AFTER INSERT OR DELETE OR UPDATE OF status, source, tenant, fqn ON resources
        FOR EACH ROW EXECUTE FUNCTION resources_counted();
      INSERT INTO resource_counts (tenant, source, ready, count)
        SELECT tenant, resource_count_source(source), resource_count_ready(status), count(*) FROM resources
        WHERE position(':mcp-policy:' in fqn) = 0
        GROUP BY 1, 2, 3;
      -- The revision of a live resource's current generation keeps no spec or secrets (NULL): they are the
      -- row's (see revision-rows.ts); the trigger copies the row's into it when the generation moves on or
      -- the row is deleted.
      ALTER TABLE revisions ALTER COLUMN spec DROP NOT NULL, ALTER COLUMN secrets DROP NOT NULL;
      UPDATE revisions AS v SET spec = NULL, secrets = NULL FROM resources AS r
        WHERE r.id = v.resource_id AND r.generation = v.generation AND r.spec = v.spec AND r.secrets = v.secrets AND v.deleted_at IS NULL;
      CREATE FUNCTION revisions_keep_spec() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.generation IS NOT DISTINCT FROM OLD.generation THEN
          RETURN NULL;
        END IF;
        UPDATE revisions SET spec = OLD.spec, secrets = OLD.secrets WHERE resource_id = OLD.id AND generation = OLD.generation AND spec IS NULL;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER revisions_keep_spec AFTER DELETE OR UPDATE OF generation ON resources
        FOR EACH ROW EXECUTE FUNCTION revisions_keep_spec();
      -- A project's servers (ListQuery.account) in name order.
      CREATE INDEX resources_account ON resources (tenant, account_id, name COLLATE "C");
    `,
  },
  {
    version: 11,
    name: "changelog by fqn: a status write's entry (type STATUS) keeps only the status, read with the full entry before it; a live resource's latest status entry keeps none (read from the row)",
    // Entries written before keep their full objects (read as they are) until they are pruned. The status
    // entry of a live resource's current resourceVersion holds NULL: its status is the row's (see
    // change-rows.ts); the trigger copies the row's into it when the resourceVersion moves on or the row
    // is deleted.
    sql: `
      CREATE INDEX changelog_fqn ON changelog (fqn, resource_version);
      ALTER TABLE changelog ALTER COLUMN object DROP NOT NULL;
      CREATE FUNCTION changelog_keep_status() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.resource_version IS NOT DISTINCT FROM OLD.resource_version THEN
          RETURN NULL;
        END IF;
        UPDATE changelog SET object = OLD.status WHERE resource_version = OLD.resource_version AND object IS NULL;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER changelog_keep_status AFTER DELETE OR UPDATE OF resource_version ON resources
        FOR EACH ROW EXECUTE FUNCTION changelog_keep_status();
    `,
  },
];

/** The newest schema version this build knows. */
export const POSTGRES_SCHEMA_VERSION = Math.max(...postgresMigrations.map((m) => m.version));

export { SchemaTooNewError } from './schema-too-new.js';

/**
 * Brings the current schema (the connection's search_path) up to the newest migration, under a
 * transaction-level advisory lock keyed by the schema, so replicas starting together migrate it once.
 * All of it is one transaction: a failed migration leaves the schema as it was. Throws SchemaTooNewError,
 * changing nothing, when the database is newer than `migrations`.
 */
export async function migrate(
  pool: PoolLike,
  migrations: readonly PostgresMigration[] = postgresMigrations,
): Promise<{ from: number; to: number }> {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('mcp-control-plane migrate ' || current_schema()))");
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const from = Math.max(0, ...applied);
    if (from > known) throw new SchemaTooNewError(from, known);
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    return { from, to: Math.max(from, known) };
  });
}

/**
 * The schema version of the database, checked against this build without changing anything: for a
 * replica that does not migrate. Throws SchemaTooNewError when the database is newer, and an error naming
 * both versions when it is older (a migration is due).
 */
export async function checkSchemaVersion(
  client: Pick<pg.ClientBase, 'query'>,
  migrations: readonly PostgresMigration[] = postgresMigrations,
): Promise<number> {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const current = await schemaVersion(client);
  if (current > known) throw new SchemaTooNewError(current, known);
  if (current < known) {
    throw new Error(`The PostgreSQL schema is at version ${current}, older than this build's version ${known}: run the migration (migrate) first.`);
  }
  return current;
}

/** The schema version recorded in the database (the newest migration applied; 0 before any). Reads only. */
export async function schemaVersion(client: Pick<pg.ClientBase, 'query'>): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  return (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
}
