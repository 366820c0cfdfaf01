// resync: what a periodic resync costs once everything is applied (nothing drifted), at BENCH_RESYNC_SIZES
// (default 1,000 and 10,000; smoke: tiny). The control plane runs with --resync-interval 10s so a
// measurement takes seconds, not minutes; what one resync costs does not depend on the interval's length,
// and the figure is that cost per default interval (60 s) as a share of one core. Two numbers:
//   reconciles per resync   from mcp_cp_reconcile_total (exact, whatever the machine's load)
//   CPU per resync          the process's CPU over three intervals, less the CPU of the same fleet with
//                           resync off over as long (both after the reconcile count stopped moving)
// Rediscovery and retries stay quiet (QUIET_FLAGS), so the CPU is the resync's own.
import { SMOKE, log, sleep, tempDir, waitFor } from './lib/common.js';
import { callJson, deadLoopbackPort, expectOk } from './lib/http.js';
import { writeManifestDirectory } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt } from './lib/stats.js';

export const describe = 'CPU and reconciles of a no-op resync (nothing drifted), as a share of a core at the default 60 s interval';
export const timeoutMs = 1_800_000;

const SIZES = process.env.BENCH_RESYNC_SIZES ? process.env.BENCH_RESYNC_SIZES.split(',').map(Number) : SMOKE ? [60] : [1000, 10_000];
const INTERVAL_MS = SMOKE ? 1_000 : 10_000;
const INTERVALS = SMOKE ? 2 : 3;
const DEFAULT_INTERVAL_MS = 60_000;

async function reconciles(cp) {
  const r = await expectOk(callJson(cp.url, cp.token, 'GET', '/metrics'), '/metrics');
  let n = 0;
  for (const line of r.text.split('\n')) if (line.startsWith('mcp_cp_reconcile_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** Resolves once the reconcile count has not moved for `stillMs`. */
async function reconcilesSettle(cp, stillMs) {
  let last = await reconciles(cp);
  let since = performance.now();
  for (;;) {
    await sleep(250);
    const now = await reconciles(cp);
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= stillMs) return now;
  }
}

async function measure(size) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('resync-manifests');
  writeManifestDirectory(dir, { servers: size, perFile: 10, url });
  const dataDir = tempDir('resync-data');
  // Without resync first: what the process spends doing nothing, over as long as the measurement.
  const quiet = await startServer({ dataDir, manifestDirs: [dir] });
  const gateway = new GatewayReader(dataDir);
  await waitFor(() => gateway.count(1) >= size, { timeoutMs: 1_200_000, what: 'every server in the gateway store' });
  gateway.close();
  await reconcilesSettle(quiet, 3_000);
  const idleStart = quiet.cpuMs();
  await sleep(INTERVALS * INTERVAL_MS);
  const idle = quiet.cpuMs() - idleStart;
  await quiet.stop();
  // The same data with resync on: a restart reconciles every key once, then the periodic resyncs.
  const cp = await startServer({ dataDir, manifestDirs: [dir], args: ['--resync-interval', `${INTERVAL_MS}ms`] });
  try {
    await waitFor(async () => (await reconciles(cp)) >= size, { timeoutMs: 1_200_000, what: "the restart's reconcile of every key" });
    // Past the restart's pass and into the periodic resyncs.
    await sleep(INTERVAL_MS * 1.5);
    const cpuBefore = cp.cpuMs();
    const countBefore = await reconciles(cp);
    let maxRss = cp.rssMb();
    const started = performance.now();
    while (performance.now() - started < INTERVALS * INTERVAL_MS) {
      await sleep(100);
      maxRss = Math.max(maxRss, cp.rssMb());
    }
    const cpu = cp.cpuMs() - cpuBefore;
    const count = (await reconciles(cp)) - countBefore;
    const perInterval = Math.max(0, (cpu - idle) / INTERVALS);
    log(`@${size}: ${fmt(count / INTERVALS)} reconciles and ${fmt(perInterval)} ms CPU per resync (${fmt(cpu)} ms over ${INTERVALS} intervals, ${fmt(idle)} ms idle)`);
    return { size, perInterval, reconcilesPerResync: count / INTERVALS, idle, maxRss };
  } finally {
    await cp.stop();
  }
}

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const r = await measure(size);
    const share = r.perInterval / DEFAULT_INTERVAL_MS;
    rows.push({
      figure: 'resync',
      size,
      measured: `${fmt(r.reconcilesPerResync)} reconciles, ${fmt(r.perInterval)} ms CPU per resync = ${fmt(share * 100, 2)} % of a core at 60 s`,
      baseline: `idle ${fmt(r.idle / INTERVALS)} ms per ${INTERVAL_MS / 1000} s`,
      ratio: undefined,
      goal: '≤ 2 % of a core at 50,000',
      met: r.size >= 50_000 ? share <= 0.02 : undefined,
      note: `nothing drifted; ${INTERVALS} resyncs at ${INTERVAL_MS / 1000} s, CPU of the process with resync off over as long subtracted; max RSS ${fmt(r.maxRss, 0)} MB`,
    });
  }
  return rows;
}
