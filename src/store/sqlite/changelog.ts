// The changelog and the resourceVersion counter: one counter row bumped inside each writing
// transaction, so resourceVersions commit in order, and an entry per write keyed by it.
//
// The entries' shapes (a status write's entry holds its status alone) are change-rows.ts's.
import type Database from 'better-sqlite3';
import type { McpServerResource } from '../../domain/resource.js';
import type { Change, ChangeType } from '../types.js';
import { changesOfPage, statusChangeOf, STATUS_ENTRY as STATUS, type ChangeRow } from '../change-rows.js';

/** An entry's columns; a live resource's latest status entry takes its status from the row (change-rows.ts). */
const COLUMNS = 'resource_version, type, fqn, coalesce(object, (SELECT status FROM resources AS r WHERE r.fqn = c.fqn AND r.resource_version = c.resource_version)) AS object, at';

export class SqliteChangelog {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      next: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value").pluck(),
      current: db.prepare("SELECT value FROM counters WHERE name = 'resource_version'").pluck(),
      append: db.prepare('INSERT INTO changelog (resource_version, type, fqn, object, at) VALUES (?, ?, ?, ?, ?)'),
      appendStatus: db.prepare(`INSERT INTO changelog (resource_version, type, fqn, object, at) VALUES (?, '${STATUS}', ?, NULL, ?)`),
      since: db.prepare(`SELECT ${COLUMNS} FROM changelog AS c WHERE resource_version > ? ORDER BY resource_version LIMIT ?`),
      // The full entry a status entry is read from: the nearest one of its fqn before it (index changelog_fqn).
      base: db.prepare(`SELECT object FROM changelog WHERE fqn = ? AND resource_version < ? AND type <> '${STATUS}' ORDER BY resource_version DESC LIMIT 1`).pluck(),
      // The first resourceVersion prune keeps (see prune).
      cut: db.prepare(`SELECT coalesce(
          (SELECT resource_version FROM changelog WHERE resource_version <= @keepFrom AND at >= @before ORDER BY resource_version LIMIT 1),
          @keepFrom + 1)`).pluck(),
      // The fqns of the entries prune drops, and the first entry kept of each.
      dropped: db.prepare('SELECT DISTINCT fqn FROM changelog WHERE resource_version < ?').pluck(),
      firstKept: db.prepare(`SELECT ${COLUMNS} FROM changelog AS c WHERE fqn = ? AND resource_version >= ? ORDER BY resource_version LIMIT 1`),
      writeOut: db.prepare("UPDATE changelog SET type = 'MODIFIED', object = ? WHERE resource_version = ?"),
      drop: db.prepare('DELETE FROM changelog WHERE resource_version < ?'),
      oldest: db.prepare('SELECT min(resource_version) FROM changelog').pluck(),
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

  /**
   * The entry of a status write, after the row was written at rv: its status is the row's (NULL here,
   * copied in by a trigger when the row moves on); the rest is the fqn's entry before it.
   */
  appendStatus(rv: number, fqn: string, at: string): void {
    this.stmt.appendStatus.run(rv, fqn, at);
  }

  appendResource(rv: number, type: ChangeType, masked: McpServerResource, at: string): void {
    this.append(rv, type, masked.fqn, JSON.stringify(masked), at);
  }

  changesSince(resourceVersion: number, limit: number): Change[] {
    const rows = this.stmt.since.all(resourceVersion, limit) as ChangeRow[];
    return changesOfPage(rows, (row) => this.stmt.base.get(row.fqn, row.resource_version) as string);
  }

  oldestRetainedResourceVersion(): number {
    const oldest = this.stmt.oldest.get() as number | null;
    return oldest ?? this.currentResourceVersion() + 1;
  }

  /**
   * Drops entries below keepFrom that are older than `before` (ISO time): entries are appended in time
   * order, so the cut is the first entry up to keepFrom that is young enough (read through the key, not by
   * scanning every young entry). A status entry kept whose full entry is dropped is written out in full
   * first; only the fqns of the dropped entries are looked at.
   */
  prune(keepFrom: number, before: string): void {
    const cut = this.stmt.cut.get({ keepFrom, before }) as number;
    for (const fqn of this.stmt.dropped.all(cut) as string[]) {
      const kept = this.stmt.firstKept.get(fqn, cut) as ChangeRow | undefined;
      if (kept?.type === STATUS) {
        const base = this.stmt.base.get(fqn, kept.resource_version) as string;
        this.stmt.writeOut.run(JSON.stringify(statusChangeOf(kept, base).object), kept.resource_version);
      }
    }
    this.stmt.drop.run(cut);
  }
}
