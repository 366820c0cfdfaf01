// resync: the CPU a periodic resync costs once everything is applied (nothing drifted), at BENCH_RESYNC_SIZES
// (default 1,000 and 10,000; smoke: tiny). The control plane runs with --resync-interval 10s so a
// measurement takes seconds, not minutes: CPU over three intervals, per interval, is what one resync costs
// (the slice reconciled per resync does not depend on the interval's length), and the figure is that
// cost per default interval (60 s) as a share of one core. Rediscovery and retries stay quiet (QUIET_FLAGS),
// so the CPU is the resync's own (plus the idle process's, a few ms a second, measured first).
import { SMOKE, log, sleep, tempDir, waitFor } from './lib/common.js';
import { deadLoopbackPort } from './lib/http.js';
import { writeManifestDirectory } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt } from './lib/stats.js';

export const describe = 'CPU of a no-op resync (nothing drifted), as a share of a core at the default 60 s interval';
export const timeoutMs = 1_800_000;

const SIZES = process.env.BENCH_RESYNC_SIZES ? process.env.BENCH_RESYNC_SIZES.split(',').map(Number) : SMOKE ? [60] : [1000, 10_000];
const INTERVAL_MS = SMOKE ? 1_000 : 10_000;
const INTERVALS = SMOKE ? 2 : 3;
const DEFAULT_INTERVAL_MS = 60_000;

async function measure(size) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('resync-manifests');
  writeManifestDirectory(dir, { servers: size, perFile: 10, url });
  const dataDir = tempDir('resync-data');
  // Idle first: the same fleet without resync, to subtract what the process spends doing nothing.
  const quiet = await startServer({ dataDir, manifestDirs: [dir] });
  const gateway = new GatewayReader(dataDir);
  await waitFor(() => gateway.count(1) >= size, { timeoutMs: 1_200_000, what: 'every server in the gateway store' });
  gateway.close();
  await quiet.waitQuiet({ timeoutMs: 1_200_000 });
  const idleStart = quiet.cpuMs();
  await sleep(INTERVAL_MS);
  const idlePerInterval = quiet.cpuMs() - idleStart;
  await quiet.stop();
  // The same data with resync on: a restart reconciles every key once; then the periodic resyncs.
  const cp = await startServer({ dataDir, manifestDirs: [dir], args: ['--resync-interval', `${INTERVAL_MS}ms`] });
  try {
    // Past the restart's own pass and the first resync (a full one under the old scheme, too).
    await cp.waitQuiet({ timeoutMs: 1_200_000, windowMs: 200 });
    await sleep(INTERVAL_MS);
    const before = cp.cpuMs();
    let maxRss = cp.rssMb();
    const started = performance.now();
    while (performance.now() - started < INTERVALS * INTERVAL_MS) {
      await sleep(100);
      maxRss = Math.max(maxRss, cp.rssMb());
    }
    const perInterval = Math.max(0, (cp.cpuMs() - before) / INTERVALS - idlePerInterval);
    log(`@${size}: ${fmt(perInterval)} ms CPU per resync (idle ${fmt(idlePerInterval)} ms per ${INTERVAL_MS} ms subtracted)`);
    return { size, perInterval, idlePerInterval, maxRss };
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
      measured: `${fmt(r.perInterval)} ms CPU per resync = ${fmt(share * 100, 2)} % of a core at 60 s`,
      baseline: '–',
      ratio: undefined,
      goal: '≤ 2 % of a core at 50,000',
      met: r.size >= 50_000 ? share <= 0.02 : undefined,
      note: `nothing drifted; ${INTERVALS} resyncs at ${INTERVAL_MS / 1000} s, idle CPU subtracted; max RSS ${fmt(r.maxRss, 0)} MB`,
    });
  }
  return rows;
}
