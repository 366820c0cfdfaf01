// The GitOps scenario behind cold-sync, warm-restart, edit-latency and memory, at one size:
//   1 floor        bench/lib/floor.js on the same directory (median of a few fresh processes)
//   2 cold sync    start the control plane on the directory; time until gateway.db holds every
//                  server at its generation; then wait until it is quiet and read its RSS
//   3 edits        rewrite one file `edits` times (one server's description each time); time from the
//                  write to the gateway entry's new generation, next to a bare chokidar watcher with the
//                  control plane's own awaitWriteFinish settings on the same directory (the window)
//   4 warm restart stop, start again on the same data and directory; time to ready, rows written
// Each size runs once per bench process and is shared by the four figures.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watch } from 'chokidar';
import { ROOT, SMOKE, importDist, log, sleep, tempDir, waitFor } from './common.js';
import { spawnNode } from './child.js';
import { deadLoopbackPort } from './http.js';
import { fqnOf, manifest, writeManifestDirectory, yamlDocuments } from './manifests.js';
import { startServer } from './server.js';
import { GatewayReader, rowsWritten, snapshot } from './stores.js';
import { median, summarize } from './stats.js';

/** Servers per file (10,000 manifests in 1,000 files). */
export const PER_FILE = SMOKE ? 5 : 10;
/** The sizes of the scaling rows; the headline figures are at HEADLINE. */
/** BENCH_SIZES=1000,10000 runs fewer sizes (while working on one). */
export const SIZES = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : SMOKE ? [20, 60] : [1000, 10_000, 50_000];
export const HEADLINE = SMOKE ? 60 : 10_000;
export const EDITS = SMOKE ? 3 : 50;

const suites = new Map();

export function syncSuite(size) {
  if (!suites.has(size)) suites.set(size, runSuite(size));
  return suites.get(size);
}

let idle;
/** RSS and start time of a control plane with nothing to do (no servers, no directory). */
export function idleServer() {
  idle ??= (async () => {
    const cp = await startServer({ dataDir: tempDir('idle') });
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

async function runSuite(size) {
  const { DEFAULT_WATCH_TIMING } = await importDist('sources/index.js');
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir(`manifests-${size}`);
  const files = writeManifestDirectory(dir, { servers: size, perFile: PER_FILE, url });
  log(`size ${size}: ${files.length} files in ${dir}`);

  const floorResult = await floor(dir, size);
  log(`floor: ${floorResult.ms.toFixed(0)} ms (read ${floorResult.readMs.toFixed(0)}, parse ${floorResult.parseMs.toFixed(0)}, validate ${floorResult.validateMs.toFixed(0)}, insert ${floorResult.insertMs.toFixed(0)})`);

  // --- cold sync
  const dataDir = tempDir(`data-${size}`);
  const gateway = new GatewayReader(dataDir);
  let convergedAt;
  const serverPromise = startServer({ dataDir, manifestDirs: [dir], startTimeoutMs: 900_000 });
  // Poll gateway.db while the server starts: the figure ends when every entry holds generation 1.
  const started = performance.now();
  const poll = (async () => {
    await waitFor(() => gateway.count(1) >= size, { timeoutMs: 900_000, intervalMs: 20, what: `${size} gateway entries` });
    convergedAt = performance.now();
  })();
  poll.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  const cp = await serverPromise;
  await poll;
  // The CPU the process used to converge (read a poll interval late at most): on a shared machine this
  // moves less than the wall time.
  const cpuMs = cp.cpuMs();
  const cold = {
    totalMs: convergedAt - cp.spawnedAt,
    servingMs: cp.startMs,
    cpuMs,
    pollStartedLateMs: started - cp.spawnedAt,
  };
  const quietMs = await cp.waitQuiet({ timeoutMs: 900_000 });
  cold.quietAfterMs = convergedAt - cp.spawnedAt + quietMs;
  const rssMb = cp.rssMb();
  log(`cold sync: gateway holds ${size} after ${cold.totalMs.toFixed(0)} ms (serving after ${cold.servingMs.toFixed(0)} ms, CPU ${cold.cpuMs.toFixed(0)} ms); RSS ${rssMb.toFixed(1)} MB`);

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
    const docs = target.indices.map((i) => manifest(i, { url, rev: i === editedIndex ? rev : 0 }));
    const expected = gateway.generation(fqn) + 1;
    watcherSawAt = undefined;
    writeFileSync(target.path, yamlDocuments(docs));
    const wroteAt = performance.now();
    await waitFor(() => gateway.generation(fqn) >= expected, { timeoutMs: 60_000, intervalMs: 2, what: `generation ${expected} of ${fqn}` });
    latencies.push(performance.now() - wroteAt);
    await waitFor(() => watcherSawAt !== undefined, { timeoutMs: 10_000, intervalMs: 2, what: 'the bare watcher' });
    windows.push(watcherSawAt - wroteAt);
    // Let the reconcile finish (status, discovery) before the next edit, so each edit is measured alone.
    await cp.waitQuiet({ windowMs: 200, maxCpuMs: 15, timeoutMs: 60_000 });
    await sleep(50);
  }
  await watcher.close();
  const edits = { latency: summarize(latencies), window: summarize(windows), stabilityThresholdMs: timing.stabilityThresholdMs, debounceMs: timing.debounceMs };
  log(`edits: p50 ${edits.latency.p50.toFixed(0)} ms, p99 ${edits.latency.p99.toFixed(0)} ms; bare watcher p50 ${edits.window.p50.toFixed(0)} ms`);

  // --- warm restart
  await cp.stop();
  const before = snapshot(dataDir);
  const warmStarted = performance.now();
  const cp2 = await startServer({ dataDir, manifestDirs: [dir], startTimeoutMs: 900_000 });
  const warmQuietMs = await cp2.waitQuiet({ timeoutMs: 900_000 });
  const warm = {
    readyMs: cp2.startMs,
    quietAfterMs: performance.now() - warmStarted - 0,
    quietWaitMs: warmQuietMs,
    rssMb: cp2.rssMb(),
  };
  await cp2.stop();
  const after = snapshot(dataDir);
  warm.written = rowsWritten(before, after);
  gateway.close();
  log(`warm restart: ready after ${warm.readyMs.toFixed(0)} ms, quiet after ${warm.quietAfterMs.toFixed(0)} ms; rows written: control plane ${warm.written.controlPlane}, gateway ${warm.written.gateway}`);

  return { size, files: files.length, floor: floorResult, cold, rssMb, edits, warm };
}
