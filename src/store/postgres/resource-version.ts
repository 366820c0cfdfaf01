// resourceVersion on PostgreSQL: a total order that a follower can read without skipping.
//
// Every write bumps the one counter row inside its own transaction. The bump takes that row's lock until
// the transaction ends, so writers pass one at a time from bump to commit: a later resourceVersion never
// commits before an earlier one, and a rolled-back write gives its number back (no gaps). A follower that
// reads `resource_version > last` in order therefore never skips a change. (A SEQUENCE is not such an
// order: its values are handed out at once and commit in any order.)
//
// The lock is held from the bump to the commit: bump last, and keep that stretch to one statement (the
// RESOURCE_VERSION_CTE form), since every round trip under the lock delays every other writer. The stores
// take this row's lock at the start of each write transaction instead (the writer lock, see units.ts), so
// that writers never deadlock and each compare-and-swap reads the current row; they keep the statements
// after it few (one or two per write) and prepared.
import type { Queryable } from './connection.js';

/**
 * A WITH item naming `rv(resource_version)`: the next resourceVersion, bumped in the statement that uses
 * it, e.g. `WITH ${RESOURCE_VERSION_CTE} INSERT INTO changelog (...) SELECT rv.resource_version, ... FROM rv`.
 */
export const RESOURCE_VERSION_CTE =
  "rv AS (UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value AS resource_version)";

/** Bumps the counter in the caller's transaction and answers the new resourceVersion. */
export async function nextResourceVersion(client: Queryable): Promise<number> {
  const result = await client.query<{ resource_version: number }>(`WITH ${RESOURCE_VERSION_CTE} SELECT resource_version FROM rv`);
  const rv = result.rows[0]?.resource_version;
  if (rv === undefined) throw new Error("The counters table has no 'resource_version' row: the schema was not migrated");
  return rv;
}

/** The last resourceVersion committed (as this statement's snapshot sees it). */
export async function currentResourceVersion(client: Queryable): Promise<number> {
  const result = await client.query<{ value: number }>({ name: 'mcp_cp_current_rv', text: "SELECT value FROM counters WHERE name = 'resource_version'" });
  const rv = result.rows[0]?.value;
  if (rv === undefined) throw new Error("The counters table has no 'resource_version' row: the schema was not migrated");
  return rv;
}
