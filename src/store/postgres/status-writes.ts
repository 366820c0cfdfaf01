// Status writes: compared before writing (a reconcile that changed nothing costs a read), and made from
// the row's column texts (the view and the changelog entry): nothing is decoded or decrypted. The write
// is a compare-and-swap on the resourceVersion of the row the status was compared with.
import { isDeepStrictEqual } from 'node:util';
import type { ResourceStatus } from '../../domain/resource.js';
import { maskedResourceText, storedText } from '../sqlite/rows.js';
import type { ViewRenderer } from '../view-renderer.js';
import { changeEntry } from './changelog.js';
import type { Queryable } from './connection.js';
import type { PgResourceReads } from './resource-reads.js';
import type { Notice } from './resource-writes.js';

const RACED = Symbol('raced');

/** Runs fn in the engine's write transaction (the caller's unit, or one of its own). */
export type WriteIn = <T>(fn: (client: Queryable) => Promise<T>) => Promise<T>;

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
    return write(async (client) => {
      const claim = await client.query<{ resource_version: number }>(
        `WITH rv AS (UPDATE counters SET value = value + 1 WHERE name = 'resource_version'
           AND EXISTS (SELECT 1 FROM resources WHERE fqn = $1 AND resource_version = $2) RETURNING value AS resource_version)
         SELECT resource_version FROM rv`,
        [fqn, row.resource_version],
      );
      const rv = claim.rows[0]?.resource_version;
      if (rv === undefined) return RACED;
      const at = now();
      const written = { ...row, status: json, resource_version: rv };
      await client.query(
        `WITH written AS (UPDATE resources SET status = $2, resource_version = $3, view = $4, view_rv = $3 WHERE fqn = $1),
         ${changeEntry('MODIFIED', { rv: '$3', fqn: '$1', object: '$5', at: '$6' })}
         SELECT pg_notify($7, $8)`,
        [fqn, json, rv, this.views.render(storedText(written), status, rv), maskedResourceText(written), at, notice.channel, notice.payload],
      );
      return rv;
    });
  }
}
