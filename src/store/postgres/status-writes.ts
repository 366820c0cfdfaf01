// Status writes: compared before writing (a reconcile that changed nothing costs a read), and made from
// the row's column texts (the view): nothing is decoded or decrypted. The changelog entry is a STATUS
// entry whose status is the row's (see change-rows.ts). The write is a compare-and-swap on the resourceVersion of
// the row the status was compared with.
import { isDeepStrictEqual } from 'node:util';
import type { ResourceStatus } from '../../domain/resource.js';
import { STATUS_ENTRY } from '../change-rows.js';
import { storedText } from '../resource-rows.js';
import type { ViewRenderer } from '../view-renderer.js';
import { changeEntry } from './changelog.js';
import { OutOfStepError } from './out-of-step.js';
import type { Unit } from './units.js';
import { prepared } from './prepared.js';
import type { PgResourceReads } from './resource-reads.js';
import type { Notice } from './resource-writes.js';

const RACED = Symbol('raced');

/**
 * A status at resourceVersion $3 (the unit's + 1) while the row is still at the resourceVersion ($2) the
 * status was compared with: answers the resourceVersion written (null when the row moved) and the counter
 * as held before.
 */
const WRITE = prepared('write_status', `WITH rv AS (UPDATE counters SET value = value + 1 WHERE name = 'resource_version'
      AND value = $3::int8 - 1 AND EXISTS (SELECT 1 FROM resources WHERE fqn = $1 AND resource_version = $2::int8) RETURNING value),
    written AS (UPDATE resources SET status = $4, resource_version = rv.value, view = $5, view_rv = rv.value FROM rv WHERE fqn = $1),
    ${changeEntry(STATUS_ENTRY, { rv: 'rv.value', fqn: '$1', object: 'NULL::text', at: '$6', from: 'rv' })}
  SELECT (SELECT value FROM rv) AS resource_version, c.value AS held, (SELECT pg_notify($7, $8) FROM rv) AS notified
  FROM counters c WHERE c.name = 'resource_version'`);

/** Runs fn in the engine's write transaction (the caller's unit, or one of its own). */
export type WriteIn = <T>(fn: (unit: Unit) => Promise<T>) => Promise<T>;

export class PgStatusWrites {
  constructor(
    private readonly reads: PgResourceReads,
    private readonly views: ViewRenderer,
  ) {}

  /** See StatusWriter.setStatus. */
  async setStatus(
    fqn: string,
    status: ResourceStatus,
    expect: { id: string; generation: number } | undefined,
    write: WriteIn,
    now: () => string,
    notice: Notice,
  ): Promise<number | undefined> {
    // Another writer may commit between the read and the write: the write then finds another
    // resourceVersion and writes nothing, and the status is decided again on a fresh read.
    for (;;) {
      const written = await this.attempt(fqn, status, expect, write, now, notice);
      if (written !== RACED) return written;
    }
  }

  private async attempt(
    fqn: string,
    status: ResourceStatus,
    expect: { id: string; generation: number } | undefined,
    write: WriteIn,
    now: () => string,
    notice: Notice,
  ): Promise<number | undefined | typeof RACED> {
    const row = await this.reads.row(fqn);
    if (!row) return undefined;
    // A status computed from an older read (another generation, or a deleted and recreated resource) is dropped.
    if (expect && (row.id !== expect.id || row.generation !== expect.generation)) return undefined;
    const json = JSON.stringify(status);
    // The same text is the common case. Key order may still differ, which keeps the text's length: only
    // texts of one length are decoded and compared.
    if (row.status === json || (row.status.length === json.length && isDeepStrictEqual(JSON.parse(row.status), JSON.parse(json)))) {
      return row.resource_version;
    }
    return write(async (unit) => {
      const rv = unit.resourceVersion! + 1;
      const written = { ...row, status: json, resource_version: rv };
      const { rows } = await unit.client.query<{ resource_version: number | null; held: number }>(
        WRITE([fqn, row.resource_version, rv, json, this.views.render(storedText(written), status, rv), now(), notice.channel, notice.payload]),
      );
      if (rows[0]!.held !== rv - 1) throw new OutOfStepError(rows[0]!.held, rv - 1);
      if (rows[0]!.resource_version === null) return RACED;
      unit.resourceVersion = rv;
      return rv;
    });
  }
}
