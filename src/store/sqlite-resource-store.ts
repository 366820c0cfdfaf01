// SQLite (better-sqlite3, WAL) implementation of the ResourceStore. Secret values live in their own
// column, sealed by the injected codec; the spec column and the changelog only ever hold masked values.
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import type { McpServerManifest } from '../domain/manifest.js';
import type { ConditionStatus, McpServerResource, ResourceStatus, SourceRef } from '../domain/resource.js';
import { splitSecrets } from '../manifest/index.js';
import { setAtPointer } from '../manifest/pointer.js';
import { configure, controlPlaneMigrations, migrate } from './migrations.js';
import { RefIndex, refOf } from './ref-index.js';
import { renderStatusView, renderView, VIEW_FORMAT, type StoredResourceText } from './resource-view.js';
import type {
  Change,
  ChangeType,
  EventInput,
  EventQuery,
  GetOptions,
  ListQuery,
  NewResource,
  ResourceReadiness,
  ResourceRef,
  ResourceStore,
  SourceFileRecord,
  ResourceUpdate,
  StoredAnswerTexts,
  StoredEvent,
} from './resource-store.js';
import { checkColumnKey, plainSecretCodec, resealColumn, type SecretCodec } from './secret-codec.js';


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

/**
 * Every column but `view`, which only answers read: the view is the row's last and largest column,
 * often on overflow pages that a read of the other columns never touches.
 */
const COLUMNS = `id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation, resource_version, source, metadata,
  account_id, created_by, updated_by, created_at, updated_at, status`;

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
   * Runs fn in a transaction, or in a savepoint inside one. Made once: better-sqlite3's transaction()
   * builds four wrapper functions per call, which the per-key write path cannot afford.
   */
  private readonly inTransaction: <T>(fn: () => T) => T;
  /**
   * fqn → ResourceRef of every resource, loaded on first use and kept in step with each write, so a
   * watched directory's inventory costs no decoding. When SQLite rolls a write back, so does the index
   * (see atomically).
   */
  private refIndex: RefIndex | undefined;
  /**
   * This build closed the store last and nothing wrote since (close() records the resourceVersion): every
   * view was current and every secret sealed then, so the checks at open can be skipped.
   */
  private readonly closedCleanly: boolean;
  /** resealSecrets succeeded: from here on every secret is sealed under this key. */
  private secretsSealed = false;
  /** Resources that got a new event row since the last maintenance: only these can exceed the per-resource cap. */
  private readonly eventsAdded = new Set<string>();
  /** The first maintenance caps every resource (events added before a restart are not in eventsAdded). */
  private capAllEvents = true;
  private readonly writeListeners = new Set<() => void>();
  private isoNowMs = NaN;
  private isoNowText = '';

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
    this.inTransaction = db.transaction((fn: () => unknown) => fn()) as <T>(fn: () => T) => T;
    this.stmt = {
      byFqn: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE fqn = ?`),
      byFqnViewed: db.prepare(`SELECT ${COLUMNS}, view FROM resources WHERE fqn = ?`),
      byId: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE id = ?`),
      keys: db.prepare('SELECT fqn FROM resources ORDER BY fqn').pluck(),
      count: db.prepare('SELECT count(*) FROM resources').pluck(),
      listTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name`),
      listTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name`),
      viewOf: db.prepare('SELECT view FROM resources WHERE fqn = ?').pluck(),
      refs: db.prepare('SELECT fqn, id, tenant, name, generation, source FROM resources'),
      sourceFiles: db.prepare('SELECT path, content_hash, names, fingerprint FROM source_files WHERE root = ?'),
      sourceFile: db.prepare('SELECT content_hash, names, fingerprint FROM source_files WHERE root = ? AND path = ?'),
      putSourceFile: db.prepare(`INSERT INTO source_files (root, path, content_hash, names, fingerprint) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (root, path) DO UPDATE SET content_hash = excluded.content_hash, names = excluded.names, fingerprint = excluded.fingerprint`),
      deleteSourceFile: db.prepare('DELETE FROM source_files WHERE root = ? AND path = ?'),
      countTenant: db.prepare('SELECT count(*) FROM resources WHERE tenant = ?').pluck(),
      countTenantName: db.prepare('SELECT count(*) FROM resources WHERE tenant = ? AND name = ?').pluck(),
      pageTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?`),
      pageTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?`),
      viewsTenant: db.prepare('SELECT view FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      viewsTenantName: db.prepare('SELECT view FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      rowsAfter: db.prepare('SELECT rowid AS rid, * FROM resources WHERE rowid > ? ORDER BY rowid LIMIT ?'),
      // The resourceVersion at which this build last closed the store (see closedCleanly).
      closedCleanlyAt: db.prepare("SELECT value FROM counters WHERE name = 'closed_cleanly_at'").pluck(),
      setClosedCleanlyAt: db.prepare("INSERT INTO counters (name, value) VALUES ('closed_cleanly_at', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
      // Rows an older build wrote (it knows no view column): no view, or one of an earlier resourceVersion.
      rowsWithStaleView: db.prepare(
        "SELECT rowid AS rid, * FROM resources WHERE view IS NULL OR json_extract(view, '$.resourceVersion') IS NOT CAST(resource_version AS TEXT)",
      ),
      setView: db.prepare('UPDATE resources SET view = ? WHERE fqn = ?'),
      viewFormat: db.prepare("SELECT value FROM counters WHERE name = 'view_format'").pluck(),
      setViewFormat: db.prepare("UPDATE counters SET value = ? WHERE name = 'view_format'"),
      nextRv: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value").pluck(),
      currentRv: db.prepare("SELECT value FROM counters WHERE name = 'resource_version'").pluck(),
      insert: db.prepare(`INSERT INTO resources (id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation,
          resource_version, source, metadata, account_id, created_by, updated_by, created_at, updated_at, status, view)
        VALUES (@id, @fqn, @tenant, @name, @kind, @spec, @secrets, @spec_hash, @generation, @resource_version,
          @source, @metadata, @account_id, @created_by, @updated_by, @created_at, @updated_at, @status, @view)`),
      update: db.prepare(`UPDATE resources SET kind = @kind, spec = @spec, secrets = @secrets, spec_hash = @spec_hash,
          generation = @generation, resource_version = @resource_version, source = @source, metadata = @metadata,
          account_id = @account_id, updated_by = @updated_by, updated_at = @updated_at, status = @status, view = @view
        WHERE fqn = @fqn`),
      updateStatus: db.prepare('UPDATE resources SET status = ?, resource_version = ?, view = ? WHERE fqn = ?'),
      delete: db.prepare('DELETE FROM resources WHERE fqn = ?'),
      appendChange: db.prepare('INSERT INTO changelog (resource_version, type, fqn, object, at) VALUES (?, ?, ?, ?, ?)'),
      changesSince: db.prepare('SELECT * FROM changelog WHERE resource_version > ? ORDER BY resource_version LIMIT ?'),
      oldestChange: db.prepare('SELECT min(resource_version) FROM changelog').pluck(),
      // Entries up to resourceVersion @keepFrom older than @before, oldest first, up to the first younger one:
      // entries are appended in time order, so this reads what it deletes and one more row, where a plain
      // `AND at < @before` would read every entry up to @keepFrom (all of them young during a big sync).
      // One bound only, so SQLite's range on the key stops there.
      pruneChangelog: db.prepare(`DELETE FROM changelog WHERE resource_version < coalesce(
          (SELECT resource_version FROM changelog WHERE resource_version <= @keepFrom AND at >= @before ORDER BY resource_version LIMIT 1),
          @keepFrom + 1)`),
      // The newest event of a resource, through the (resource_id, id) index.
      newestEvent: db.prepare('SELECT id, type, reason, message FROM events WHERE resource_id = ? ORDER BY id DESC LIMIT 1'),
      bumpEvent: db.prepare('UPDATE events SET count = count + 1, last_ts = ?, actor = ? WHERE id = ?'),
      insertEvent: db.prepare(`INSERT INTO events (fqn, resource_id, type, reason, message, actor, count, first_ts, last_ts)
        VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`),
      pruneEventsByAge: db.prepare('DELETE FROM events WHERE last_ts < ?'),
      pruneEventsPerResource: db.prepare(`DELETE FROM events WHERE id IN (
          SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY resource_id ORDER BY id DESC) AS n FROM events) WHERE n > ?)`),
      // One resource, through the (resource_id, id) index: everything older than its newest `?` events.
      pruneEventsOfResource: db.prepare(
        'DELETE FROM events WHERE resource_id = ? AND id <= (SELECT id FROM events WHERE resource_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
    };
    this.closedCleanly = this.stmt.closedCleanlyAt.get() === this.currentResourceVersion();
    this.renderStaleViews();
  }

  /**
   * Views of another format (an upgrade changed resourceView), or none yet (a database from before
   * views), are rendered again, all in one transaction: from the spec column, so nothing is decrypted.
   * So are the rows an older build wrote after views came (a rollback and an upgrade again): looked for
   * only when something wrote since this build last closed the store (or it did not close cleanly).
   */
  private renderStaleViews(): void {
    if (this.stmt.viewFormat.get() === VIEW_FORMAT) {
      if (this.closedCleanly) return;
      const stale = this.stmt.rowsWithStaleView.all() as ResourceRow[];
      if (stale.length > 0) this.inTransaction(() => stale.forEach((row) => this.stmt.setView.run(renderView(this.fromRow(row, true)), row.fqn)));
      return;
    }
    this.db.transaction(() => {
      // In pages: a connection cannot write while it iterates, and all rows at once could be big.
      for (let after = 0; ; ) {
        const page = this.stmt.rowsAfter.all(after, 500) as (ResourceRow & { rid: number })[];
        if (page.length === 0) break;
        for (const row of page) this.stmt.setView.run(renderView(this.fromRow(row, true)), row.fqn);
        after = page[page.length - 1]!.rid;
      }
      this.stmt.setViewFormat.run(VIEW_FORMAT);
    })();
  }

  get(fqn: string, options?: GetOptions): McpServerResource | undefined {
    const row = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
    return row && this.fromKnownRow(row, options);
  }

  getWithAnswer(fqn: string, options?: GetOptions): { resource: McpServerResource; answer: StoredAnswerTexts } | undefined {
    const row = this.stmt.byFqnViewed.get(fqn) as (ResourceRow & { view: string }) | undefined;
    // The spec column is the masked manifest's JSON (see seal), the very text the view holds.
    return row && { resource: this.fromKnownRow(row, options), answer: { view: row.view, maskedManifest: row.spec } };
  }

  private fromKnownRow(row: ResourceRow, options: GetOptions | undefined): McpServerResource {
    const known = options?.known;
    return known && known.specHash === row.spec_hash ? this.fromRow(row, known.manifest) : this.fromRow(row);
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
    const matching = this.matching(query, query.masked === true);
    return { items: matching.slice(query.offset, query.offset + query.limit).map((m) => m.resource), total: matching.length };
  }

  listViews(query: ListQuery): { views: string[]; total: number } {
    if (!query.tag && !query.filter) {
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const total = (byName ? this.stmt.countTenantName : this.stmt.countTenant).get(...args) as number;
      const views = (byName ? this.stmt.viewsTenantName : this.stmt.viewsTenant).all(...args, query.limit, query.offset) as string[];
      return { views, total };
    }
    // Tags and filters read the resources (masked: nothing is decrypted); only the page's views are read.
    const matching = this.matching(query, true);
    return { views: matching.slice(query.offset, query.offset + query.limit).map((m) => this.stmt.viewOf.get(m.row.fqn) as string), total: matching.length };
  }

  /** The rows of a list query with a tag or a filter, which read every resource of the tenant (or name). */
  private matching(query: ListQuery, masked: boolean): { row: ResourceRow; resource: McpServerResource }[] {
    const rows = (query.name !== undefined ? this.stmt.listTenantName.all(query.tenant, query.name) : this.stmt.listTenant.all(query.tenant)) as ResourceRow[];
    let matching = rows.map((row) => ({ row, resource: this.fromRow(row, masked) }));
    if (query.tag) {
      const { key, value } = query.tag;
      matching = matching.filter((m) => m.resource.manifest.tags[key] === value);
    }
    const filter = query.filter;
    return filter ? matching.filter((m) => filter(m.resource)) : matching;
  }

  listRefs(tenant: string): readonly ResourceRef[] {
    return this.refs().ofTenant(tenant);
  }

  listReadiness(tenant: string): ResourceReadiness[] {
    // Read once per start: prepared here rather than kept with the per-write statements.
    const rows = this.db
      .prepare(
        `SELECT fqn, source, (SELECT json_extract(c.value, '$.status') FROM json_each(resources.status, '$.conditions') AS c
           WHERE json_extract(c.value, '$.type') = 'Ready') AS ready FROM resources WHERE tenant = ?`,
      )
      .all(tenant) as { fqn: string; source: string; ready: ConditionStatus | null }[];
    return rows.map((r) => ({ fqn: r.fqn, ready: r.ready ?? undefined, source: JSON.parse(r.source) as SourceRef }));
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
    return this.atomically(fn);
  }

  /** fn in a transaction (a savepoint inside one), and the ref index rolled back with it. */
  private atomically<T>(fn: () => T): T {
    const outermost = !this.db.inTransaction;
    const index = this.refIndex;
    const mark = index?.journal() ?? 0;
    let result: T;
    try {
      result = this.inTransaction(fn);
    } catch (err) {
      // An index loaded inside the rolled-back transaction may hold rows SQLite no longer has.
      if (this.refIndex !== index) this.refIndex = undefined;
      else index?.rollback(mark);
      throw err;
    } finally {
      if (outermost) this.refIndex?.settle();
    }
    if (outermost) this.maintainWhenDue();
    return result;
  }

  create(input: NewResource): McpServerResource {
    return this.write(() => {
      const rv = this.nextResourceVersion();
      const now = this.isoNow();
      const sealed = this.seal(input.manifest);
      const createdBy = JSON.stringify(input.createdBy);
      const row: ResourceRow = {
        id: input.id,
        fqn: input.fqn,
        tenant: input.tenant,
        name: input.name,
        kind: input.manifest.type,
        spec: sealed.spec,
        secrets: sealed.secrets,
        spec_hash: input.specHash,
        generation: 1,
        resource_version: rv,
        source: JSON.stringify(input.source),
        metadata: JSON.stringify(input.metadata),
        account_id: input.accountId,
        created_by: createdBy,
        updated_by: createdBy,
        created_at: now,
        updated_at: now,
        status: JSON.stringify(input.status),
      };
      this.stmt.insert.run({ ...row, view: renderStatusView(storedText(row), input.status, rv) });
      this.refIndex?.set(refOf(input.fqn, input.id, input.tenant, input.name, 1, input.source));
      this.appendChangeText(rv, 'ADDED', input.fqn, maskedResourceText(row), now);
      return resourceOfRow(row, {
        manifest: input.manifest,
        source: input.source,
        metadata: input.metadata,
        createdBy: input.createdBy,
        updatedBy: input.createdBy,
        status: input.status,
      });
    });
  }

  update(fqn: string, update: ResourceUpdate): McpServerResource {
    return this.write(() => {
      // Who created it, and when, stay as stored.
      const stored = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
      if (!stored) throw new Error(`update of ${fqn}: no such resource`);
      const rv = this.nextResourceVersion();
      const now = this.isoNow();
      const sealed = this.seal(update.manifest);
      const row: ResourceRow = {
        ...stored,
        kind: update.manifest.type,
        spec: sealed.spec,
        secrets: sealed.secrets,
        spec_hash: update.specHash,
        generation: update.generation,
        resource_version: rv,
        source: JSON.stringify(update.source),
        metadata: JSON.stringify(update.metadata),
        account_id: update.accountId,
        updated_by: JSON.stringify(update.updatedBy),
        updated_at: now,
        status: JSON.stringify(update.status),
      };
      this.stmt.update.run({ ...row, view: renderStatusView(storedText(row), update.status, rv) });
      this.appendChangeText(rv, 'MODIFIED', fqn, maskedResourceText(row), now);
      this.refIndex?.set(refOf(fqn, row.id, row.tenant, row.name, update.generation, update.source));
      return resourceOfRow(row, {
        manifest: update.manifest,
        source: update.source,
        metadata: update.metadata,
        createdBy: JSON.parse(row.created_by),
        updatedBy: update.updatedBy,
        status: update.status,
      });
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

  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): number | undefined {
    // Compared before writing: this connection is the only writer, and a reconcile that changed nothing
    // (the common case) should cost a read, not a write.
    const row = this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
    if (!row) return undefined;
    // A status computed from an older read (another generation, or a deleted and recreated resource) is dropped.
    if (expect && (row.id !== expect.id || row.generation !== expect.generation)) return undefined;
    const json = JSON.stringify(status);
    // The same text is the common case. Key order may still differ, which keeps the text's length: only
    // texts of one length are decoded and compared.
    if (row.status === json || (row.status.length === json.length && isDeepStrictEqual(JSON.parse(row.status), JSON.parse(json)))) {
      return row.resource_version;
    }
    return this.write(() => {
      // Synchronous, and the only writer: the row read above is still the rest of the resource. The view
      // and the changelog entry are made from its column texts; nothing is decoded or decrypted.
      const rv = this.nextResourceVersion();
      const written = { ...row, status: json, resource_version: rv };
      this.stmt.updateStatus.run(json, rv, renderStatusView(storedText(written), status, rv), fqn);
      this.appendChangeText(rv, 'MODIFIED', fqn, maskedResourceText(written));
      return rv;
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

  onWrite(listener: () => void): () => void {
    this.writeListeners.add(listener);
    return () => void this.writeListeners.delete(listener);
  }

  oldestRetainedResourceVersion(): number {
    const oldest = this.stmt.oldestChange.get() as number | null;
    return oldest ?? this.currentResourceVersion() + 1;
  }

  recordEvent(event: EventInput): void {
    // One statement writes (a bump or an insert), atomic by itself: no savepoint around it (one per
    // event inside a batch's transaction cost more than the read).
    const now = this.isoNow();
    const last = this.stmt.newestEvent.get(event.resourceId) as Pick<EventRow, 'id' | 'type' | 'reason' | 'message'> | undefined;
    // Fold only into the newest event of this resource, so a repeat after something else happened is a new line.
    if (last && last.type === event.type && last.reason === event.reason && last.message === event.message) {
      this.stmt.bumpEvent.run(now, event.actor, last.id);
    } else {
      this.stmt.insertEvent.run(event.fqn, event.resourceId, event.type, event.reason, event.message, event.actor, now, now);
      this.eventsAdded.add(event.resourceId);
    }
    this.written();
  }

  listEvents(query: EventQuery): StoredEvent[] {
    const where: string[] = ['id < ?'];
    const args: unknown[] = [];
    if (query.resourceId !== undefined) {
      where.push('resource_id = ?');
      args.push(query.resourceId);
    }
    if (query.since !== undefined) {
      where.push('last_ts >= ?');
      args.push(query.since);
    }
    const page = this.db.prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`);
    // Newest first, a page at a time, until `limit` events passed the filter: events it refuses do not
    // shorten the answer. (Pages, not one open iterator: the filter may read the store.)
    const chunk = query.filter ? Math.max(query.limit, 100) : query.limit;
    const out: StoredEvent[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    while (out.length < query.limit) {
      const rows = page.all(before, ...args, chunk) as EventRow[];
      for (const row of rows) {
        const e = eventOfRow(row);
        if (query.filter && !query.filter(e)) continue;
        out.push(e);
        if (out.length >= query.limit) break;
      }
      if (rows.length < chunk) break;
      before = rows[rows.length - 1]!.id;
    }
    return out.reverse();
  }

  /**
   * See resealColumn: seals secrets stored before encryption and checks the key against the rest. After a
   * clean close with nothing written since, every value was sealed then: only the key is checked.
   */
  resealSecrets(): number {
    const resealed = this.closedCleanly && checkColumnKey(this.db, 'resources', 'secrets', this.codec) ? 0 : resealColumn(this.db, 'resources', 'fqn', 'secrets', this.codec);
    this.secretsSealed = true;
    return resealed;
  }

  close(): void {
    if (!this.db.open) return;
    // A clean close vouches for the secrets only once resealSecrets has sealed them all (not after it failed).
    if (this.secretsSealed) this.stmt.setClosedCleanlyAt.run(this.currentResourceVersion());
    this.db.close();
  }

  /** One transaction per write, plus bounded housekeeping of the changelog and events now and then. */
  private write<T>(fn: () => T): T {
    const result = this.atomically(fn);
    this.written();
    return result;
  }

  /** After every write: the listeners hear of it, and housekeeping runs when due. */
  private written(): void {
    for (const listener of this.writeListeners) listener();
    this.writesSinceMaintenance++;
    this.maintainWhenDue();
  }

  /**
   * Housekeeping runs outside any transaction (after the outermost one commits, see atomically): a
   * rollback would undo its deletes but not what it remembers of them (eventsAdded, capAllEvents).
   */
  private maintainWhenDue(): void {
    if (this.writesSinceMaintenance < MAINTENANCE_EVERY_WRITES || this.db.inTransaction) return;
    this.writesSinceMaintenance = 0;
    this.inTransaction(() => this.maintain());
  }

  private maintain(): void {
    const now = this.clock.now();
    const keepFrom = this.currentResourceVersion() - this.changelogMinEntries;
    this.stmt.pruneChangelog.run({ keepFrom, before: isoTime(now - this.changelogMinAgeMs) });
    this.stmt.pruneEventsByAge.run(isoTime(now - this.eventMaxAgeMs));
    // Capping every resource scans the whole events table; after the first time only resources with
    // new rows can be over the cap, and each of those is one indexed delete.
    if (this.capAllEvents) {
      this.stmt.pruneEventsPerResource.run(this.eventMaxPerResource);
      this.capAllEvents = false;
    } else {
      for (const id of this.eventsAdded) this.stmt.pruneEventsOfResource.run(id, id, this.eventMaxPerResource);
    }
    this.eventsAdded.clear();
  }

  private nextResourceVersion(): number {
    return this.stmt.nextRv.get() as number;
  }

  /** `masked`: the resource with its secret values masked (the changelog never holds one). */
  private appendChange(rv: number, type: ChangeType, masked: McpServerResource): void {
    this.appendChangeText(rv, type, masked.fqn, JSON.stringify(masked));
  }

  /** `object`: the JSON of the masked resource; `at`: when, if the caller has it already. */
  private appendChangeText(rv: number, type: ChangeType, fqn: string, object: string, at = this.isoNow()): void {
    this.stmt.appendChange.run(rv, type, fqn, object, at);
  }

  /** isoTime of the clock's now, remembered for the millisecond: a write asks it several times. */
  private isoNow(): string {
    const ms = this.clock.now();
    if (ms !== this.isoNowMs) {
      this.isoNowMs = ms;
      this.isoNowText = isoTime(ms);
    }
    return this.isoNowText;
  }

  /** The spec column (the manifest with its secret values masked) and the secrets column of a manifest. */
  private seal(manifest: McpServerManifest): { spec: string; secrets: string } {
    const { spec, secrets } = splitSecrets(manifest);
    const sealed: Record<string, string> = {};
    for (const [pointer, value] of Object.entries(secrets)) sealed[pointer] = this.codec.seal(value);
    return { spec: JSON.stringify(spec), secrets: JSON.stringify(sealed) };
  }

  /**
   * The resource of a row. `manifest`: true for secret values masked (the spec column holds them so),
   * nothing decrypted, for callers that answer or log the resource, which mask it anyway; or the
   * manifest itself, when the caller knows it (see GetOptions.known).
   */
  private fromRow(row: ResourceRow, manifest: boolean | McpServerManifest = false): McpServerResource {
    return resourceOfRow(row, {
      manifest: typeof manifest === 'object' ? manifest : this.manifestOfRow(row, manifest),
      source: JSON.parse(row.source),
      metadata: JSON.parse(row.metadata),
      createdBy: JSON.parse(row.created_by),
      updatedBy: JSON.parse(row.updated_by),
      status: JSON.parse(row.status) as ResourceStatus,
    });
  }

  private manifestOfRow(row: ResourceRow, masked: boolean): McpServerManifest {
    // The spec column is the manifest with every secret value masked (see seal); the secrets are put
    // back into the freshly parsed copy, so nothing needs cloning.
    const manifest = JSON.parse(row.spec) as McpServerManifest;
    if (!masked) {
      const sealed = JSON.parse(row.secrets) as Record<string, string>;
      for (const pointer in sealed) setAtPointer(manifest, pointer, this.codec.open(sealed[pointer]!));
    }
    return manifest;
  }
}

/** A resource from a row's scalar columns and its objects (parsed from the row, or as a write was given them). */
function resourceOfRow(
  row: ResourceRow,
  objects: Pick<McpServerResource, 'manifest' | 'source' | 'metadata' | 'createdBy' | 'updatedBy' | 'status'>,
): McpServerResource {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    fqn: row.fqn,
    manifest: objects.manifest,
    specHash: row.spec_hash,
    generation: row.generation,
    resourceVersion: row.resource_version,
    source: objects.source,
    metadata: objects.metadata,
    createdBy: objects.createdBy,
    updatedBy: objects.updatedBy,
    accountId: row.account_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    status: objects.status,
  };
}

/** The texts of a row that a status write keeps (see renderStatusView). */
function storedText(row: ResourceRow): StoredResourceText {
  return {
    id: row.id,
    fqn: row.fqn,
    name: row.name,
    spec: row.spec,
    createdBy: row.created_by,
    source: row.source,
    metadata: row.metadata,
    accountId: row.account_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    generation: row.generation,
  };
}

/**
 * JSON.stringify(fromRow(row, true)) made from the column texts (each written by JSON.stringify), so the
 * changelog entry of a status write costs no decoding. The members of fromRow, in its order.
 */
function maskedResourceText(row: ResourceRow): string {
  const json = JSON.stringify;
  return (
    `{"id":${json(row.id)},"tenant":${json(row.tenant)},"name":${json(row.name)},"fqn":${json(row.fqn)},"manifest":${row.spec},` +
    `"specHash":${json(row.spec_hash)},"generation":${row.generation},"resourceVersion":${row.resource_version},"source":${row.source},` +
    `"metadata":${row.metadata},"createdBy":${row.created_by},"updatedBy":${row.updated_by},"accountId":${json(row.account_id)},` +
    `"createdAt":${json(row.created_at)},"updatedAt":${json(row.updated_at)},"status":${row.status}}`
  );
}

function eventOfRow(r: EventRow): StoredEvent {
  return {
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
  };
}
