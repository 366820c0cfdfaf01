// The changelog: an entry per write keyed by its resourceVersion (resource-version.ts), appended by the
// write's own statement (changeEntry), read in order by watchers, and pruned by age and count. The
// entries' shapes (a status write's entry holds its status alone) are change-rows.ts's.
import type { Change, ChangeType } from '../types.js';
import { changesOfPage, statusChangeOf, STATUS_ENTRY, type ChangeRow } from '../change-rows.js';
import type { Queryable } from './connection.js';
import { prepared } from './prepared.js';
import { currentResourceVersion } from './resource-version.js';
import type { Units } from './units.js';

/**
 * A WITH item that appends the changelog entry of a write, from the write's parameters: `rv`, `fqn`,
 * `object` (the JSON of the masked resource after the change: the changelog never holds a secret; of a
 * STATUS entry, NULL: the row holds it) and `at` name them; with `from`, one entry per row of that WITH
 * item (none when it has none).
 */
export function changeEntry(type: ChangeType | typeof STATUS_ENTRY, p: { rv: string; fqn: string; object: string; at: string; from?: string }): string {
  return `change AS (INSERT INTO changelog (resource_version, type, fqn, object, at)
    SELECT ${p.rv}, '${type}', ${p.fqn}, ${p.object}, ${p.at}${p.from ? ` FROM ${p.from}` : ''})`;
}

/** An entry's object (`c`): a live resource's latest status entry takes its status from the row (change-rows.ts). */
const OBJECT = 'coalesce(c.object, (SELECT r.status FROM resources AS r WHERE r.fqn = c.fqn AND r.resource_version = c.resource_version)) AS object';

/**
 * A page of entries after $1 (at most $2), in one statement (one snapshot: a prune between two reads
 * cannot take a status entry's full entry away): the first entry of each fqn in the page, when it is a
 * status entry, comes with the full entry it is read on (`base`; index changelog_fqn).
 */
const SINCE = prepared('changes_since', `WITH page AS (
    SELECT resource_version, type, fqn, object, at, row_number() OVER (PARTITION BY fqn ORDER BY resource_version) AS nth
    FROM (SELECT resource_version, type, fqn, ${OBJECT}, at FROM changelog AS c WHERE resource_version > $1 ORDER BY resource_version LIMIT $2) AS p)
  SELECT page.resource_version, page.type, page.fqn, page.object, page.at, b.object AS base FROM page
  LEFT JOIN LATERAL (SELECT f.object FROM changelog AS f
    WHERE page.nth = 1 AND page.type = '${STATUS_ENTRY}' AND f.fqn = page.fqn AND f.resource_version < page.resource_version AND f.type <> '${STATUS_ENTRY}'
    ORDER BY f.resource_version DESC LIMIT 1) AS b ON true
  ORDER BY page.resource_version`);

/**
 * The entries prune writes out in full before it drops entries below $1: of each fqn with an entry
 * below it, the first kept one when it is a status entry, with the full entry it is read on.
 */
const WRITE_OUT = prepared('changelog_write_out', `SELECT k.resource_version, k.type, k.fqn, k.object, k.at, b.object AS base
  FROM (SELECT DISTINCT fqn FROM changelog WHERE resource_version < $1) AS d
  CROSS JOIN LATERAL (SELECT c.resource_version, c.type, c.fqn, ${OBJECT}, c.at FROM changelog AS c WHERE c.fqn = d.fqn AND c.resource_version >= $1 ORDER BY c.resource_version LIMIT 1) AS k
  CROSS JOIN LATERAL (SELECT f.object FROM changelog AS f
    WHERE f.fqn = d.fqn AND f.resource_version < k.resource_version AND f.type <> '${STATUS_ENTRY}'
    ORDER BY f.resource_version DESC LIMIT 1) AS b
  WHERE k.type = '${STATUS_ENTRY}'`);

/** A page's row: a status entry first of its fqn in the page comes with its full entry. */
interface PageRow extends ChangeRow {
  base: string | null;
}


export class PgChangelog {
  constructor(private readonly units: Units) {}

  private db(): Queryable {
    return this.units.reader();
  }

  /** A plain read: in a snapshot (Units.snapshot) it agrees with every other read of the snapshot, holding no lock. */
  currentResourceVersion(): Promise<number> {
    return currentResourceVersion(this.db());
  }

  async changesSince(resourceVersion: number, limit: number): Promise<Change[]> {
    const { rows } = await this.db().query<PageRow>(SINCE([resourceVersion, limit]));
    return changesOfPage(rows, (row) => (row as PageRow).base!);
  }

  async oldestRetainedResourceVersion(): Promise<number> {
    const { rows } = await this.db().query<{ oldest: number | null; current: number }>(
      "SELECT (SELECT min(resource_version) FROM changelog) AS oldest, value AS current FROM counters WHERE name = 'resource_version'",
    );
    const row = rows[0]!;
    return row.oldest ?? row.current + 1;
  }

  /**
   * Drops entries below keepFrom that are older than `before` (ISO time): those up to the first younger
   * one, oldest first (entries are appended in time order), so it reads what it deletes and one more row.
   * A status entry kept whose full entry is dropped is written out in full first. In the caller's
   * transaction.
   */
  async prune(client: Queryable, keepFrom: number, before: string): Promise<void> {
    const { rows } = await client.query<{ cut: number }>(
      `SELECT coalesce(
         (SELECT resource_version FROM changelog WHERE resource_version <= $1 AND at >= $2 ORDER BY resource_version LIMIT 1),
         $1 + 1)::int8 AS cut`,
      [keepFrom, before],
    );
    const cut = Number(rows[0]!.cut);
    const kept = (await client.query<PageRow>(WRITE_OUT([cut]))).rows;
    if (kept.length > 0) {
      const written = kept.map((row) => JSON.stringify(statusChangeOf(row, row.base!).object));
      await client.query(
        `UPDATE changelog AS c SET type = 'MODIFIED', object = w.object
         FROM unnest($1::int8[], $2::text[]) AS w(resource_version, object) WHERE c.resource_version = w.resource_version`,
        [kept.map((row) => row.resource_version), written],
      );
    }
    await client.query('DELETE FROM changelog WHERE resource_version < $1', [cut]);
  }
}
