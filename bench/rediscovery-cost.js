// rediscovery-cost: what one rediscovery of a settled server costs the control plane, in CPU. A fleet of SIZE
// servers on live loopback upstreams (bench/lib/upstream-fleet.js, 4 processes, the sharded fleet's
// manifests) is synced and discovered once; with --discovery-interval INTERVAL_S (serve's default is 5 m;
// a short one makes the steady state come sooner and run faster) the process then rediscovers every server
// once per interval, spread evenly. After every server is Ready and one interval more (so every server is on
// its own rediscovery slot), a window of WINDOW_S seconds measures the control plane's CPU, the discoveries
// and reconciles it ran (its /metrics), and the fleet's CPU: CPU per rediscovery, reconciles per rediscovery.
// Everything else at its defaults (resync every 60 s included; its share is in the figure, as users run it).
//
// BENCH_TREES=DIR[,DIR…] runs each checkout's dist/ in turn (a before and an after build), ROUNDS times,
// interleaved; the fleet and this script come from this checkout. Each run prints one JSON line; the last
// line is the per-tree median and range. With BENCH_CPU_PROF=DIR each server writes its CPU profile there
// (see bench/lib/profile-turns.js; the window is printed as seconds from the spawn).
//   node bench/rediscovery-cost.js [SIZE=2000] [INTERVAL_S=30] [WINDOW_S=60] [ROUNDS=3]
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCleanups, sleep, tempDir, waitFor } from './lib/common.js';
import { startUpstreamFleet } from './lib/upstream-fleet.js';

const [sizeText = '2000', intervalText = '30', windowText = '60', roundsText = '3'] = process.argv.slice(2);
const SIZE = Number(sizeText);
const INTERVAL_S = Number(intervalText);
const WINDOW_S = Number(windowText);
const ROUNDS = Number(roundsText);
const TREES = (process.env.BENCH_TREES ?? ROOT).split(',').filter(Boolean);
const load1 = () => +loadavg()[0].toFixed(2);

const fleet = await startUpstreamFleet({ processes: 4 });

async function measure(tree) {
  const { startServer } = await import(join(tree, 'bench/lib/server.js'));
  const { writeShardedDirectory, scrape } = await import(join(tree, 'bench/lib/sharded-fleet.js'));
  const dir = tempDir('rediscovery-manifests');
  writeShardedDirectory(dir, { servers: SIZE, perFile: 100, urlOf: fleet.urlOf });
  const cp = await startServer({
    dataDir: tempDir('rediscovery-data'),
    manifestDirs: [dir],
    defaults: true,
    args: ['--discovery-interval', `${INTERVAL_S}s`, '--control-plane-nice', '0'],
    startTimeoutMs: 1_200_000,
  });
  try {
    await waitFor(async () => (await scrape(cp)).ready >= SIZE, { timeoutMs: 1_200_000, intervalMs: 1000, what: 'every server Ready' });
    // Every server on its own slot: the first rediscovery comes 0.5–1.5 intervals after the first discovery.
    await sleep(INTERVAL_S * 1500);
    const loadBefore = load1();
    const before = await scrape(cp);
    const cpu0 = cp.cpuMs();
    const fleet0 = fleet.cpuMs();
    const t0 = performance.now();
    const fromS = (t0 - cp.spawnedAt) / 1000;
    await sleep(WINDOW_S * 1000);
    const cpuMs = cp.cpuMs() - cpu0;
    const fleetMs = fleet.cpuMs() - fleet0;
    const wallMs = performance.now() - t0;
    const after = await scrape(cp);
    const discoveries = after.discoveries - before.discoveries;
    const reconciles = after.reconciles - before.reconciles;
    const out = {
      tree,
      size: SIZE,
      intervalS: INTERVAL_S,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(cpuMs),
      corePct: +((cpuMs / wallMs) * 100).toFixed(2),
      discoveries,
      failures: after.discoveryFailures - before.discoveryFailures,
      reconciles,
      cpuMsPerDiscovery: +(cpuMs / discoveries).toFixed(3),
      reconcilesPerDiscovery: +(reconciles / discoveries).toFixed(3),
      fleetCpuMsPerDiscovery: +(fleetMs / discoveries).toFixed(3),
      profileWindowS: [+fromS.toFixed(1), +(fromS + wallMs / 1000).toFixed(1)],
      load: [loadBefore, load1()],
    };
    console.log(JSON.stringify(out));
    return out;
  } finally {
    await cp.stop();
  }
}

const runs = [];
for (let r = 0; r < ROUNDS; r++) for (const tree of TREES) runs.push(await measure(tree));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = {};
for (const tree of TREES) {
  const mine = runs.filter((r) => r.tree === tree);
  const of = (k) => ({ median: median(mine.map((r) => r[k])), min: Math.min(...mine.map((r) => r[k])), max: Math.max(...mine.map((r) => r[k])) });
  summary[tree] = { cpuMsPerDiscovery: of('cpuMsPerDiscovery'), reconcilesPerDiscovery: of('reconcilesPerDiscovery'), corePct: of('corePct'), load: [Math.min(...mine.flatMap((r) => r.load)), Math.max(...mine.flatMap((r) => r.load))] };
}
console.log(JSON.stringify({ summary }));
await fleet.stop();
await runCleanups();
process.exit(0);
