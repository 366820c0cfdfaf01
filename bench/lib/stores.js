// Read-only views of a running control plane's two SQLite files (WAL lets a reader in beside the
// writer): how many gateway entries hold their generation, and snapshots to count the rows a phase wrote.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

function openReadonly(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

export class GatewayReader {
  constructor(dataDir) {
    this.path = join(dataDir, 'gateway.db');
    this.db = undefined;
  }

  open() {
    if (!this.db) {
      if (!existsSync(this.path)) return undefined;
      const db = openReadonly(this.path);
      // The server may not have run its migration yet.
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gateway_entries'").get()) {
        db.close();
        return undefined;
      }
      this.db = db;
      this.countAtLeast = this.db.prepare('SELECT count(*) FROM gateway_entries WHERE generation >= ?').pluck();
      this.generationOf = this.db.prepare('SELECT generation FROM gateway_entries WHERE fqn = ?').pluck();
    }
    return this.db;
  }

  /** Entries whose generation is at least `generation`. */
  count(generation = 1) {
    return this.open() ? this.countAtLeast.get(generation) : 0;
  }

  generation(fqn) {
    return this.open() ? (this.generationOf.get(fqn) ?? 0) : 0;
  }

  close() {
    this.db?.close();
    this.db = undefined;
  }
}

/** Everything a write to either store would change: counters, changelog, events, gateway rows. */
export function snapshot(dataDir) {
  const cp = openReadonly(join(dataDir, 'control-plane.db'));
  const gw = openReadonly(join(dataDir, 'gateway.db'));
  try {
    const rows = gw.prepare('SELECT fqn, config_hash, generation, updated_at FROM gateway_entries').all();
    return {
      resourceVersion: cp.prepare("SELECT value FROM counters WHERE name = 'resource_version'").pluck().get(),
      changelogMax: cp.prepare('SELECT coalesce(max(resource_version), 0) FROM changelog').pluck().get(),
      resourceRows: cp.prepare('SELECT count(*) FROM resources').pluck().get(),
      eventsMax: cp.prepare('SELECT coalesce(max(id), 0) FROM events').pluck().get(),
      eventsCount: cp.prepare('SELECT coalesce(sum(count), 0) FROM events').pluck().get(),
      gateway: new Map(rows.map((r) => [r.fqn, `${r.config_hash}|${r.generation}|${r.updated_at}`])),
    };
  } finally {
    cp.close();
    gw.close();
  }
}

/** Rows written between two snapshots, per store. */
export function rowsWritten(before, after) {
  // Every resource write bumps the resourceVersion; every event written adds 1 to sum(count), whether
  // it is a new row or folded into an earlier one.
  const controlPlane =
    after.resourceVersion - before.resourceVersion + (after.eventsCount - before.eventsCount) + Math.abs(after.resourceRows - before.resourceRows);
  let gateway = 0;
  for (const [fqn, v] of after.gateway) if (before.gateway.get(fqn) !== v) gateway++;
  for (const fqn of before.gateway.keys()) if (!after.gateway.has(fqn)) gateway++;
  return {
    controlPlane,
    gateway,
    detail: {
      resourceVersions: after.resourceVersion - before.resourceVersion,
      changelog: after.changelogMax - before.changelogMax,
      events: after.eventsCount - before.eventsCount,
      gatewayRows: gateway,
    },
  };
}
