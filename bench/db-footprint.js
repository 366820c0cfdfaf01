// db-footprint: the size of control-plane.db after a cold sync (servers synced from files, 10 per file,
// upstreams on a dead port: one create and its status writes each), stopped cleanly, against its live
// data. "Live data" is as the issue 21 figures measured it: the pages of the `resources` table (the
// stored servers: spec, secrets, status, view), from SQLite's dbstat. Every table and index is reported
// with its share, and the free pages, so that a change shows where the bytes went.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SMOKE, log, tempDir, waitFor } from './lib/common.js';
import { deadLoopbackPort } from './lib/http.js';
import { writeManifestDirectory } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt } from './lib/stats.js';

export const describe = 'control-plane.db after a cold sync of N servers, per table and index, vs its live data (resources pages)';
export const timeoutMs = 1_800_000;

/** BENCH_FOOTPRINT_SIZES=3000 (default 3,000 and 10,000). */
const SIZES = process.env.BENCH_FOOTPRINT_SIZES ? process.env.BENCH_FOOTPRINT_SIZES.split(',').map(Number) : SMOKE ? [40] : [3_000, 10_000];

/** Bytes per table and index (dbstat), the free pages and the file, of a SQLite file not in use. */
export function footprint(path) {
  const db = new Database(path, { readonly: true });
  try {
    const byName = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all();
    const pageSize = db.pragma('page_size', { simple: true });
    const free = db.pragma('freelist_count', { simple: true }) * pageSize;
    return { byName, free, file: statSync(path).size };
  } finally {
    db.close();
  }
}

export async function cold(size) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir(`footprint-manifests-${size}`);
  writeManifestDirectory(dir, { servers: size, perFile: 10, url });
  const dataDir = tempDir(`footprint-data-${size}`);
  const gateway = new GatewayReader(dataDir);
  const cp = await startServer({ dataDir, manifestDirs: [dir], startTimeoutMs: 900_000 });
  await waitFor(() => gateway.count(1) >= size, { timeoutMs: 900_000, intervalMs: 50, what: `${size} gateway entries` });
  await cp.waitQuiet({ timeoutMs: 900_000 });
  gateway.close();
  await cp.stop();
  const path = join(dataDir, 'control-plane.db');
  return { ...footprint(path), path };
}

const MB = (bytes) => `${fmt(bytes / 1e6)} MB`;

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const f = await cold(size);
    const live = f.byName.find((r) => r.name === 'resources')?.bytes ?? 0;
    const ratio = f.file / live;
    const parts = f.byName.filter((r) => r.bytes >= f.file / 100).map((r) => `${r.name} ${MB(r.bytes)}`);
    log(`footprint @${size}: file ${MB(f.file)}, live ${MB(live)}; ${f.byName.map((r) => `${r.name} ${MB(r.bytes)}`).join(', ')}; free ${MB(f.free)}`);
    rows.push({
      figure: 'db-footprint',
      size,
      measured: `control-plane.db ${MB(f.file)}`,
      baseline: `live data (resources pages) ${MB(live)}`,
      ratio,
      goal: '≤ 2× live data',
      met: ratio <= 2,
      note: `after a cold sync (10 per file, upstreams on a dead port), stopped cleanly; ${parts.join(', ')}; free pages ${MB(f.free)}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
    });
  }
  return rows;
}
