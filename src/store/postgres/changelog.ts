// The changelog: an entry per write keyed by its resourceVersion (resource-version.ts), appended by the
// write's own statement (changeEntry), read in order by watchers, and pruned by age and count.
import type { Change, ChangeType } from '../types.js';
import { changeOfRow, type ChangeRow } from '../change-rows.js';
import type { Queryable } from './connection.js';
import { prepared } from './prepared.js';
import { currentResourceVersion } from './resource-version.js';
import type { Units } from './units.js';

/**
 * A WITH item that appends the changelog entry of a write, from the write's parameters: `rv`, `fqn`,
 * `object` (the JSON of the masked resource after the change: the changelog never holds a secret) and
 * `at` name them; with `from`, one entry per row of that WITH item (none when it has none).
 */
export function changeEntry(type: ChangeType, p: { rv: string; fqn: string; object: string; at: string; from?: string }): string {
  return `change AS (INSERT INTO changelog (resource_version, type, fqn, object, at)
    SELECT ${p.rv}, '${type}', ${p.fqn}, ${p.object}, ${p.at}${p.from ? ` FROM ${p.from}` : ''})`;
}

const SINCE = prepared('changes_since',
  'SELECT resource_version, type, fqn, object, at FROM changelog WHERE resource_version > $1 ORDER BY resource_version LIMIT $2');


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
    const { rows } = await this.db().query<ChangeRow>(SINCE([resourceVersion, limit]));
    return rows.map(changeOfRow);
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
   */
  async prune(client: Queryable, keepFrom: number, before: string): Promise<void> {
    await client.query(
      `DELETE FROM changelog WHERE resource_version < coalesce(
         (SELECT resource_version FROM changelog WHERE resource_version <= $1 AND at >= $2 ORDER BY resource_version LIMIT 1),
         $1 + 1)`,
      [keepFrom, before],
    );
  }
}
