// db-footprint: the database after a cold sync against its live data, on both engines, with where the
// bytes went.
//   SQLite      the served cold sync of the scale suite (bench/lib/sync-suite.js): N servers from files
//               (10 per file), the control plane at its defaults, every server pointing at a live upstream
//               of the loopback fleet, so it ends Ready with its tools stored; measured once settled, as
//               the suite's `database` figure measures it: both files with their WAL against the pages of
//               their live rows (dbstat). The control-plane.db tables and the changelog's bytes per entry
//               type are logged beside it.
//   PostgreSQL  a store-level fill through PostgresResourceStore (no served replica): per server the
//               scale suite's manifest, created with its plan's diff (planApply, as intake records it), a
//               status while it is reconciled and a Ready status with the fleet's three tools, as the served
//               sync writes them; pg_total_relation_size per table (no VACUUM) against the pages of the
//               live rows: `resources` (heap, TOAST and indexes) and its tag/reader/count tables.
//
// BENCH_FOOTPRINT_SIZES=10000 (default 10,000); BENCH_FOOTPRINT_ENGINES=sqlite,postgres (default both).
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ROOT, SMOKE, log, tempDir, waitFor } from './lib/common.js';
import { loadAverage } from './lib/proc.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { scrape, shardedManifest, writeShardedDirectory } from './lib/sharded-fleet.js';
import { startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt } from './lib/stats.js';
import { PER_FILE, disk, upstreamFleet } from './lib/sync-suite.js';

export const describe = 'database after a cold sync of N servers vs its live data (SQLite served against live upstreams; PostgreSQL store-level), per table';
export const timeoutMs = 3_600_000;

const SIZES = process.env.BENCH_FOOTPRINT_SIZES ? process.env.BENCH_FOOTPRINT_SIZES.split(',').map(Number) : SMOKE ? [40] : [10_000];
const ENGINES = (process.env.BENCH_FOOTPRINT_ENGINES ?? 'sqlite,postgres').split(',');
const GOAL = '≤ 2× live data';
const PHASE_MS = 2_400_000;
/** The tables whose pages are the live data (as the scale suite's `database` figure counts them). */
const LIVE_TABLES = ['resources', 'resource_tags', 'resource_readers', 'resource_counts', 'counters'];

const MB = (mb) => `${fmt(mb)} MB`;

/** The changelog's entries by stored type: count and average object bytes (what an entry per write costs). */
function changelogShape(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT type, count(*) AS n, count(object) AS held, avg(length(object)) AS bytes FROM changelog GROUP BY type ORDER BY type').all();
  } finally {
    db.close();
  }
}

/** Entries per stored type: how many, how many hold an object (the rest read their row), its average bytes. */
function entriesOf(shape) {
  return shape.map((s) => `${s.type} ${s.n}${s.held === s.n ? '' : ` (${s.held} with an object)`} × ${fmt(s.bytes ?? 0)} B`).join(', ');
}

async function sqliteRun(size) {
  const fleet = await upstreamFleet();
  const dir = tempDir(`footprint-manifests-${size}`);
  writeShardedDirectory(dir, { servers: size, perFile: PER_FILE, urlOf: fleet.urlOf });
  const dataDir = tempDir(`footprint-data-${size}`);
  const gateway = new GatewayReader(dataDir);
  const loadBefore = loadAverage();
  const cp = await startServer({ dataDir, manifestDirs: [dir], startTimeoutMs: PHASE_MS, defaults: true });
  try {
    await waitFor(() => gateway.count(1) >= size, { timeoutMs: PHASE_MS, intervalMs: 50, what: `${size} gateway entries` });
    await waitFor(async () => (await scrape(cp)).ready >= size, { timeoutMs: PHASE_MS, intervalMs: SMOKE ? 50 : 250, what: `${size} servers Ready` });
    // Settled as the scale suite settles before it measures.
    await cp.waitQuiet({ windowMs: 1000, maxCpuMs: 100, timeoutMs: 60_000 }).catch(() => undefined);
    const d = disk(dataDir);
    const shape = changelogShape(join(dataDir, 'control-plane.db'));
    const tables = Object.entries(d.controlPlane.byName).sort((a, b) => b[1] - a[1]).filter(([, mb]) => mb >= 0.05);
    const entries = entriesOf(shape);
    log(`sqlite @${size}: ${MB(d.totalMb)} (control-plane.db ${MB(d.controlPlane.fileMb)} + WAL ${MB(d.controlPlane.walMb)}, gateway.db ${MB(d.gateway.fileMb)} + WAL ${MB(d.gateway.walMb)}), live ${MB(d.liveMb)}; ${tables.map(([n, mb]) => `${n} ${MB(mb)}`).join(', ')}; changelog entries: ${entries}`);
    const ratio = d.totalMb / d.liveMb;
    const load = `load average ${loadBefore} at the start, ${loadAverage()} at the end`;
    return {
      figure: 'db-footprint SQLite',
      size,
      measured: `${MB(d.totalMb)}: control-plane.db ${fmt(d.controlPlane.fileMb)} + WAL ${fmt(d.controlPlane.walMb)}, gateway.db ${fmt(d.gateway.fileMb)} + WAL ${fmt(d.gateway.walMb)}`,
      baseline: `live ${MB(d.liveMb)}`,
      ratio,
      goal: GOAL,
      met: ratio <= 2,
      note: `served cold sync at the defaults against live upstreams, settled; ${tables.map(([n, mb]) => `${n} ${fmt(mb)}`).join(', ')} MB; changelog entries ${entries}; ${load}`,
    };
  } finally {
    gateway.close();
    await cp.stop();
  }
}

async function sources() {
  register(pathToFileURL(join(ROOT, 'test', 'support', 'ts-worker-hooks.mjs')));
  const src = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    postgres: await src('src/store/postgres/index.ts'),
    views: (await src('src/http/resource-view.ts')).resourceViews,
    plan: await src('src/plan/plan.ts'),
    fixtures: await src('test/store/conformance/fixtures.ts'),
  };
}

/** The three tools the fleet's upstream i lists (bench/lib/upstream-fleet.js), as discovery stores them. */
function toolsOf(i) {
  return [
    { name: 'search', description: `Searches the corpus of upstream ${i}.`, upstreamDescription: `Searches the corpus of upstream ${i}.`, inputSchema: { type: 'object', properties: { query: { type: 'string' } } }, disabled: false },
    { name: `get_record_${i % 13}`, description: `Reads one record of shelf ${i % 13} on upstream ${i}.`, upstreamDescription: `Reads one record of shelf ${i % 13} on upstream ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, disabled: false },
    { name: 'delete_everything', description: `Deletes everything upstream ${i} holds.`, upstreamDescription: `Deletes everything upstream ${i} holds.`, inputSchema: { type: 'object', properties: {} }, disabled: true },
  ];
}

async function postgresRun(size) {
  const pg = await benchPostgres();
  if (!pg) return skippedRows(['db-footprint PostgreSQL'], GOAL)[0];
  const { postgres, views, plan, fixtures } = await sources();
  const { url } = await pg.freshSchema();
  const database = await postgres.PostgresDatabase.open(url, { max: 4 });
  const loadBefore = loadAverage();
  try {
    await postgres.migrate(database.pool);
    const store = await postgres.PostgresResourceStore.open({ database, views });
    try {
      for (let i = 0; i < size; i++) {
        const manifest = shardedManifest(i, `http://127.0.0.1:9/s/${i}/mcp`);
        const input = { ...fixtures.newResource(manifest.name), manifest };
        const { diff } = plan.planApply({ desired: manifest, desiredHash: input.specHash, metadata: {}, source: input.source, accountId: input.accountId, stored: undefined });
        const created = await store.create(input, { revision: { diff } });
        const reconciling = fixtures.readyStatus(1, 'False');
        await store.setStatus(input.fqn, { ...reconciling, conditions: reconciling.conditions.map((c) => ({ ...c, reason: 'Reconciling' })) }, { id: created.id, generation: 1 });
        await store.setStatus(input.fqn, { ...fixtures.readyStatus(1), tools: toolsOf(i), detectedTransport: 'streamable-http' }, { id: created.id, generation: 1 });
      }
    } finally {
      await store.close();
    }
    const { rows } = await database.pool.query(
      "SELECT c.relname AS name, pg_total_relation_size(c.oid)::float8 / 1048576 AS mb FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY mb DESC",
    );
    const total = rows.reduce((s, r) => s + r.mb, 0);
    const live = rows.filter((r) => LIVE_TABLES.includes(r.name)).reduce((s, r) => s + r.mb, 0);
    const { rows: shape } = await database.pool.query(
      'SELECT type, count(*)::int AS n, count(object)::int AS held, avg(octet_length(object))::float8 AS bytes FROM changelog GROUP BY type ORDER BY type',
    );
    const tables = rows.filter((r) => r.mb >= 0.05);
    const entries = entriesOf(shape);
    log(`postgres @${size}: ${MB(total)}, live ${MB(live)}; ${tables.map((r) => `${r.name} ${MB(r.mb)}`).join(', ')}; changelog entries: ${entries}`);
    const ratio = total / live;
    return {
      figure: 'db-footprint PostgreSQL',
      size,
      measured: `${MB(total)} (every table with its TOAST and indexes)`,
      baseline: `live ${MB(live)}`,
      ratio,
      goal: GOAL,
      met: ratio <= 2,
      note: `store-level fill (the suite's manifest created with its plan's diff, a reconciling status, a Ready status with 3 tools, per server), no VACUUM; ${tables.map((r) => `${r.name} ${fmt(r.mb)}`).join(', ')} MB; changelog entries ${entries}; load average ${loadBefore} at the start, ${loadAverage()} at the end`,
    };
  } finally {
    await database.close();
  }
}

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    if (ENGINES.includes('sqlite')) rows.push(await sqliteRun(size));
    if (ENGINES.includes('postgres')) rows.push(await postgresRun(size));
  }
  return rows;
}
