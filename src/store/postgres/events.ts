// Events by resource id: recorded in one statement (folded into the newest one of the same resource when
// it repeats), listed newest first through a filter, and kept bounded by age and per resource.
import type { EventInput, EventQuery, StoredEvent } from '../types.js';
import type { Queryable } from './connection.js';
import { prepared } from './prepared.js';

interface EventRow {
  id: number;
  fqn: string;
  resource_id: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  actor: string;
  count: number;
  first_ts: string;
  last_ts: string;
}

/**
 * Bumps the newest event of the resource when it is the same (type, reason, message), else inserts a new
 * one; answers `added` for an insert. Only the newest one: a repeat after something else happened is a new line.
 */
const RECORD = prepared('record_event', `WITH last AS (SELECT id, type, reason, message FROM events WHERE resource_id = $2 ORDER BY id DESC LIMIT 1),
  bumped AS (UPDATE events SET count = count + 1, last_ts = $7, actor = $6 FROM last
    WHERE events.id = last.id AND last.type = $3 AND last.reason = $4 AND last.message = $5 RETURNING events.id),
  added AS (INSERT INTO events (fqn, resource_id, type, reason, message, actor, count, first_ts, last_ts)
    SELECT $1, $2, $3, $4, $5, $6, 1, $7, $7 WHERE NOT EXISTS (SELECT 1 FROM bumped) RETURNING id)
  SELECT EXISTS (SELECT 1 FROM added) AS added`);

export class PgEvents {
  /** Resources that got a new event row since the last prune: only these can exceed the per-resource cap. */
  private readonly added = new Set<string>();
  /** The first prune caps every resource (events added before a restart are not in `added`). */
  private capAll = true;

  constructor(
    private readonly db: () => Queryable,
    private readonly maxPerResource: number,
  ) {}

  /** One statement, on the caller's transaction (or by itself on the pool). */
  async record(client: Queryable, event: EventInput, now: string): Promise<void> {
    const { rows } = await client.query<{ added: boolean }>(RECORD([event.fqn, event.resourceId, event.type, event.reason, event.message, event.actor, now]));
    if (rows[0]?.added) this.added.add(event.resourceId);
  }

  async list(query: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = ['id < $1'];
    const args: unknown[] = [];
    if (query.resourceId !== undefined) {
      args.push(query.resourceId);
      where.push(`resource_id = $${args.length + 1}`);
    }
    if (query.since !== undefined) {
      args.push(query.since);
      where.push(`last_ts >= $${args.length + 1}`);
    }
    const page = prepared(`events_${query.resourceId !== undefined}_${query.since !== undefined}`, `SELECT id, fqn, resource_id, type, reason, message, actor, count, first_ts, last_ts FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.length + 2}`);
    // Newest first, a page at a time, until `limit` events passed the filter: events it refuses do not
    // shorten the answer. (Pages, not one cursor: the filter may read the store.)
    const chunk = query.filter ? Math.max(query.limit, 100) : query.limit;
    const out: StoredEvent[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    while (out.length < query.limit) {
      const { rows } = await this.db().query<EventRow>(page([before, ...args, chunk]));
      for (const row of rows) {
        const e = eventOfRow(row);
        if (query.filter && !query.filter(e)) continue;
        out.push(e);
        if (out.length >= query.limit) break;
      }
      if (rows.length < chunk) break;
      before = rows[rows.length - 1]!.id;
    }
    return out.reverse();
  }

  /**
   * Drops events last seen before `before` (ISO time) and caps each resource. Run in a transaction of its
   * own, never in a caller's unit: a rollback would undo its deletes but not what it remembers of them.
   */
  async prune(client: Queryable, before: string): Promise<void> {
    await client.query('DELETE FROM events WHERE last_ts < $1', [before]);
    // Capping every resource reads the whole events table; after the first time only resources with new
    // rows can be over the cap.
    const ids = this.capAll ? undefined : [...this.added];
    this.capAll = false;
    this.added.clear();
    if (ids?.length === 0) return;
    await client.query(
      `DELETE FROM events WHERE id IN (SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY resource_id ORDER BY id DESC) AS n FROM events
         ${ids ? 'WHERE resource_id = ANY($2)' : ''}) ranked WHERE n > $1)`,
      ids ? [this.maxPerResource, ids] : [this.maxPerResource],
    );
  }
}

function eventOfRow(r: EventRow): StoredEvent {
  return {
    id: r.id,
    fqn: r.fqn,
    resourceId: r.resource_id,
    type: r.type,
    reason: r.reason,
    message: r.message,
    actor: r.actor,
    count: r.count,
    firstTimestamp: r.first_ts,
    lastTimestamp: r.last_ts,
  };
}
