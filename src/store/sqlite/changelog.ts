// The changelog and the resourceVersion counter: one counter row bumped inside each writing
// transaction, so resourceVersions commit in order, and an entry per write keyed by it.
import type Database from 'better-sqlite3';
import type { McpServerResource } from '../../domain/resource.js';
import type { Change, ChangeType } from '../types.js';
import { changeOfRow, type ChangeRow } from '../change-rows.js';

export class SqliteChangelog {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      next: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value").pluck(),
      current: db.prepare("SELECT value FROM counters WHERE name = 'resource_version'").pluck(),
      append: db.prepare('INSERT INTO changelog (resource_version, type, fqn, object, at) VALUES (?, ?, ?, ?, ?)'),
      since: db.prepare('SELECT * FROM changelog WHERE resource_version > ? ORDER BY resource_version LIMIT ?'),
      oldest: db.prepare('SELECT min(resource_version) FROM changelog').pluck(),
      // Entries up to resourceVersion @keepFrom older than @before, oldest first, up to the first younger one:
      // entries are appended in time order, so this reads what it deletes and one more row, where a plain
      // `AND at < @before` would read every entry up to @keepFrom (all of them young during a big sync).
      // One bound only, so SQLite's range on the key stops there.
      prune: db.prepare(`DELETE FROM changelog WHERE resource_version < coalesce(
          (SELECT resource_version FROM changelog WHERE resource_version <= @keepFrom AND at >= @before ORDER BY resource_version LIMIT 1),
          @keepFrom + 1)`),
    };
  }

  /** Bumps the counter; inside the write's transaction. */
  nextResourceVersion(): number {
    return this.stmt.next.get() as number;
  }

  currentResourceVersion(): number {
    return this.stmt.current.get() as number;
  }

  /** `object`: the JSON of the masked resource after the change (the changelog never holds a secret). */
  append(rv: number, type: ChangeType, fqn: string, object: string, at: string): void {
    this.stmt.append.run(rv, type, fqn, object, at);
  }

  appendResource(rv: number, type: ChangeType, masked: McpServerResource, at: string): void {
    this.append(rv, type, masked.fqn, JSON.stringify(masked), at);
  }

  changesSince(resourceVersion: number, limit: number): Change[] {
    return (this.stmt.since.all(resourceVersion, limit) as ChangeRow[]).map(changeOfRow);
  }

  oldestRetainedResourceVersion(): number {
    const oldest = this.stmt.oldest.get() as number | null;
    return oldest ?? this.currentResourceVersion() + 1;
  }

  /** Drops entries below keepFrom that are older than `before` (ISO time). */
  prune(keepFrom: number, before: string): void {
    this.stmt.prune.run({ keepFrom, before });
  }
}
