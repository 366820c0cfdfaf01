// Status writes: compared before writing (a reconcile that changed nothing costs a read), and made from
// the row's column texts (the view and the changelog entry): nothing is decoded or decrypted.
import { isDeepStrictEqual } from 'node:util';
import type Database from 'better-sqlite3';
import type { ResourceStatus } from '../../domain/resource.js';
import type { ViewRenderer } from '../view-renderer.js';
import type { SqliteChangelog } from './changelog.js';
import type { IsoNow } from '../iso-now.js';
import type { SqliteResourceReads } from './resource-reads.js';
import { storedText } from '../resource-rows.js';

const RACED = Symbol('raced');

export class SqliteStatusWrites {
  private readonly update;

  constructor(
    db: Database.Database,
    private readonly reads: SqliteResourceReads,
    private readonly changelog: SqliteChangelog,
    private readonly views: ViewRenderer,
    private readonly clock: IsoNow,
  ) {
    this.update = db.prepare('UPDATE resources SET status = ?, resource_version = ?, view = ?, view_rv = ? WHERE fqn = ?');
  }

  /**
   * See StatusWriter.setStatus. `write` runs the writing part in the engine's write transaction; the
   * comparison before it is a read.
   */
  setStatus(
    fqn: string,
    status: ResourceStatus,
    expect: { id: string; generation: number } | undefined,
    write: (fn: () => number | undefined) => number | undefined,
  ): number | undefined {
    // Another writer may commit between the read and the write: the write then finds another
    // resourceVersion and writes nothing, and the status is decided again on a fresh read.
    for (;;) {
      const written = this.attempt(fqn, status, expect, write);
      if (written !== RACED) return written;
    }
  }

  private attempt(
    fqn: string,
    status: ResourceStatus,
    expect: { id: string; generation: number } | undefined,
    write: (fn: () => number | undefined) => number | undefined,
  ): number | undefined | typeof RACED {
    const row = this.reads.row(fqn);
    if (!row) return undefined;
    // A status computed from an older read (another generation, or a deleted and recreated resource) is dropped.
    if (expect && (row.id !== expect.id || row.generation !== expect.generation)) return undefined;
    const json = JSON.stringify(status);
    // The same text is the common case. Key order may still differ, which keeps the text's length: only
    // texts of one length are decoded and compared.
    if (row.status === json || (row.status.length === json.length && isDeepStrictEqual(JSON.parse(row.status), JSON.parse(json)))) {
      return row.resource_version;
    }
    let raced = false;
    const rv = write(() => {
      // The compare of the swap, in the write's transaction: the row read above is still the rest of the
      // resource only while its resourceVersion is.
      if (this.reads.versionOf(fqn) !== row.resource_version) {
        raced = true;
        return undefined;
      }
      const rv = this.changelog.nextResourceVersion();
      const written = { ...row, status: json, resource_version: rv };
      this.update.run(json, rv, this.views.render(storedText(written), status, rv), rv, fqn);
      // Only the status changed: the changelog keeps it alone, from the row (see change-rows.ts).
      this.changelog.appendStatus(rv, fqn, this.clock.now());
      return rv;
    });
    return raced ? RACED : rv;
  }
}
