// Reads of the resources table: by name or id, pages (as resources or as their stored views), and
// the cheap projections (readiness, keys, count).
import type Database from 'better-sqlite3';
import type { ConditionStatus, McpServerResource, SourceRef } from '../../domain/resource.js';
import type { GetOptions, ListQuery, ResourceReadiness, StoredAnswerTexts } from '../types.js';
import { COLUMNS, type ResourceRow, type RowCodec } from '../resource-rows.js';

export class SqliteResourceReads {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly rows: RowCodec,
  ) {
    this.stmt = {
      byFqn: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE fqn = ?`),
      byFqnViewed: db.prepare(`SELECT ${COLUMNS}, view FROM resources WHERE fqn = ?`),
      byId: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE id = ?`),
      versionOf: db.prepare('SELECT resource_version FROM resources WHERE fqn = ?').pluck(),
      keys: db.prepare('SELECT fqn FROM resources ORDER BY fqn').pluck(),
      count: db.prepare('SELECT count(*) FROM resources').pluck(),
      listTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name`),
      listTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name`),
      viewOf: db.prepare('SELECT view FROM resources WHERE fqn = ?').pluck(),
      countTenant: db.prepare('SELECT count(*) FROM resources WHERE tenant = ?').pluck(),
      countTenantName: db.prepare('SELECT count(*) FROM resources WHERE tenant = ? AND name = ?').pluck(),
      pageTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?`),
      pageTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?`),
      viewsTenant: db.prepare('SELECT view FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      viewsTenantName: db.prepare('SELECT view FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
    };
  }

  /** The row of a resource, every column but its view. */
  row(fqn: string): ResourceRow | undefined {
    return this.stmt.byFqn.get(fqn) as ResourceRow | undefined;
  }

  /** The stored resourceVersion of a resource; undefined when there is none. */
  versionOf(fqn: string): number | undefined {
    return this.stmt.versionOf.get(fqn) as number | undefined;
  }

  get(fqn: string, options?: GetOptions): McpServerResource | undefined {
    const row = this.row(fqn);
    return row && this.rows.fromKnownRow(row, options);
  }

  getWithAnswer(fqn: string, options?: GetOptions): { resource: McpServerResource; answer: StoredAnswerTexts } | undefined {
    const row = this.stmt.byFqnViewed.get(fqn) as (ResourceRow & { view: string }) | undefined;
    // The spec column is the masked manifest's JSON (see RowCodec.seal), the very text the view holds.
    return row && { resource: this.rows.fromKnownRow(row, options), answer: { view: row.view, maskedManifest: row.spec } };
  }

  getById(id: string): McpServerResource | undefined {
    const row = this.stmt.byId.get(id) as ResourceRow | undefined;
    return row && this.rows.fromRow(row);
  }

  list(query: ListQuery): { items: McpServerResource[]; total: number } {
    if (!query.tag && !query.filter) {
      // The common case pages in SQL, so a page of 100 out of 10,000 decodes 100 rows.
      const masked = query.masked === true;
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const total = (byName ? this.stmt.countTenantName : this.stmt.countTenant).get(...args) as number;
      const page = (byName ? this.stmt.pageTenantName : this.stmt.pageTenant).all(...args, query.limit, query.offset) as ResourceRow[];
      return { items: page.map((r) => this.rows.fromRow(r, masked)), total };
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
    let matching = rows.map((row) => ({ row, resource: this.rows.fromRow(row, masked) }));
    if (query.tag) {
      const { key, value } = query.tag;
      matching = matching.filter((m) => m.resource.manifest.tags[key] === value);
    }
    const filter = query.filter;
    return filter ? matching.filter((m) => filter(m.resource)) : matching;
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

  keys(): string[] {
    return this.stmt.keys.all() as string[];
  }

  count(): number {
    return this.stmt.count.get() as number;
  }
}
