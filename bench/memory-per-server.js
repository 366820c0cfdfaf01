// Bytes per settled server, by retainer (run standalone against the built tree: `npm run build` first).
// For each size: N servers in files of 10 on the live loopback fleet (bench/lib/upstream-fleet.js), the
// control plane at its defaults (npm start's process settings), wait until every server is Ready (tools
// stored) and the process is quiet, then a heap snapshot (V8 collects fully first), analysed by
// bench/lib/memory-retainers.js. Prints each size's heap and the slope between sizes by owner.field and
// by class: what each settled server costs, and where.
//
//   node bench/memory-per-server.js [sizes (default 0,2000,4000)] [top (default 30)]
//   MEM_SNAPSHOT_DIR=DIR keeps the snapshots there (default a temp dir, removed)
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { log, runCleanups, sleep, tempDir, waitFor } from './lib/common.js';
import { loadAverage } from './lib/proc.js';
import { scrape, writeShardedDirectory } from './lib/sharded-fleet.js';
import { startServer } from './lib/server.js';
import { startUpstreamFleet } from './lib/upstream-fleet.js';
import { analyzeSnapshot, largest } from './lib/memory-retainers.js';

const sizes = (process.argv[2] ?? '0,2000,4000').split(',').map(Number);
const top = Number(process.argv[3] ?? 30);
const snapDir = process.env.MEM_SNAPSHOT_DIR ?? tempDir('snapshots');
mkdirSync(snapDir, { recursive: true });

async function snapshotOf(pid) {
  const before = new Set(readdirSync(snapDir));
  process.kill(pid, 'SIGUSR2');
  const file = await waitFor(() => readdirSync(snapDir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)), { timeoutMs: 300_000, intervalMs: 200, what: 'a heap snapshot' });
  let last = -1;
  for (;;) {
    await sleep(1000);
    const size = statSync(join(snapDir, file)).size;
    if (size > 0 && size === last) return join(snapDir, file);
    last = size;
  }
}

async function measure(size, fleet) {
  const dir = tempDir(`manifests-${size}`);
  writeShardedDirectory(dir, { servers: size, perFile: 10, urlOf: fleet.urlOf });
  const load = loadAverage();
  const cp = await startServer({
    dataDir: tempDir(`data-${size}`),
    manifestDirs: [dir],
    defaults: true,
    nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`],
    startTimeoutMs: 1_800_000,
  });
  try {
    await waitFor(async () => (await scrape(cp)).ready >= size, { timeoutMs: 1_800_000, intervalMs: 250, what: `${size} servers Ready` });
    await cp.waitQuiet({ windowMs: 1000, maxCpuMs: 100, timeoutMs: 60_000 }).catch(() => undefined);
    const rssMb = cp.rssMb();
    const file = await snapshotOf(cp.pid);
    const a = analyzeSnapshot(file);
    log(`size ${size}: RSS ${rssMb.toFixed(1)} MB, live heap ${(a.totalBytes / 1024 / 1024).toFixed(1)} MB (load ${load})`);
    return { size, rssMb, ...a };
  } finally {
    await cp.stop();
  }
}

try {
  const fleet = await startUpstreamFleet({ processes: 4 });
  const results = [];
  for (const size of sizes) results.push(await measure(size, fleet));
  const fmt = (b) => b.toFixed(0).padStart(8);
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1];
    const b = results[i];
    const per = b.size - a.size;
    console.log(`\n${a.size} → ${b.size} servers: live heap ${(a.totalBytes / 1048576).toFixed(1)} → ${(b.totalBytes / 1048576).toFixed(1)} MB, ${((b.totalBytes - a.totalBytes) / per).toFixed(0)} B/server; RSS ${a.rssMb.toFixed(1)} → ${b.rssMb.toFixed(1)} MB`);
    const slope = (ma, mb, value = (x) => x) => {
      const keys = new Set([...ma.keys(), ...mb.keys()]);
      const m = new Map();
      for (const k of keys) m.set(k, (value(mb.get(k) ?? 0) - value(ma.get(k) ?? 0)) / per);
      return m;
    };
    console.log('B/server by owner.field (retained)');
    for (const [k, v] of largest(slope(a.byField, b.byField), top)) console.log(`${fmt(v)}  ${k}`);
    console.log('B/server by class (self size; count/server)');
    const selfSlope = slope(a.byClass, b.byClass, (c) => c?.selfBytes ?? 0);
    const countSlope = slope(a.byClass, b.byClass, (c) => c?.count ?? 0);
    for (const [k, v] of largest(selfSlope, top)) console.log(`${fmt(v)}  ${countSlope.get(k).toFixed(2).padStart(7)}  ${k}`);
    console.log(`sliced strings: ${a.sliced.count} → ${b.sliced.count}, parents kept ${(a.sliced.parentBytes / 1024).toFixed(0)} → ${(b.sliced.parentBytes / 1024).toFixed(0)} KB`);
  }
} finally {
  await runCleanups();
}
