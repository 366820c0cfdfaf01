// The scenario behind the scale figures (cold-sync, memory, scale-reads, resync, edit-latency,
// warm-restart), at one size, as users run it: the control plane at its defaults (resync every 60 s,
// rediscovery every 5 m, retries on their schedule), every server pointing at a live upstream of the
// loopback fleet (bench/lib/upstream-fleet.js), so servers are Ready with their tools stored.
//   1 floor        bench/lib/floor.js on the same directory (median of a few fresh processes)
//   2 cold sync    start the control plane on the directory and an empty data directory; time until
//                  gateway.db holds every server, and until every server is Ready (discovered, tools stored)
//   3 disk         database files (with their WAL) against the pages of their live rows (dbstat)
//   4 reads        p50/p99 of lists (admin and a viewer, with and without a tag selector), /metrics, get
//   5 background   one default resync interval (60 s; BENCH_BACKGROUND=5m for one discovery interval) of
//                  the settled fleet: CPU, reconciles, discoveries
//   6 edits        rewrite one file `edits` times (one server's description each time); time from the
//                  write to the gateway entry's new generation, next to a bare chokidar watcher with the
//                  control plane's own awaitWriteFinish settings on the same directory (the window)
//   7 warm restart stop, start again on the same data and directory; time to serve, to Ready again (every
//                  server is discovered once more after a restart: the CPU of that is what one round of
//                  rediscovery costs, every 5 m at the defaults), rows written
// RSS is sampled every 100 ms from the spawn of each process to its stop (max and last); heap used is
// read from /metrics after the cold sync. Each size runs once per bench process, shared by the figures.
//
// BENCH_SCALE=1k,10k,50k   the sizes (default 1k,10k; BENCH_SIZES=1000,10000 is read too)
// BENCH_MEMORY_PROBE=DIR   profile memory: the control plane carries bench/lib/memory-probe.js, and each
//                          phase (cold, reads, background, edits; warm for the restart) is summarized
//                          (bench/lib/memory-profile.js; BENCH_MEMORY_HEAP=1 adds heap snapshots and an
//                          allocation profile)
// BENCH_SERVE_ARGS="--heap-growth 0", BENCH_SERVE_NODE_ARGS="--max-semi-space-size=4"
//                          more serve / node flags for the scenario's control plane (a comparison)
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { watch } from 'chokidar';
import { ROOT, SMOKE, importDist, log, onCleanup, sleep, tempDir, waitFor } from './common.js';
import { spawnNode } from './child.js';
import { callJson, expectOk } from './http.js';
import { fqnOf, serverName } from './manifests.js';
import { memoryProbe } from './memory-profile.js';
import { loadAverage } from './proc.js';
import { SHARD, VIEWER_SHARD, scrape, shardedDocuments, writeShardedDirectory, writeViewerTokens } from './sharded-fleet.js';
import { newToken, startServer } from './server.js';
import { GatewayReader, rowsWritten, snapshot } from './stores.js';
import { median, summarize } from './stats.js';
import { startUpstreamFleet } from './upstream-fleet.js';

/** Servers per file (10,000 manifests in 1,000 files). */
export const PER_FILE = SMOKE ? 5 : 10;

function parseSizes(text) {
  return text.split(',').map((s) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(k?)\s*$/i.exec(s);
    if (!m) throw new Error(`BENCH_SCALE: "${s}" is not a size (e.g. 1k, 10k, 50k, 2000)`);
    return Math.round(Number(m[1]) * (m[2] ? 1000 : 1));
  });
}

/** The sizes of the scaling rows; the headline figures are at HEADLINE. */
export const SIZES = process.env.BENCH_SCALE
  ? parseSizes(process.env.BENCH_SCALE)
  : process.env.BENCH_SIZES
    ? parseSizes(process.env.BENCH_SIZES)
    : SMOKE
      ? [20, 60]
      : [1000, 10_000];
export const HEADLINE = SMOKE ? 60 : 10_000;
/**
 * How long a figure of this scenario may take (bench/run.js reads them off the figure's module): the first
 * figure asked for runs the scenario at every size for all of them.
 */
export const SUITE_TIMEOUT_MS = 7_200_000;
export const SUITE_SMOKE_TIMEOUT_MS = 180_000;
export const EDITS = SMOKE ? 3 : 50;
/** The default resync interval: the background window is one of it. */
export const RESYNC_INTERVAL_MS = 60_000;
/** The default discovery interval: every server is rediscovered once per it. */
export const DISCOVERY_INTERVAL_MS = 300_000;
const BACKGROUND_MS = process.env.BENCH_BACKGROUND ? parseDuration(process.env.BENCH_BACKGROUND) : SMOKE ? 3_000 : RESYNC_INTERVAL_MS;

function parseDuration(text) {
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`BENCH_BACKGROUND: "${text}" is not a duration (e.g. 60s, 5m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2]];
}
const FLEET_PROCESSES = SMOKE ? 2 : 4;
/** Reads: up to SAMPLES requests per figure, or as many as fit in FIGURE_MS (at least MIN_SAMPLES). */
const SAMPLES = SMOKE ? 5 : 300;
const MIN_SAMPLES = SMOKE ? 5 : 20;
const FIGURE_MS = 8_000;
const PATH = '/api/svc/v1/mcp-servers';
/** The longest the bench waits for a phase (a 50,000 cold sync against live upstreams included). */
const PHASE_MS = 2_400_000;
const SERVE_ARGS = (process.env.BENCH_SERVE_ARGS ?? '').split(' ').filter(Boolean);
const SERVE_NODE_ARGS = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);

let fleetPromise;
/** The upstream fleet, started once per bench (the cleanup registry stops it with the bench). */
export function upstreamFleet() {
  if (!fleetPromise) {
    fleetPromise = startUpstreamFleet({ processes: FLEET_PROCESSES });
    onCleanup(() => {
      fleetPromise = undefined;
    });
  }
  return fleetPromise;
}

const suites = new Map();

export function syncSuite(size) {
  if (!suites.has(size)) suites.set(size, runSuite(size));
  return suites.get(size);
}

let idle;
/** RSS and start time of a control plane with nothing to do (no servers, no directory). */
export function idleServer() {
  idle ??= (async () => {
    const cp = await startServer({ dataDir: tempDir('idle'), defaults: true });
    await cp.waitQuiet();
    const rss = cp.rssMb();
    await cp.stop();
    return { rssMb: rss, startMs: cp.startMs };
  })();
  return idle;
}

async function floor(dir, size) {
  const runs = size >= 50_000 || SMOKE ? 1 : 3;
  const results = [];
  for (let i = 0; i < runs; i++) {
    const child = await spawnNode(join(ROOT, 'bench', 'lib', 'floor.js'), [dir, join(tempDir('floor'), 'floor.db')]);
    results.push(await child.result());
  }
  const ms = median(results.map((r) => r.ms));
  return { ...results.find((r) => r.ms === ms), runs };
}

function fileMb(path) {
  try {
    return statSync(path).size / 1024 / 1024;
  } catch {
    return 0;
  }
}

/** Each database file with its WAL, and the pages its live rows take (dbstat: table and its indexes). */
export function disk(dataDir) {
  const measure = (file, tables) => {
    const path = join(dataDir, file);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const pages = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all();
      const indexes = db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").all();
      const owner = new Map(indexes.map((i) => [i.name, i.tbl_name]));
      let live = 0;
      const byName = {};
      for (const p of pages) {
        const table = owner.get(p.name) ?? p.name;
        byName[table] = (byName[table] ?? 0) + p.bytes / 1024 / 1024;
        if (tables.includes(table)) live += p.bytes / 1024 / 1024;
      }
      return { fileMb: fileMb(path), walMb: fileMb(`${path}-wal`), liveMb: live, byName };
    } finally {
      db.close();
    }
  };
  const controlPlane = measure('control-plane.db', ['resources', 'resource_tags', 'resource_readers', 'counters']);
  const gateway = measure('gateway.db', ['gateway_entries', 'gateway_counts']);
  const total = controlPlane.fileMb + controlPlane.walMb + gateway.fileMb + gateway.walMb;
  const live = controlPlane.liveMb + gateway.liveMb;
  return { controlPlane, gateway, totalMb: total, liveMb: live };
}

async function timed(base, token, path, check) {
  const started = performance.now();
  const r = await expectOk(callJson(base, token, 'GET', path), path);
  const ms = performance.now() - started;
  check?.(r);
  return ms;
}

async function reads(cp, size, viewerToken) {
  const expectItems = (n, total) => (r) => {
    if (r.json.data.length !== n || (total !== undefined && r.json.pagination.total !== total)) {
      throw new Error(`expected ${n} items (total ${total}), got ${r.json.data.length} (total ${r.json.pagination.total})`);
    }
  };
  const shardSize = Math.min(SHARD, Math.max(0, size - 3 * SHARD));
  const figures = {
    'non-admin list': [viewerToken, `${PATH}?limit=100`, expectItems(Math.min(100, shardSize), shardSize)],
    'non-admin + selector': [viewerToken, `${PATH}?limit=100&tag=shard:${VIEWER_SHARD}`, expectItems(Math.min(100, shardSize), shardSize)],
    'tag list': [cp.token, `${PATH}?limit=100&tag=shard:${VIEWER_SHARD}`, expectItems(Math.min(100, shardSize), shardSize)],
    'tag list, a tenth': [cp.token, `${PATH}?limit=100&tag=team:team-3`, (r) => expectItems(Math.min(100, r.json.pagination.total), undefined)(r)],
    'admin list': [cp.token, `${PATH}?limit=100`, expectItems(Math.min(100, size), size)],
    '/metrics': [cp.token, '/metrics'],
    get: [cp.token, `${PATH}/name/${serverName(Math.floor(size / 2))}`],
    // GAIA's project list as the same viewer: the servers of one project it may read (the default account).
    'GAIA project list': [
      viewerToken,
      '/api/mcp/servers?projectId=default',
      (r) => {
        if (r.json.servers?.length !== shardSize) throw new Error(`expected ${shardSize} servers, got ${r.json.servers?.length}`);
      },
    ],
  };
  const results = {};
  for (const [figure, [token, path, check]] of Object.entries(figures)) {
    // A few unmeasured requests first (JIT, caches), then the samples.
    for (let i = 0; i < Math.min(3, SAMPLES); i++) await timed(cp.url, token, path, check);
    const samples = [];
    const started = performance.now();
    while (samples.length < SAMPLES && (samples.length < MIN_SAMPLES || performance.now() - started < FIGURE_MS)) samples.push(await timed(cp.url, token, path, check));
    results[figure] = summarize(samples);
    log(`@${size} ${figure}: p50 ${results[figure].p50.toFixed(2)} ms, p99 ${results[figure].p99.toFixed(2)} ms`);
  }
  return results;
}

/** One resync interval of the settled fleet at the defaults: CPU per second, reconciles, discoveries. */
async function background(cp, fleet) {
  const before = await scrape(cp);
  const fleetBefore = fleet.cpuMs();
  const seconds = [];
  const started = performance.now();
  let last = cp.cpuMs();
  let next = started + 1000;
  while (performance.now() - started < BACKGROUND_MS) {
    await sleep(Math.max(0, next - performance.now()));
    const now = cp.cpuMs();
    seconds.push(now - last);
    last = now;
    next += 1000;
  }
  const wallMs = performance.now() - started;
  const after = await scrape(cp);
  const cpu = seconds.reduce((a, b) => a + b, 0);
  // What is spread evenly (rediscoveries, their reconciles, timers) is the median second; what a resync
  // adds comes in a burst once per interval: the CPU above the median, summed.
  const typical = median(seconds);
  const burst = seconds.reduce((a, s) => a + Math.max(0, s - typical), 0);
  return {
    wallMs,
    cpuMs: cpu,
    share: cpu / wallMs,
    typicalPerSecondMs: typical,
    burstMs: burst,
    maxSecondMs: Math.max(...seconds),
    reconciles: after.reconciles - before.reconciles,
    discoveries: after.discoveries - before.discoveries,
    fleetCpuMs: fleet.cpuMs() - fleetBefore,
  };
}

async function waitReady(cp, size, what) {
  let last;
  await waitFor(
    async () => {
      last = await scrape(cp);
      return last.ready >= size;
    },
    { timeoutMs: PHASE_MS, intervalMs: SMOKE ? 50 : 250, what: `${size} servers Ready (${what})` },
  );
  return last;
}

async function runSuite(size) {
  const { DEFAULT_WATCH_TIMING } = await importDist('sources/index.js');
  const loadAtStart = loadAverage();
  const fleet = await upstreamFleet();
  const dir = tempDir(`manifests-${size}`);
  const files = writeShardedDirectory(dir, { servers: size, perFile: PER_FILE, urlOf: fleet.urlOf });
  const viewerToken = newToken();
  const tokensFile = writeViewerTokens(tempDir('tokens'), viewerToken);
  log(`size ${size}: ${files.length} files in ${dir}; upstreams: ${fleet.processes} fleet processes`);

  const floorResult = await floor(dir, size);
  log(`floor: ${floorResult.ms.toFixed(0)} ms (read ${floorResult.readMs.toFixed(0)}, parse ${floorResult.parseMs.toFixed(0)}, validate ${floorResult.validateMs.toFixed(0)}, insert ${floorResult.insertMs.toFixed(0)})`);

  // --- cold sync
  const dataDir = tempDir(`data-${size}`);
  const gateway = new GatewayReader(dataDir);
  const serverOptions = { dataDir, manifestDirs: [dir], args: ['--tokens-file', tokensFile, ...SERVE_ARGS], nodeArgs: SERVE_NODE_ARGS, startTimeoutMs: PHASE_MS, defaults: true, sampleRssMs: 100 };
  const probe = memoryProbe(String(size));
  const fleetCpuBefore = fleet.cpuMs();
  const fleetRequestsBefore = await fleet.requests();
  let convergedAt;
  const serverPromise = startServer({ ...serverOptions, nodeArgs: [...SERVE_NODE_ARGS, ...probe.nodeArgs], env: probe.env });
  // Poll gateway.db while the server starts: the first figure ends when every entry holds generation 1.
  const poll = (async () => {
    await waitFor(() => gateway.count(1) >= size, { timeoutMs: PHASE_MS, intervalMs: 20, what: `${size} gateway entries` });
    convergedAt = performance.now();
  })();
  poll.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  const cp = await serverPromise;
  await poll;
  const cpuAtGateway = cp.cpuMs();
  await waitReady(cp, size, 'cold sync');
  const readyAt = performance.now();
  const cold = {
    totalMs: convergedAt - cp.spawnedAt,
    servingMs: cp.startMs,
    readyMs: readyAt - cp.spawnedAt,
    cpuMs: cpuAtGateway,
    cpuToReadyMs: cp.cpuMs(),
    fleetCpuMs: fleet.cpuMs() - fleetCpuBefore,
    fleetRequests: (await fleet.requests()) - fleetRequestsBefore,
  };
  log(`cold sync: gateway holds ${size} after ${cold.totalMs.toFixed(0)} ms, all Ready after ${cold.readyMs.toFixed(0)} ms (serving after ${cold.servingMs.toFixed(0)} ms, CPU ${cold.cpuToReadyMs.toFixed(0)} ms; fleet CPU ${cold.fleetCpuMs.toFixed(0)} ms for ${cold.fleetRequests} requests)`);
  // The tools are stored: one server's status names the fleet's tools for it.
  const probed = Math.floor(size / 2);
  const got = await expectOk(callJson(cp.url, cp.token, 'GET', `${PATH}/name/${serverName(probed)}`), 'get');
  const tools = (got.json?.data?.tools ?? []).map((t) => t.name).sort();
  if (!tools.includes(`get_record_${probed % 13}`) || tools.length !== 3) throw new Error(`${serverName(probed)} is Ready but its stored tools are ${JSON.stringify(tools)}`);
  // Settled: the process (almost) idle for a second. Reconciles never stop for long at the defaults: the
  // resync reconciles a slice of the fleet spread over each interval.
  const settled = await cp.waitQuiet({ windowMs: 1000, maxCpuMs: 100, timeoutMs: 60_000 }).then(
    () => true,
    () => false,
  );
  const afterCold = await scrape(cp);
  const diskAfterCold = disk(dataDir);
  const rssAfterCold = cp.rssMb();
  log(`settled${settled ? '' : ' (still busy after 60 s)'}: RSS ${rssAfterCold.toFixed(1)} MB, heap used ${afterCold.heapUsedMb.toFixed(1)} MB; disk ${diskAfterCold.totalMb.toFixed(1)} MB, live ${diskAfterCold.liveMb.toFixed(1)} MB`);
  probe.phase('cold');
  await probe.snapshot(cp.pid);

  // --- reads, then the background of one resync interval
  const readResults = await reads(cp, size, viewerToken);
  probe.phase('reads');
  await probe.snapshot(cp.pid);
  const bg = await background(cp, fleet);
  probe.phase('background');
  await probe.snapshot(cp.pid);
  log(`background: ${bg.cpuMs.toFixed(0)} ms CPU over ${(bg.wallMs / 1000).toFixed(0)} s (${(bg.share * 100).toFixed(2)} % of a core; above the median second ${bg.burstMs.toFixed(0)} ms); ${bg.reconciles} reconciles, ${bg.discoveries} discoveries`);

  // --- edits
  const target = files[Math.floor(files.length / 2)];
  const editedIndex = target.indices[0];
  const fqn = fqnOf(editedIndex);
  const timing = DEFAULT_WATCH_TIMING;
  const watcher = watch(dir, {
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: timing.stabilityThresholdMs, pollInterval: timing.pollIntervalMs },
  });
  await new Promise((r) => watcher.once('ready', r));
  let watcherSawAt;
  watcher.on('change', (p) => {
    if (p === target.path) watcherSawAt ??= performance.now();
  });
  const latencies = [];
  const windows = [];
  for (let rev = 1; rev <= EDITS; rev++) {
    const expected = gateway.generation(fqn) + 1;
    watcherSawAt = undefined;
    writeFileSync(target.path, shardedDocuments(target.indices, fleet.urlOf, (i) => (i === editedIndex ? rev : 0)));
    const wroteAt = performance.now();
    await waitFor(() => gateway.generation(fqn) >= expected, { timeoutMs: 60_000, intervalMs: 2, what: `generation ${expected} of ${fqn}` });
    latencies.push(performance.now() - wroteAt);
    await waitFor(() => watcherSawAt !== undefined, { timeoutMs: 10_000, intervalMs: 2, what: 'the bare watcher' });
    windows.push(watcherSawAt - wroteAt);
    // Let the edit's reconcile and discovery finish before the next edit (at most 2 s: at the defaults
    // a large fleet's rediscoveries keep the process busy).
    await cp.waitQuiet({ windowMs: 200, maxCpuMs: 15, timeoutMs: 2_000 }).catch(() => undefined);
  }
  await watcher.close();
  probe.phase('edits');
  await probe.snapshot(cp.pid);
  const edits = { latency: summarize(latencies), window: summarize(windows), stabilityThresholdMs: timing.stabilityThresholdMs, debounceMs: timing.debounceMs };
  log(`edits: p50 ${edits.latency.p50.toFixed(0)} ms, p99 ${edits.latency.p99.toFixed(0)} ms; bare watcher p50 ${edits.window.p50.toFixed(0)} ms`);

  const rss = { ...cp.rss(), final: cp.rssMb() };
  const heapUsedMb = (await scrape(cp)).heapUsedMb;

  // --- warm restart
  await cp.stop();
  const memory = probe.summary();
  const before = snapshot(dataDir);
  const warmProbe = memoryProbe(`${size}-warm`);
  const cp2 = await startServer({ ...serverOptions, nodeArgs: [...SERVE_NODE_ARGS, ...warmProbe.nodeArgs], env: warmProbe.env });
  const cpuAtServing = cp2.cpuMs();
  const discoveredBefore = (await scrape(cp2)).discoveries;
  // After a restart every server is discovered once more (discovery records live in memory).
  await waitFor(async () => (await scrape(cp2)).discoveries - discoveredBefore >= size, { timeoutMs: PHASE_MS, intervalMs: 250, what: `${size} rediscoveries after the restart` });
  await waitReady(cp2, size, 'warm restart');
  const rediscoveredMs = performance.now() - cp2.spawnedAt;
  const rediscoveryCpuMs = cp2.cpuMs() - cpuAtServing;
  await cp2.waitQuiet({ windowMs: 1000, maxCpuMs: 100, timeoutMs: 30_000 }).catch(() => undefined);
  warmProbe.phase('warm');
  const warm = { readyMs: cp2.startMs, rediscoveredMs, rediscoveryCpuMs, rss: { ...cp2.rss(), final: cp2.rssMb() }, memory: warmProbe.summary() };
  await cp2.stop();
  const after = snapshot(dataDir);
  warm.written = rowsWritten(before, after);
  gateway.close();
  log(`warm restart: serving after ${warm.readyMs.toFixed(0)} ms, every server rediscovered after ${warm.rediscoveredMs.toFixed(0)} ms; rows written: control plane ${warm.written.controlPlane}, gateway ${warm.written.gateway}`);

  return {
    size,
    load: `load average ${loadAtStart} at the start, ${loadAverage()} at the end`,
    files: files.length,
    fleetProcesses: fleet.processes,
    floor: floorResult,
    cold,
    settled,
    rssAfterColdMb: rssAfterCold,
    heapUsedAfterColdMb: afterCold.heapUsedMb,
    heapUsedMb,
    rss,
    disk: diskAfterCold,
    reads: readResults,
    background: bg,
    edits,
    warm,
    /** With BENCH_MEMORY_PROBE: the probe's summary per phase (undefined without it). */
    memory,
  };
}
