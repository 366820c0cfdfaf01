// Reads of the resources table: by name or id, pages (as resources or as their stored views), and
// the cheap projections (readiness, keys, count). A tag selector or a reader's scope is answered from the
// resource_tags and resource_readers indexes (kept by triggers, see resource-migrations.ts): its cost
// follows the resources selected, not the store's size.
import type Database from 'better-sqlite3';
import { isPolicyScope } from '../../domain/policy.js';
import { inReadScope } from '../../domain/read-scope.js';
import type { McpServerResource, SourceRef } from '../../domain/resource.js';
import type { GetOptions, ListQuery, ReadinessCount, ResourceSyncState, StoredAnswerTexts } from '../types.js';
import { COLUMNS, type ResourceRow, type RowCodec } from '../resource-rows.js';

/** The resources table's columns, qualified by the alias r. */
const R_COLUMNS = COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ');

/** A list query's selection from the indexes: the (name, fqn) of its resources, and the statement's arguments. */
interface Selection {
  sql: string;
  args: unknown[];
  shape: string;
}

export class SqliteResourceReads {
  private readonly stmt;
  /** Statements of indexed selections, by shape (which of tag, scope and name it has) and use. */
  private readonly selections = new Map<string, Database.Statement>();

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
      syncStates: db.prepare("SELECT fqn, generation, coalesce(json_extract(status, '$.observedGeneration'), 0) AS observedGeneration FROM resources"),
      count: db.prepare('SELECT count(*) FROM resources').pluck(),
      readinessCounts: db.prepare('SELECT source, ready, count FROM resource_counts WHERE tenant = ? AND count > 0'),
      sourcesOf: db.prepare('SELECT fqn, source FROM resources WHERE fqn IN (SELECT value FROM json_each(?))'),
      listTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name`),
      listTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name`),
      listAccount: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND account_id = ? ORDER BY name`),
      listAccountName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND account_id = ? AND name = ? ORDER BY name`),
      viewOf: db.prepare('SELECT view FROM resources WHERE fqn = ?').pluck(),
      // The views of the keys given (a JSON array), each by the primary key. Not ordered here: an ORDER BY
      // would copy every view into a sorter (malloc'd) first; viewsOf orders them.
      viewsOf: db.prepare('SELECT r.fqn, r.view FROM json_each(?) AS k CROSS JOIN resources AS r ON r.fqn = k.value'),
      // A tenant's servers as resource_counts keeps them (one row per source and Ready status), not an index
      // scan that grows with the fleet; a policies' scope is not counted there and holds a few rows.
      countServers: db.prepare('SELECT coalesce(sum(count), 0) FROM resource_counts WHERE tenant = ?').pluck(),
      countTenant: db.prepare('SELECT count(*) FROM resources WHERE tenant = ?').pluck(),
      countTenantName: db.prepare('SELECT count(*) FROM resources WHERE tenant = ? AND name = ?').pluck(),
      pageTenant: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?`),
      pageTenantName: db.prepare(`SELECT ${COLUMNS} FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?`),
      viewsTenant: db.prepare('SELECT view FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      viewsTenantName: db.prepare('SELECT view FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      keysTenant: db.prepare('SELECT fqn FROM resources WHERE tenant = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
      keysTenantName: db.prepare('SELECT fqn FROM resources WHERE tenant = ? AND name = ? ORDER BY name LIMIT ? OFFSET ?').pluck(),
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
    const selection = this.selection(query);
    if (selection) {
      const total = this.selected(selection, 'count', 'SELECT count(*) FROM (%s)').pluck().get(...selection.args) as number;
      const rows = this.selected(selection, 'rows', `SELECT ${R_COLUMNS} FROM (%s ORDER BY name LIMIT ? OFFSET ?) AS m CROSS JOIN resources AS r ON r.fqn = m.fqn ORDER BY m.name`)
        .all(...selection.args, query.limit, query.offset) as ResourceRow[];
      return { items: rows.map((r) => this.rows.fromRow(r, query.masked === true)), total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      // The common case pages in SQL, so a page of 100 out of 10,000 decodes 100 rows.
      const masked = query.masked === true;
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const total = this.countOf(query.tenant, query.name);
      const page = (byName ? this.stmt.pageTenantName : this.stmt.pageTenant).all(...args, query.limit, query.offset) as ResourceRow[];
      return { items: page.map((r) => this.rows.fromRow(r, masked)), total };
    }
    const matching = this.matching(query, query.masked === true);
    return { items: matching.slice(query.offset, query.offset + query.limit).map((m) => m.resource), total: matching.length };
  }

  /** How many resources a tenant (or a name in it) holds: servers from their kept counts. */
  private countOf(tenant: string, name: string | undefined): number {
    if (name !== undefined) return this.stmt.countTenantName.get(tenant, name) as number;
    return (isPolicyScope(tenant) ? this.stmt.countTenant : this.stmt.countServers).get(tenant) as number;
  }

  listViews(query: ListQuery): { views: string[]; total: number } {
    const selection = this.selection(query);
    if (selection) {
      const total = this.selected(selection, 'count', 'SELECT count(*) FROM (%s)').pluck().get(...selection.args) as number;
      const views = this.selected(selection, 'views', 'SELECT r.view FROM (%s ORDER BY name LIMIT ? OFFSET ?) AS m CROSS JOIN resources AS r ON r.fqn = m.fqn ORDER BY m.name')
        .pluck()
        .all(...selection.args, query.limit, query.offset) as string[];
      return { views, total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const views = (byName ? this.stmt.viewsTenantName : this.stmt.viewsTenant).all(...args, query.limit, query.offset) as string[];
      // A first page that is not full holds every row: its length is the total, and no count is read (the
      // policies' version reads its scope so at every admission review).
      const total = query.offset === 0 && views.length < query.limit ? views.length : this.countOf(query.tenant, query.name);
      return { views, total };
    }
    // A filter reads the resources (masked: nothing is decrypted); only the page's views are read.
    const matching = this.matching(query, true);
    return { views: matching.slice(query.offset, query.offset + query.limit).map((m) => this.stmt.viewOf.get(m.row.fqn) as string), total: matching.length };
  }

  listKeys(query: ListQuery): { fqns: string[]; total: number } {
    const selection = this.selection(query);
    if (selection) {
      const total = this.selected(selection, 'count', 'SELECT count(*) FROM (%s)').pluck().get(...selection.args) as number;
      const fqns = this.selected(selection, 'keys', 'SELECT m.fqn FROM (%s ORDER BY name LIMIT ? OFFSET ?) AS m ORDER BY m.name')
        .pluck()
        .all(...selection.args, query.limit, query.offset) as string[];
      return { fqns, total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      const byName = query.name !== undefined;
      const args = byName ? [query.tenant, query.name] : [query.tenant];
      const total = this.countOf(query.tenant, query.name);
      const fqns = (byName ? this.stmt.keysTenantName : this.stmt.keysTenant).all(...args, query.limit, query.offset) as string[];
      return { fqns, total };
    }
    const matching = this.matching(query, true);
    return { fqns: matching.slice(query.offset, query.offset + query.limit).map((m) => m.row.fqn), total: matching.length };
  }

  viewsOf(fqns: readonly string[]): string[] {
    const rows = this.stmt.viewsOf.all(JSON.stringify(fqns)) as { fqn: string; view: string }[];
    const views = new Map(rows.map((r) => [r.fqn, r.view]));
    return fqns.flatMap((fqn) => views.get(fqn) ?? []);
  }

  /**
   * The (name, fqn) of the resources a tag or a scope selects, from the indexes; undefined for a query
   * without either, or with a filter (which must see each resource).
   */
  private selection(query: ListQuery): Selection | undefined {
    const { tag, readableBy: scope, name, account } = query;
    if ((!tag && !scope && account === undefined) || query.filter) return undefined;
    const inScope = (alias: string) =>
      `${alias}.account_id IN (SELECT value FROM json_each(?)) AND ${alias}.subject IN (SELECT value FROM json_each(?))`;
    const scopeArgs = scope ? [JSON.stringify(scope.accounts), JSON.stringify(scope.subjects)] : [];
    const shape = `${tag ? 't' : ''}${scope ? 's' : ''}${name !== undefined ? 'n' : ''}${account !== undefined ? 'a' : ''}`;
    const byName = name !== undefined ? [name] : [];
    const ofAccount = account !== undefined ? [account] : [];
    if (tag) {
      // Driven by the tag's index entries, in name order; the scope and the account are checked per entry by its fqn.
      return {
        shape,
        sql:
          'SELECT t.name AS name, t.fqn AS fqn FROM resource_tags AS t WHERE t.tenant = ? AND t.tag_key = ? AND t.tag_value = ?' +
          (name !== undefined ? ' AND t.name = ?' : '') +
          (scope ? ` AND EXISTS (SELECT 1 FROM resource_readers AS a WHERE a.fqn = t.fqn AND ${inScope('a')})` : '') +
          (account !== undefined ? ' AND EXISTS (SELECT 1 FROM resources AS x WHERE x.fqn = t.fqn AND x.account_id = ?)' : ''),
        args: [query.tenant, tag.key, tag.value, ...byName, ...scopeArgs, ...ofAccount],
      };
    }
    if (scope) {
      return {
        shape,
        sql:
          `SELECT DISTINCT a.name AS name, a.fqn AS fqn FROM resource_readers AS a WHERE a.tenant = ? AND ${inScope('a')}` +
          (name !== undefined ? ' AND a.name = ?' : '') +
          (account !== undefined ? ' AND a.account_id = ?' : ''),
        args: [query.tenant, ...scopeArgs, ...byName, ...ofAccount],
      };
    }
    // An account alone: its index (resources_account) in name order.
    return {
      shape,
      sql: 'SELECT r.name AS name, r.fqn AS fqn FROM resources AS r WHERE r.tenant = ? AND r.account_id = ?' + (name !== undefined ? ' AND r.name = ?' : ''),
      args: [query.tenant, account, ...byName],
    };
  }

  /** The statement that wraps a selection (`%s` in template), prepared once per shape. */
  private selected(selection: Selection, use: string, template: string): Database.Statement {
    const key = `${use}:${selection.shape}`;
    let stmt = this.selections.get(key);
    if (!stmt) {
      stmt = this.db.prepare(template.replace('%s', selection.sql));
      this.selections.set(key, stmt);
    }
    return stmt;
  }

  /** The rows of a list query with a filter, which read every resource of the tenant (or of its account, or name). */
  private matching(query: ListQuery, masked: boolean): { row: ResourceRow; resource: McpServerResource }[] {
    const rows = (
      query.account !== undefined
        ? query.name !== undefined
          ? this.stmt.listAccountName.all(query.tenant, query.account, query.name)
          : this.stmt.listAccount.all(query.tenant, query.account)
        : query.name !== undefined
          ? this.stmt.listTenantName.all(query.tenant, query.name)
          : this.stmt.listTenant.all(query.tenant)
    ) as ResourceRow[];
    let matching = rows.map((row) => ({ row, resource: this.rows.fromRow(row, masked) }));
    if (query.tag) {
      const { key, value } = query.tag;
      matching = matching.filter((m) => m.resource.manifest.tags[key] === value);
    }
    const scope = query.readableBy;
    if (scope) matching = matching.filter((m) => inReadScope(scope, m.resource.accountId, m.resource.manifest.collaborators));
    const filter = query.filter;
    return filter ? matching.filter((m) => filter(m.resource)) : matching;
  }

  readinessCounts(tenant: string): ReadinessCount[] {
    return this.stmt.readinessCounts.all(tenant) as ReadinessCount[];
  }

  sourcesOf(fqns: readonly string[]): Map<string, SourceRef> {
    const rows = this.stmt.sourcesOf.all(JSON.stringify(fqns)) as { fqn: string; source: string }[];
    return new Map(rows.map((r) => [r.fqn, JSON.parse(r.source) as SourceRef]));
  }

  syncStates(): ResourceSyncState[] {
    return this.stmt.syncStates.all() as ResourceSyncState[];
  }

  keys(): string[] {
    return this.stmt.keys.all() as string[];
  }

  count(): number {
    return this.stmt.count.get() as number;
  }
}
