// Revisions on PostgreSQL: recorded on the write's transaction (one statement: the row, and the trim to
// the newest generations of its resource), marked at the removal of their resource (in the removal's
// statement, see resource-writes.ts) and dropped after the retention (hidden from reads at once, deleted
// by housekeeping).
import { isoTime, type Clock } from '../../domain/clock.js';
import { REVISION_COLUMNS, REVISIONS_READ, revisionOfRow, type RevisionRetention, type RevisionRow } from '../revision-rows.js';
import type { RowCodec } from '../resource-rows.js';
import type { Page, Revision } from '../types.js';
import type { Queryable } from './connection.js';

/** Kept: alive, or removed within the retention ($2). */
const KEPT = '(v.deleted_at IS NULL OR v.deleted_at >= $2)';

/** A revision as REVISIONS_READ answers it: spec and secrets always present. */
type ReadRow = RevisionRow & { spec: string; secrets: string };

export class PgRevisions {
  constructor(
    private readonly db: () => Queryable,
    private readonly rows: RowCodec,
    private readonly retention: RevisionRetention,
    private readonly clock: Clock,
  ) {}

  /** On the write's transaction; keeps the newest `revisionHistory` generations of the resource. */
  async record(client: Queryable, row: RevisionRow): Promise<void> {
    await client.query(
      `WITH trimmed AS (DELETE FROM revisions WHERE resource_id = $1 AND generation <= $14)
       INSERT INTO revisions (${REVISION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (resource_id, generation) DO UPDATE SET spec = excluded.spec, secrets = excluded.secrets, diff = excluded.diff,
         source = excluded.source, origin = excluded.origin, subject = excluded.subject, account_id = excluded.account_id,
         created_at = excluded.created_at, deleted_at = NULL`,
      [
        row.resource_id, row.generation, row.fqn, row.name, row.spec, row.secrets, row.diff, row.source, row.origin, row.subject,
        row.account_id, row.created_at, row.deleted_at, row.generation - this.retention.revisionHistory,
      ],
    );
  }

  async list(resourceId: string, page: Page): Promise<{ items: Revision[]; total: number }> {
    const cutoff = this.cutoff();
    const { rows } = await this.db().query<ReadRow & { total: string }>(
      `SELECT count(*) OVER () AS total, ${REVISIONS_READ} WHERE v.resource_id = $1 AND ${KEPT}
       ORDER BY v.generation DESC LIMIT $3 OFFSET $4`,
      [resourceId, cutoff, page.limit, page.offset],
    );
    let total = rows[0] ? Number(rows[0].total) : 0;
    if (rows.length === 0 && page.offset > 0) {
      const counted = await this.db().query<{ n: string }>(`SELECT count(*) AS n FROM revisions AS v WHERE v.resource_id = $1 AND ${KEPT}`, [resourceId, cutoff]);
      total = Number(counted.rows[0]?.n ?? 0);
    }
    return { items: rows.map((r) => revisionOfRow(r, this.rows, false)), total };
  }

  async get(resourceId: string, generation: number): Promise<Revision | undefined> {
    const { rows } = await this.db().query<ReadRow>(`SELECT ${REVISIONS_READ} WHERE v.resource_id = $1 AND ${KEPT} AND v.generation = $3`, [
      resourceId,
      this.cutoff(),
      generation,
    ]);
    return rows[0] && revisionOfRow(rows[0], this.rows, true);
  }

  async idOf(fqn: string): Promise<string | undefined> {
    const { rows } = await this.db().query<{ resource_id: string }>(
      `SELECT v.resource_id FROM revisions AS v WHERE v.fqn = $1 AND ${KEPT}
       ORDER BY v.deleted_at IS NULL DESC, v.deleted_at DESC, v.created_at DESC, v.generation DESC LIMIT 1`,
      [fqn, this.cutoff()],
    );
    return rows[0]?.resource_id;
  }

  /** Housekeeping, in a transaction of its own: the revisions of resources removed longer than the retention ago. */
  async prune(client: Queryable): Promise<void> {
    await client.query('DELETE FROM revisions WHERE deleted_at < $1', [this.cutoff()]);
  }

  private cutoff(): string {
    return isoTime(this.clock.now() - this.retention.revisionRetentionMs);
  }
}
