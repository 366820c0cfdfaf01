// Reads of the resources table: by name or id, pages (as resources or as their stored views), the cheap
// projections (readiness, keys, count) and the refs of the source inventory. Each runs in the caller's
// unit when there is one, else on the pool. A tag selector or a reader's scope is answered from the
// resource_tags and resource_readers indexes (kept by a trigger, see migrations.ts): its cost follows the
// resources selected, not the store's size.
import { isPolicyScope } from '../../domain/policy.js';
import { inReadScope } from '../../domain/read-scope.js';
import type { ConditionStatus, McpServerResource, SourceRef } from '../../domain/resource.js';
import { COLUMNS, type ResourceRow, type RowCodec } from '../resource-rows.js';
import type { GetOptions, ListQuery, ReadinessCount, ResourceRef, ResourceSyncState, StoredAnswerTexts } from '../types.js';
import type { Queryable } from './connection.js';
import { prepared } from './prepared.js';

/** Names in byte order, as SQLite sorts them, whatever the database's collation. */
const BY_NAME = 'ORDER BY name COLLATE "C"';

const ROW = prepared('row', `SELECT ${COLUMNS} FROM resources WHERE fqn = $1`);
const ROW_VIEWED = prepared('row_viewed', `SELECT ${COLUMNS}, view FROM resources WHERE fqn = $1`);
const READINESS_COUNTS = prepared('readiness_counts', 'SELECT source, ready, count FROM resource_counts WHERE tenant = $1 AND count > 0');
const ROW_BY_ID = prepared('row_by_id', `SELECT ${COLUMNS} FROM resources WHERE id = $1`);
/** In the order of the keys given; a key with no row is left out. */
const VIEWS_OF = prepared('views_of', 'SELECT r.view FROM unnest($1::text[]) WITH ORDINALITY AS k(fqn, i) JOIN resources AS r ON r.fqn = k.fqn ORDER BY k.i');

/** The resources table's columns, qualified by the alias r. */
const R_COLUMNS = COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ');

/** A list query's selection from the indexes: the (name, fqn) of its resources, and the statement's arguments. */
interface Selection {
  sql: string;
  args: unknown[];
  shape: string;
}

/**
 * The (name, fqn) of the resources a tag or a scope selects, from the indexes; undefined for a query
 * without either, or with a filter (which must see each resource).
 */
function selectionOf(query: ListQuery): Selection | undefined {
  const { tag, readableBy: scope, name, account } = query;
  if ((!tag && !scope && account === undefined) || query.filter) return undefined;
  const args: unknown[] = [query.tenant];
  const arg = (value: unknown) => `$${args.push(value)}`;
  const shape = `${tag ? 't' : ''}${scope ? 's' : ''}${name !== undefined ? 'n' : ''}${account !== undefined ? 'a' : ''}`;
  if (tag) {
    // Driven by the tag's index entries, in name order; the scope and the account are checked per entry by its fqn.
    let sql = `SELECT t.name, t.fqn FROM resource_tags AS t WHERE t.tenant = $1 AND t.tag_key = ${arg(tag.key)} AND t.tag_value = ${arg(tag.value)}`;
    if (name !== undefined) sql += ` AND t.name = ${arg(name)}`;
    if (scope) {
      sql += ` AND EXISTS (SELECT 1 FROM resource_readers AS a WHERE a.fqn = t.fqn AND a.account_id = ANY(${arg(scope.accounts)}::text[]) AND a.subject = ANY(${arg(scope.subjects)}::text[]))`;
    }
    if (account !== undefined) sql += ` AND EXISTS (SELECT 1 FROM resources AS x WHERE x.fqn = t.fqn AND x.account_id = ${arg(account)})`;
    return { sql, args, shape };
  }
  if (scope) {
    let sql = `SELECT DISTINCT a.name, a.fqn FROM resource_readers AS a WHERE a.tenant = $1 AND a.account_id = ANY(${arg(scope.accounts)}::text[]) AND a.subject = ANY(${arg(scope.subjects)}::text[])`;
    if (name !== undefined) sql += ` AND a.name = ${arg(name)}`;
    if (account !== undefined) sql += ` AND a.account_id = ${arg(account)}`;
    return { sql, args, shape };
  }
  // An account alone: its index (resources_account) in name order.
  let sql = `SELECT r.name COLLATE "C" AS name, r.fqn FROM resources AS r WHERE r.tenant = $1 AND r.account_id = ${arg(account)}`;
  if (name !== undefined) sql += ` AND r.name = ${arg(name)}`;
  return { sql, args, shape };
}

export class PgResourceReads {
  constructor(
    private readonly db: () => Queryable,
    private readonly rows: RowCodec,
  ) {}

  /** The row of a resource, every column but its view. */
  async row(fqn: string): Promise<ResourceRow | undefined> {
    return (await this.db().query<ResourceRow>(ROW([fqn]))).rows[0];
  }

  async get(fqn: string, options?: GetOptions): Promise<McpServerResource | undefined> {
    const row = await this.row(fqn);
    return row && this.rows.fromKnownRow(row, options);
  }

  async getWithAnswer(fqn: string, options?: GetOptions): Promise<{ resource: McpServerResource; answer: StoredAnswerTexts } | undefined> {
    const row = (await this.db().query<ResourceRow & { view: string }>(ROW_VIEWED([fqn]))).rows[0];
    // The spec column is the masked manifest's JSON (see RowCodec.seal), the very text the view holds.
    return row && { resource: this.rows.fromKnownRow(row, options), answer: { view: row.view, maskedManifest: row.spec } };
  }

  async getById(id: string): Promise<McpServerResource | undefined> {
    const row = (await this.db().query<ResourceRow>(ROW_BY_ID([id]))).rows[0];
    return row && this.rows.fromRow(row);
  }

  async list(query: ListQuery): Promise<{ items: McpServerResource[]; total: number }> {
    const selection = selectionOf(query);
    if (selection) {
      const { total, rows } = await this.selected<ResourceRow>('rows', R_COLUMNS, selection, query);
      return { items: rows.map((r) => this.rows.fromRow(r, query.masked === true)), total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      // The common case pages in SQL, so a page of 100 out of 10,000 decodes 100 rows.
      const { total, rows } = await this.page<ResourceRow>('rows', COLUMNS, query);
      return { items: rows.map((r) => this.rows.fromRow(r, query.masked === true)), total };
    }
    const matching = await this.matching<ResourceRow>(COLUMNS, query, query.masked === true);
    return { items: matching.slice(query.offset, query.offset + query.limit).map((m) => m.resource), total: matching.length };
  }

  async listViews(query: ListQuery): Promise<{ views: string[]; total: number }> {
    const selection = selectionOf(query);
    if (selection) {
      const { total, rows } = await this.selected<{ view: string }>('views', 'r.view', selection, query);
      return { views: rows.map((r) => r.view), total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      const { total, rows } = await this.page<{ view: string }>('views', 'view', query);
      return { views: rows.map((r) => r.view), total };
    }
    // A filter reads the resources (masked: nothing is decrypted); only the page's views are read.
    const matching = await this.matching<ResourceRow>(COLUMNS, query, true);
    const page = matching.slice(query.offset, query.offset + query.limit).map((m) => m.row.fqn);
    if (page.length === 0) return { views: [], total: matching.length };
    const { rows } = await this.db().query<{ fqn: string; view: string }>('SELECT fqn, view FROM resources WHERE fqn = ANY($1)', [page]);
    const views = new Map(rows.map((r) => [r.fqn, r.view]));
    // A resource removed between the two reads (outside a unit) leaves the page.
    return { views: page.flatMap((fqn) => views.get(fqn) ?? []), total: matching.length };
  }

  async listKeys(query: ListQuery): Promise<{ fqns: string[]; total: number }> {
    const selection = selectionOf(query);
    if (selection) {
      const { total, rows } = await this.selected<{ fqn: string }>('keys', 'r.fqn', selection, query);
      return { fqns: rows.map((r) => r.fqn), total };
    }
    if (!query.tag && !query.filter && !query.readableBy && query.account === undefined) {
      const { total, rows } = await this.page<{ fqn: string }>('keys', 'fqn', query);
      return { fqns: rows.map((r) => r.fqn), total };
    }
    const matching = await this.matching<ResourceRow>(COLUMNS, query, true);
    return { fqns: matching.slice(query.offset, query.offset + query.limit).map((m) => m.row.fqn), total: matching.length };
  }

  async viewsOf(fqns: readonly string[]): Promise<string[]> {
    if (fqns.length === 0) return [];
    const { rows } = await this.db().query<{ view: string }>(VIEWS_OF([fqns]));
    return rows.map((r) => r.view);
  }

  /**
   * One page of a tenant (or of a name in it) in name order, and the count of all of them, in one
   * statement; `use` names the statement (one per columns).
   */
  private async page<R>(use: 'rows' | 'views' | 'keys', columns: string, query: ListQuery): Promise<{ total: number; rows: R[] }> {
    const byName = query.name !== undefined;
    const where = byName ? 'tenant = $1 AND name = $2' : 'tenant = $1';
    const args: unknown[] = byName ? [query.tenant, query.name] : [query.tenant];
    const n = args.length;
    // A tenant's servers as resource_counts keeps them, not a scan that grows with the fleet; a name (one
    // row at most) and a policies' scope (not counted there, a few rows) are counted.
    const counted = !byName && !isPolicyScope(query.tenant);
    const total = counted ? 'SELECT coalesce(sum(count), 0)::int8 AS total FROM resource_counts WHERE tenant = $1' : `SELECT count(*)::int8 AS total FROM resources WHERE ${where}`;
    const { rows } = await this.db().query<R & { total: number; in_page: string | null }>(
      prepared(`page_${use}_${byName}_${counted}`, `SELECT t.total, p.* FROM (${total}) t
         LEFT JOIN LATERAL (SELECT ${columns}, name COLLATE "C" AS in_page FROM resources WHERE ${where} ${BY_NAME}
           LIMIT $${n + 1} OFFSET $${n + 2}) p ON true ORDER BY p.in_page`)([...args, query.limit, query.offset]),
    );
    // An empty page: the one row of the count, with nulls for the page's columns (in_page: the sort key).
    const page = rows.filter((r) => r.in_page !== null).map(({ total: _t, in_page: _p, ...row }) => row as unknown as R);
    return { total: rows[0]?.total ?? 0, rows: page };
  }

  /** One page of a selection in name order, and the count of all of it, in one statement; `use` names the statement. */
  private async selected<R>(use: 'rows' | 'views' | 'keys', columns: string, selection: Selection, query: ListQuery): Promise<{ total: number; rows: R[] }> {
    const n = selection.args.length;
    const { rows } = await this.db().query<R & { total: number; in_page: string | null }>(
      prepared(`selection_${use}_${selection.shape}`, `WITH m AS (${selection.sql})
         SELECT t.total, p.* FROM (SELECT count(*)::int8 AS total FROM m) t
         LEFT JOIN LATERAL (SELECT ${columns}, m.name AS in_page FROM (SELECT name, fqn FROM m ORDER BY name LIMIT $${n + 1} OFFSET $${n + 2}) AS m
           JOIN resources AS r ON r.fqn = m.fqn) p ON true ORDER BY p.in_page`)([...selection.args, query.limit, query.offset]),
    );
    const page = rows.filter((r) => r.in_page !== null).map(({ total: _t, in_page: _p, ...row }) => row as unknown as R);
    return { total: rows[0]?.total ?? 0, rows: page };
  }

  /** The rows of a list query with a filter, which read every resource of the tenant (or of its account, or name). */
  private async matching<R extends ResourceRow>(columns: string, query: ListQuery, masked: boolean): Promise<{ row: R; resource: McpServerResource }[]> {
    const args: unknown[] = [query.tenant];
    let where = 'tenant = $1';
    if (query.account !== undefined) where += ` AND account_id = $${args.push(query.account)}`;
    if (query.name !== undefined) where += ` AND name = $${args.push(query.name)}`;
    const { rows } = await this.db().query<R>(`SELECT ${columns} FROM resources WHERE ${where} ${BY_NAME}`, args);
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

  async readinessCounts(tenant: string): Promise<ReadinessCount[]> {
    const { rows } = await this.db().query<{ source: string; ready: ConditionStatus; count: string }>(READINESS_COUNTS([tenant]));
    return rows.map((r) => ({ source: r.source, ready: r.ready, count: Number(r.count) }));
  }

  async sourcesOf(fqns: readonly string[]): Promise<Map<string, SourceRef>> {
    const { rows } = await this.db().query<{ fqn: string; source: string }>('SELECT fqn, source FROM resources WHERE fqn = ANY($1::text[])', [fqns]);
    return new Map(rows.map((r) => [r.fqn, JSON.parse(r.source) as SourceRef]));
  }

  async syncStates(): Promise<ResourceSyncState[]> {
    const { rows } = await this.db().query<{ fqn: string; generation: string; observed: string | null }>(
      `SELECT fqn, generation, status::json ->> 'observedGeneration' AS observed FROM resources`,
    );
    return rows.map((r) => ({ fqn: r.fqn, generation: Number(r.generation), observedGeneration: Number(r.observed ?? 0) }));
  }

  async keys(): Promise<string[]> {
    return (await this.db().query<{ fqn: string }>('SELECT fqn FROM resources ORDER BY fqn COLLATE "C"')).rows.map((r) => r.fqn);
  }

  async count(): Promise<number> {
    return (await this.db().query<{ n: number }>('SELECT count(*)::int8 AS n FROM resources')).rows[0]!.n;
  }

  /** The refs of a tenant's resources, of those a watched directory manages, or of one file of it. */
  async refs(tenant: string, root?: string, path?: string): Promise<ResourceRef[]> {
    const args: unknown[] = [tenant];
    let where = 'tenant = $1';
    if (root !== undefined) {
      args.push(root);
      where += ` AND (source::jsonb ->> 'root') = $2 AND (source::jsonb ->> 'kind') = 'file'`;
      if (path !== undefined) {
        args.push(path);
        where += ` AND (source::jsonb ->> 'path') = $3`;
      }
    }
    const { rows } = await this.db().query<Pick<ResourceRow, 'fqn' | 'id' | 'tenant' | 'name' | 'generation' | 'source'>>(
      `SELECT fqn, id, tenant, name, generation, source FROM resources WHERE ${where}`,
      args,
    );
    return rows.map((r) => Object.freeze({ fqn: r.fqn, id: r.id, tenant: r.tenant, name: r.name, generation: r.generation, source: Object.freeze(JSON.parse(r.source) as SourceRef) }));
  }
}
