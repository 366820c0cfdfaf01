// Events by resource id: recorded (folded into the newest one of the same resource when it repeats),
// listed newest first through a filter, and kept bounded by age and per resource.
import type Database from 'better-sqlite3';
import type { EventInput, EventQuery, StoredEvent } from '../types.js';
import { eventOfRow, type EventRow } from '../event-rows.js';

export class SqliteEvents {
  private readonly stmt;
  /** Resources that got a new event row since the last prune: only these can exceed the per-resource cap. */
  private readonly added = new Set<string>();
  /** The first prune caps every resource (events added before a restart are not in `added`). */
  private capAll = true;

  constructor(
    private readonly db: Database.Database,
    private readonly maxPerResource: number,
  ) {
    this.stmt = {
      // The newest event of a resource, through the (resource_id, id) index.
      newest: db.prepare('SELECT id, type, reason, message FROM events WHERE resource_id = ? ORDER BY id DESC LIMIT 1'),
      bump: db.prepare('UPDATE events SET count = count + 1, last_ts = ?, actor = ? WHERE id = ?'),
      insert: db.prepare(`INSERT INTO events (fqn, resource_id, type, reason, message, actor, count, first_ts, last_ts)
        VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`),
      pruneByAge: db.prepare('DELETE FROM events WHERE last_ts < ?'),
      prunePerResource: db.prepare(`DELETE FROM events WHERE id IN (
          SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY resource_id ORDER BY id DESC) AS n FROM events) WHERE n > ?)`),
      // One resource, through the (resource_id, id) index: everything older than its newest `?` events.
      pruneOfResource: db.prepare(
        'DELETE FROM events WHERE resource_id = ? AND id <= (SELECT id FROM events WHERE resource_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ),
    };
  }

  /** One statement writes (a bump or an insert), atomic by itself: no savepoint around it. */
  record(event: EventInput, now: string): void {
    const last = this.stmt.newest.get(event.resourceId) as Pick<EventRow, 'id' | 'type' | 'reason' | 'message'> | undefined;
    // Fold only into the newest event of this resource, so a repeat after something else happened is a new line.
    if (last && last.type === event.type && last.reason === event.reason && last.message === event.message) {
      this.stmt.bump.run(now, event.actor, last.id);
    } else {
      this.stmt.insert.run(event.fqn, event.resourceId, event.type, event.reason, event.message, event.actor, now, now);
      this.added.add(event.resourceId);
    }
  }

  list(query: EventQuery): StoredEvent[] {
    const where: string[] = ['id < ?'];
    const args: unknown[] = [];
    if (query.resourceId !== undefined) {
      where.push('resource_id = ?');
      args.push(query.resourceId);
    }
    if (query.since !== undefined) {
      where.push('last_ts >= ?');
      args.push(query.since);
    }
    const page = this.db.prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`);
    // Newest first, a page at a time, until `limit` events passed the filter: events it refuses do not
    // shorten the answer. (Pages, not one open iterator: the filter may read the store.)
    const chunk = query.filter ? Math.max(query.limit, 100) : query.limit;
    const out: StoredEvent[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    while (out.length < query.limit) {
      const rows = page.all(before, ...args, chunk) as EventRow[];
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
   * Drops events last seen before `before` (ISO time) and caps each resource. Run outside any outer
   * transaction: a rollback would undo its deletes but not what it remembers of them.
   */
  prune(before: string): void {
    this.stmt.pruneByAge.run(before);
    // Capping every resource scans the whole events table; after the first time only resources with
    // new rows can be over the cap, and each of those is one indexed delete.
    if (this.capAll) {
      this.stmt.prunePerResource.run(this.maxPerResource);
      this.capAll = false;
    } else {
      for (const id of this.added) this.stmt.pruneOfResource.run(id, id, this.maxPerResource);
    }
    this.added.clear();
  }
}
