// SQLite (better-sqlite3, WAL) implementation of the ResourceStore. Secret values live in their own
// column, sealed by the injected codec; the spec column and the changelog only ever hold masked values.
import Database from 'better-sqlite3';
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import type { McpServerManifest } from '../domain/manifest.js';
import type { McpServerResource, ResourceStatus, SourceRef } from '../domain/resource.js';
import { splitSecrets, stableStringify } from '../manifest/index.js';
import { setAtPointer } from '../manifest/pointer.js';
import { configure, controlPlaneMigrations, migrate } from './migrations.js';
import { RefIndex, refOf } from './ref-index.js';
import type {
  Change,
  ChangeType,
  EventInput,
  EventQuery,
  ListQuery,
  NewResource,
  ResourceRef,
  ResourceStore,
  SourceFileRecord,
  ResourceUpdate,
  StoredEvent,
} from './resource-store.js';
import { plainSecretCodec, resealColumn, type SecretCodec } from './secret-codec.js';


export interface SqliteResourceStoreOptions {
  /** A file path or ":memory:". */
  path: string;
  clock?: Clock;
  secretCodec?: SecretCodec;
  /** The changelog keeps at least this many entries... */
  changelogMinEntries?: number;
  /** ...and every entry younger than this. */
  changelogMinAgeMs?: number;
  /** Events older than this are dropped. */
  eventMaxAgeMs?: number;
  /** At most this many events are kept per resource. */
  eventMaxPerResource?: number;
}

interface ResourceRow {
  id: string;
  fqn: string;
  tenant: string;
  name: string;
  kind: string;
  spec: string;
  secrets: string;
  spec_hash: string;
  generation: number;
  resource_version: number;
  source: string;
  metadata: string;
  account_id: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
  status: string;
}

interface EventRow {
  id: number;
  fqn: string;
  resource_id: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  actor: string;
  count: number;
  first_ts: string;
  last_ts: string;
}

const MAINTENANCE_EVERY_WRITES = 500;

export class SqliteResourceStore implements ResourceStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly changelogMinEntries: number;
  private readonly changelogMinAgeMs: number;
  private readonly eventMaxAgeMs: number;
  private readonly eventMaxPerResource: number;
  private writesSinceMaintenance = 0;
  private readonly stmt;
  /**
   * fqn → ResourceRef of every resource, loaded on first use and kept in step with each write, so a
   * watched directory's inventory costs no decoding. Dropped (and reloaded) whenever a write or a
   * transaction fails, because SQLite rolled back what the map may already hold.
   */
  private refIndex: RefIndex | undefined;
  /** Resources that got a new event row since the last maintenance: only these can exceed the per-resource cap. */
  private readonly eventsAdded = new Set<string>();
  /** The first maintenance caps every resource (events added before a restart are not in eventsAdded). */
  private capAllEvents = true;

  constructor(options: SqliteResourceStoreOptions) {
    this.db = new Database(options.path);
    configure(this.db);
    migrate(this.db, controlPlaneMigrations);
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.changelogMinEntries = options.changelogMinEntries ?? 10_000;
    this.changelogMinAgeMs = options.changelogMinAgeMs ?? 3_600_000;
    this.eventMaxAgeMs = options.eventMaxAgeMs ?? 24 * 3_600_000;
    this.eventMaxPerResource = options.eventMaxPerResource ?? 100;
    const db = this.db;
    this.stmt = {
      byFqn: db.prepare('SELECT * FROM resources WHERE fqn = ?'),
      byId: db.prepare('SELECT * FROM resources WHERE id = ?'),
      keys: db.prepare('SELECT fqn FROM resources ORDER BY fqn').pluck(),
      count: db.prepare('SELECT count(*) FROM resources').pluck(),
      listTenant: db.prepare('SELECT * FROM resources WHERE tenant = ? ORDER BY name'),
      listTenantName: db.prepare('SELECT * FROM resources WHERE tenant = ? AND name = ? ORDER BY name'),
      refs: db.prepare('SELECT fqn, id, tenant, name, generation, source FROM resources'),
      sourceFiles: db.prepare('SELECT path, content_hash, names, fingerprint FROM source_files WHERE root = ?'),
      sourceFile: db.prepare('SELECT content_hash, names, fingerprint FROM source_files WHERE root = ? AND path = ?'),
      putSourceFile: db.prepare(`INSERT INTO source_files (root, path, content_hash, names, fingerprint) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (root, path) DO UPDATE SET content_hash = excluded.content_hash, names = excluded.names, fingerprint = excluded.fingerprint`),
      deleteSourceFile: db.prepare('DELETE FROM source_files WHERE root = ? AND path = ?'),
      countTenant: db.prepare('SELECT count(*) FROM resources WHERE tenant = ?').pluck(),
      countTenantName: db.prepare('SELECT count(*) FROM resources WHERE tenant = ? AND name = ?').pluck(),
      pageTenant: db.prepare('SELECT * FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?'),
      pageTenantName: db.prepare('SELECT * FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?'),
      nextRv: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value").pluck(),
      currentRv: db.prepare("SELECT value FROM counters WHERE name = 'resource_version'").pluck(),
      insert: db.prepare(`INSERT INTO resources (id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation,
          resource_version, source, metadata, account_id, created_by, updated_by, created_at, updated_at, status)
        VALUES (@id, @fqn, @tenant, @name, @kind, @spec, @secrets, @spec_hash, @generation, @resource_version,
          @source, @metadata, @account_id, @created_by, @updated_by, @created_at, @updated_at, @status)`),
      update: db.prepare(`UPDATE resources SET kind = @kind, spec = @spec, secrets = @secrets, spec_hash = @spec_hash,
          generation = @generation, resource_version = @resource_version, source = @source, metadata = @metadata,
          account_id = @account_id, updated_by = @updated_by, updated_at = @updated_at, status = @status
        WHERE fqn = @fqn`),
      updateStatus: db.prepare('UPDATE resources SET status = ?, resource_version = ? WHERE fqn = ?'),
      delete: db.prepare('DELETE FROM resources WHERE fqn = ?'),
      appendChange: db.prepare('INSERT INTO changelog (resource_version, type, fqn, object, at) VALUES (?, ?, ?, ?, ?)'),
      changesSince: db.prepare('SELECT * FROM changelog WHERE resource_version > ? ORDER BY resource_version LIMIT ?'),
      oldestChange: db.prepare('SELECT min(resource_version) FROM changelog').pluck(),
      pruneChangelog: db.prepare('DELETE FROM changelog WHERE resource_version <= ? AND at < ?'),
      lastEvent: db.prepare(
        'SELECT * FROM events WHERE fqn = ? AND type = ? AND reason = ? AND message = ? ORDER BY id DESC LIMIT 1',
      ),
      latestEventId: db.prepare('SELECT max(id) FROM events WHERE fqn = ?').pluck(),
      bumpEvent: db.prepare('UPDATE events SET count = count + 1, last_ts = ?, actor = ? WHERE id = ?'),
      insertEvent: db.prepare(`INSERT INTO events (fqn, resource_id, type, reason, message, actor, count, first_ts, last_ts)
        VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`),
      pruneEventsByAge: db.prepare('DELETE FROM events WHERE last_ts < ?'),
      pruneEventsPerResource: db.prepare(`DELETE FROM events WHERE id IN (
          SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY fqn ORDER BY id DESC) AS n FROM events) WHERE n > ?)`),
      // One resource, through the (fqn, id) index: everything older than its newest `?` events.
      pruneEventsOfResource: db.prepare(
        'DELETE FROM events WHERE fqn = ? AND id <= (SELECT id FROM events WHERE fqn = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
    };
  }

  get(fqn: string): McpServerResource | undefined {
    const row = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
    return row && this.fromRow(row);
  }

  getById(id: string): McpServerResource | undefined {
    const row = this.stmt.byId.get(id) as ResourceRow | undefined;
    return row && this.fromRow(row);
  }

  list(query: ListQuery): { items: McpServerResource[]; total: number } {
    if (!query.tag && !query.filter) {
      // The common case pages in SQL, so a page of 100 out of 10,000 decodes 100 rows.
      const masked = query.masked === true;
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const total = (byName ? this.stmt.countTenantName : this.stmt.countTenant).get(...args) as number;
      const page = (byName ? this.stmt.pageTenantName : this.stmt.pageTenant).all(...args, query.limit, query.offset) as ResourceRow[];
      return { items: page.map((r) => this.fromRow(r, masked)), total };
    }
    const rows = (
      query.name !== undefined ? this.stmt.listTenantName.all(query.tenant, query.name) : this.stmt.listTenant.all(query.tenant)
    ) as ResourceRow[];
    let items = rows.map((r) => this.fromRow(r, query.masked === true));
    if (query.tag) {
      const { key, value } = query.tag;
      items = items.filter((r) => r.manifest.tags[key] === value);
    }
    if (query.filter) items = items.filter(query.filter);
    return { items: items.slice(query.offset, query.offset + query.limit), total: items.length };
  }

  listRefs(tenant: string): readonly ResourceRef[] {
    return this.refs().ofTenant(tenant);
  }

  fileRefs(tenant: string, root: string): ReadonlyMap<string, ResourceRef> {
    return this.refs().ofRoot(tenant, root);
  }

  fileRefsAt(tenant: string, root: string, path: string): ResourceRef[] {
    return this.refs().ofPath(tenant, root, path);
  }

  private refs(): RefIndex {
    if (!this.refIndex) {
      const rows = this.stmt.refs.all() as Pick<ResourceRow, 'fqn' | 'id' | 'tenant' | 'name' | 'generation' | 'source'>[];
      this.refIndex = new RefIndex(rows.map((r) => refOf(r.fqn, r.id, r.tenant, r.name, r.generation, JSON.parse(r.source) as SourceRef)));
    }
    return this.refIndex;
  }

  keys(): string[] {
    return this.stmt.keys.all() as string[];
  }

  sourceFiles(root: string): SourceFileRecord[] {
    const rows = this.stmt.sourceFiles.all(root) as { path: string; content_hash: string; names: string; fingerprint: string }[];
    return rows.map((r) => ({ path: r.path, contentHash: r.content_hash, names: JSON.parse(r.names) as string[], fingerprint: r.fingerprint }));
  }

  recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): void {
    if (files.size === 0) return;
    this.transaction(() => {
      for (const [path, record] of files) {
        const current = this.stmt.sourceFile.get(root, path) as { content_hash: string; names: string; fingerprint: string } | undefined;
        if (record === null) {
          if (current) this.stmt.deleteSourceFile.run(root, path);
          continue;
        }
        const names = JSON.stringify(record.names);
        if (current && current.content_hash === record.contentHash && current.names === names && current.fingerprint === record.fingerprint) continue;
        this.stmt.putSourceFile.run(root, path, record.contentHash, names, record.fingerprint);
      }
    });
  }

  count(): number {
    return this.stmt.count.get() as number;
  }

  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      this.refIndex = undefined;
      throw err;
    }
  }

  create(input: NewResource): McpServerResource {
    return this.write(() => {
      const rv = this.nextResourceVersion();
      const now = isoTime(this.clock.now());
      const { spec, secrets } = this.seal(input.manifest);
      this.stmt.insert.run({
        id: input.id,
        fqn: input.fqn,
        tenant: input.tenant,
        name: input.name,
        kind: input.manifest.type,
        spec,
        secrets,
        spec_hash: input.specHash,
        generation: 1,
        resource_version: rv,
        source: JSON.stringify(input.source),
        metadata: JSON.stringify(input.metadata),
        account_id: input.accountId,
        created_by: JSON.stringify(input.createdBy),
        updated_by: JSON.stringify(input.createdBy),
        created_at: now,
        updated_at: now,
        status: JSON.stringify(input.status),
      });
      this.refIndex?.set(refOf(input.fqn, input.id, input.tenant, input.name, 1, input.source));
      return this.recordChange(rv, 'ADDED', input.fqn);
    });
  }

  update(fqn: string, update: ResourceUpdate): McpServerResource {
    return this.write(() => {
      const rv = this.nextResourceVersion();
      const { spec, secrets } = this.seal(update.manifest);
      const result = this.stmt.update.run({
        fqn,
        kind: update.manifest.type,
        spec,
        secrets,
        spec_hash: update.specHash,
        generation: update.generation,
        resource_version: rv,
        source: JSON.stringify(update.source),
        metadata: JSON.stringify(update.metadata),
        account_id: update.accountId,
        updated_by: JSON.stringify(update.updatedBy),
        updated_at: isoTime(this.clock.now()),
        status: JSON.stringify(update.status),
      });
      if (result.changes !== 1) throw new Error(`update of ${fqn}: no such resource`);
      const resource = this.recordChange(rv, 'MODIFIED', fqn);
      this.refIndex?.set(refOf(fqn, resource.id, resource.tenant, resource.name, resource.generation, resource.source));
      return resource;
    });
  }

  remove(fqn: string): McpServerResource | undefined {
    return this.write(() => {
      const row = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
      if (!row) return undefined;
      const rv = this.nextResourceVersion();
      this.stmt.delete.run(fqn);
      this.refIndex?.delete(fqn);
      this.appendChange(rv, 'DELETED', { ...this.fromRow(row, true), resourceVersion: rv });
      return { ...this.fromRow(row), resourceVersion: rv };
    });
  }

  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): McpServerResource | undefined {
    // Compared before any transaction: this connection is the only writer, and a reconcile that changed
    // nothing (the common case) should cost a read, not a commit.
    const current = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
    if (!current) return undefined;
    // A status computed from an older read (another generation, or a deleted and recreated resource) is dropped.
    if (expect && (current.id !== expect.id || current.generation !== expect.generation)) return undefined;
    const json = JSON.stringify(status);
    // The same text is the common case; key order may still differ.
    if (current.status === json || stableStringify(JSON.parse(current.status)) === stableStringify(status)) return this.fromRow(current);
    return this.write(() => {
      const row = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
      if (!row) return undefined;
      const rv = this.nextResourceVersion();
      this.stmt.updateStatus.run(json, rv, fqn);
      // Only status and resourceVersion changed: the row read above is the rest of it.
      const written = { ...row, status: json, resource_version: rv };
      this.appendChange(rv, 'MODIFIED', this.fromRow(written, true));
      return this.fromRow(written);
    });
  }

  currentResourceVersion(): number {
    return this.stmt.currentRv.get() as number;
  }

  changesSince(resourceVersion: number, limit: number): Change[] {
    const rows = this.stmt.changesSince.all(resourceVersion, limit) as {
      resource_version: number;
      type: ChangeType;
      fqn: string;
      object: string;
      at: string;
    }[];
    return rows.map((r) => ({
      resourceVersion: r.resource_version,
      type: r.type,
      fqn: r.fqn,
      object: JSON.parse(r.object) as McpServerResource,
      at: r.at,
    }));
  }

  oldestRetainedResourceVersion(): number {
    const oldest = this.stmt.oldestChange.get() as number | null;
    return oldest ?? this.currentResourceVersion() + 1;
  }

  recordEvent(event: EventInput): void {
    this.write(() => {
      const now = isoTime(this.clock.now());
      const last = this.stmt.lastEvent.get(event.fqn, event.type, event.reason, event.message) as EventRow | undefined;
      // Fold only into the newest event of this resource, so a repeat after something else happened is a new line.
      if (last && last.id === (this.stmt.latestEventId.get(event.fqn) as number)) {
        this.stmt.bumpEvent.run(now, event.actor, last.id);
      } else {
        this.stmt.insertEvent.run(event.fqn, event.resourceId, event.type, event.reason, event.message, event.actor, now, now);
        this.eventsAdded.add(event.fqn);
      }
    });
  }

  listEvents(query: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.fqn !== undefined) {
      where.push('fqn = ?');
      args.push(query.fqn);
    }
    if (query.since !== undefined) {
      where.push('last_ts >= ?');
      args.push(query.since);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit) as EventRow[];
    return rows.reverse().map((r) => ({
      id: r.id,
      fqn: r.fqn,
      resourceId: r.resource_id,
      type: r.type,
      reason: r.reason,
      message: r.message,
      actor: r.actor,
      count: r.count,
      firstTimestamp: r.first_ts,
      lastTimestamp: r.last_ts,
    }));
  }

  /** See resealColumn: seals secrets stored before encryption and checks the key against the rest. */
  resealSecrets(): number {
    return resealColumn(this.db, 'resources', 'fqn', 'secrets', this.codec);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** One transaction per write, plus bounded housekeeping of the changelog and events now and then. */
  private write<T>(fn: () => T): T {
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } catch (err) {
      this.refIndex = undefined;
      throw err;
    }
    if (++this.writesSinceMaintenance >= MAINTENANCE_EVERY_WRITES) {
      this.writesSinceMaintenance = 0;
      this.maintain();
    }
    return result;
  }

  private maintain(): void {
    const now = this.clock.now();
    const keepFrom = this.currentResourceVersion() - this.changelogMinEntries;
    this.stmt.pruneChangelog.run(keepFrom, isoTime(now - this.changelogMinAgeMs));
    this.stmt.pruneEventsByAge.run(isoTime(now - this.eventMaxAgeMs));
    // Capping every resource scans the whole events table; after the first time only resources with
    // new rows can be over the cap, and each of those is one indexed delete.
    if (this.capAllEvents) {
      this.stmt.pruneEventsPerResource.run(this.eventMaxPerResource);
      this.capAllEvents = false;
    } else {
      for (const fqn of this.eventsAdded) this.stmt.pruneEventsOfResource.run(fqn, fqn, this.eventMaxPerResource);
    }
    this.eventsAdded.clear();
  }

  private nextResourceVersion(): number {
    return this.stmt.nextRv.get() as number;
  }

  private recordChange(rv: number, type: ChangeType, fqn: string): McpServerResource {
    const row = this.stmt.byFqn.get(fqn) as ResourceRow;
    this.appendChange(rv, type, this.fromRow(row, true));
    return this.fromRow(row);
  }

  /** `masked`: the resource with its secret values masked (the changelog never holds one). */
  private appendChange(rv: number, type: ChangeType, masked: McpServerResource): void {
    this.stmt.appendChange.run(rv, type, masked.fqn, JSON.stringify(masked), isoTime(this.clock.now()));
  }

  private seal(manifest: McpServerManifest): { spec: string; secrets: string } {
    const { spec, secrets } = splitSecrets(manifest);
    const sealed: Record<string, string> = {};
    for (const [pointer, value] of Object.entries(secrets)) sealed[pointer] = this.codec.seal(value);
    return { spec: JSON.stringify(spec), secrets: JSON.stringify(sealed) };
  }

  /**
   * The resource of a row. `masked`: secret values stay masked (the spec column holds them so), nothing
   * is decrypted; for callers that answer or log the resource, which mask it anyway.
   */
  private fromRow(row: ResourceRow, masked = false): McpServerResource {
    // The spec column is the manifest with every secret value masked (see seal); the secrets are put
    // back into the freshly parsed copy, so nothing needs cloning.
    const manifest = JSON.parse(row.spec) as McpServerManifest;
    if (!masked) {
      const sealed = JSON.parse(row.secrets) as Record<string, string>;
      for (const pointer in sealed) setAtPointer(manifest, pointer, this.codec.open(sealed[pointer]!));
    }
    return {
      id: row.id,
      tenant: row.tenant,
      name: row.name,
      fqn: row.fqn,
      manifest,
      specHash: row.spec_hash,
      generation: row.generation,
      resourceVersion: row.resource_version,
      source: JSON.parse(row.source),
      metadata: JSON.parse(row.metadata),
      createdBy: JSON.parse(row.created_by),
      updatedBy: JSON.parse(row.updated_by),
      accountId: row.account_id,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      status: JSON.parse(row.status) as ResourceStatus,
    };
  }
}

