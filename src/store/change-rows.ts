// The changelog table's row and the change it is: the same columns and entry shapes on both engines.
//
// An entry holds the masked resource after its write, except the entry of a status write, which changes
// only the status and the resourceVersion: it is stored with type STATUS and the status alone as its
// object, and read as a MODIFIED change: the resource of the nearest full entry of its fqn before it, with
// that status and resourceVersion. So the changelog of a sync (a create, then a status or two per server)
// holds each manifest once, not once per write. Pruning never leaves a status entry without its full
// entry: the first one kept of an fqn whose full entry goes is written out in full first.
// The status entry of a live resource's current resourceVersion keeps no copy of the status either: its
// object is NULL and reads answer the row's status (the row is at that resourceVersion); a trigger
// copies the row's status into it when the row's resourceVersion moves on or the row is deleted. So a
// settled fleet's changelog holds no status that its rows hold.
import type { McpServerResource } from '../domain/resource.js';
import type { Change, ChangeType } from './types.js';

/** The stored type of a status write's entry (read as MODIFIED). */
export const STATUS_ENTRY = 'STATUS';

export interface ChangeRow {
  resource_version: number;
  type: ChangeType | typeof STATUS_ENTRY;
  fqn: string;
  /** As read (never NULL but for a row and entry that disagree, see statusChangeOf). */
  object: string;
  at: string;
}

/** A full entry's change. */
export function changeOfRow(r: ChangeRow): Change {
  return {
    resourceVersion: r.resource_version,
    type: r.type as ChangeType,
    fqn: r.fqn,
    object: JSON.parse(r.object) as McpServerResource,
    at: r.at,
  };
}

/** A status entry read as the resource of its full entry `base` (its object's JSON) with its status and resourceVersion. */
export function statusChangeOf(row: ChangeRow, base: string): Change {
  // Read with the row's status while it holds none: never NULL unless the row and its entry disagree.
  if (row.object === null) throw new Error(`changelog entry ${row.resource_version} (${row.fqn}) holds no status and its row is at another resourceVersion`);
  const object = JSON.parse(base) as McpServerResource;
  object.resourceVersion = row.resource_version;
  object.status = JSON.parse(row.object) as McpServerResource['status'];
  return { resourceVersion: row.resource_version, type: 'MODIFIED', fqn: row.fqn, object, at: row.at };
}

/**
 * The changes of a page of rows in resourceVersion order. A status entry is read on the nearest full
 * entry of its fqn before it: a full entry of the page, else `baseOf(row)` (asked once per fqn, for the
 * first status entry of the fqn that the page holds no full entry before).
 */
export function changesOfPage(rows: readonly ChangeRow[], baseOf: (row: ChangeRow) => string): Change[] {
  const bases = new Map<string, string>();
  return rows.map((row) => {
    if (row.type !== STATUS_ENTRY) {
      bases.set(row.fqn, row.object);
      return changeOfRow(row);
    }
    let base = bases.get(row.fqn);
    if (base === undefined) {
      base = baseOf(row);
      bases.set(row.fqn, base);
    }
    return statusChangeOf(row, base);
  });
}
