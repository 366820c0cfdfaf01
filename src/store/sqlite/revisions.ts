// Revisions on SQLite: recorded in the write's transaction, trimmed to the newest generations of their
// resource at once, marked at the removal of their resource and dropped after the retention (hidden from
// reads at once, deleted by housekeeping).
import type Database from 'better-sqlite3';
import { isoTime, type Clock } from '../../domain/clock.js';
import type { Page, Revision } from '../types.js';
import { REVISION_COLUMNS, REVISIONS_READ, revisionOfRow, type RevisionRetention, type RevisionRow } from '../revision-rows.js';
import type { RowCodec } from '../resource-rows.js';

/** A revision as REVISIONS_READ answers it: spec and secrets always present. */
type ReadRow = RevisionRow & { spec: string; secrets: string };

/** Kept: alive, or removed within the retention (?). */
const KEPT = '(v.deleted_at IS NULL OR v.deleted_at >= ?)';

export class SqliteRevisions {
  private readonly stmt;

  constructor(
    db: Database.Database,
    private readonly rows: RowCodec,
    private readonly retention: RevisionRetention,
    private readonly clock: Clock,
  ) {
    this.stmt = {
      insert: db.prepare(`INSERT OR REPLACE INTO revisions (${REVISION_COLUMNS}) VALUES (@resource_id, @generation, @fqn, @name, @spec,
          @secrets, @diff, @source, @origin, @subject, @account_id, @created_at, @deleted_at)`),
      trim: db.prepare('DELETE FROM revisions WHERE resource_id = ? AND generation <= ?'),
      markDeleted: db.prepare('UPDATE revisions SET deleted_at = ? WHERE resource_id = ? AND deleted_at IS NULL'),
      list: db.prepare(`SELECT ${REVISIONS_READ} WHERE v.resource_id = ? AND ${KEPT} ORDER BY v.generation DESC LIMIT ? OFFSET ?`),
      count: db.prepare(`SELECT count(*) FROM revisions AS v WHERE v.resource_id = ? AND ${KEPT}`).pluck(),
      get: db.prepare(`SELECT ${REVISIONS_READ} WHERE v.resource_id = ? AND v.generation = ? AND ${KEPT}`),
      idOf: db
        .prepare(
          `SELECT v.resource_id FROM revisions AS v WHERE v.fqn = ? AND ${KEPT} ORDER BY v.deleted_at IS NULL DESC, v.deleted_at DESC, v.created_at DESC, v.generation DESC LIMIT 1`,
        )
        .pluck(),
      prune: db.prepare('DELETE FROM revisions WHERE deleted_at < ?'),
    };
  }

  /** In the write's transaction; keeps the newest `revisionHistory` generations of the resource. */
  record(row: RevisionRow): void {
    this.stmt.insert.run(row);
    // Generations start at 1: below the retention there is nothing older to trim.
    const oldestDropped = row.generation - this.retention.revisionHistory;
    if (oldestDropped >= 1) this.stmt.trim.run(row.resource_id, oldestDropped);
  }

  markDeleted(resourceId: string, now: string): void {
    this.stmt.markDeleted.run(now, resourceId);
  }

  list(resourceId: string, page: Page): { items: Revision[]; total: number } {
    const cutoff = this.cutoff();
    const rows = this.stmt.list.all(resourceId, cutoff, page.limit, page.offset) as ReadRow[];
    return { items: rows.map((r) => revisionOfRow(r, this.rows, false)), total: this.stmt.count.get(resourceId, cutoff) as number };
  }

  get(resourceId: string, generation: number): Revision | undefined {
    const row = this.stmt.get.get(resourceId, generation, this.cutoff()) as ReadRow | undefined;
    return row && revisionOfRow(row, this.rows, true);
  }

  idOf(fqn: string): string | undefined {
    return this.stmt.idOf.get(fqn, this.cutoff()) as string | undefined;
  }

  /** Housekeeping: the revisions of resources removed longer than the retention ago. */
  prune(): void {
    this.stmt.prune.run(this.cutoff());
  }

  private cutoff(): string {
    return isoTime(this.clock.now() - this.retention.revisionRetentionMs);
  }
}
