// retry-flood: what a fleet of unreachable servers costs once every one of them has failed, with resync,
// rediscovery and retries at their defaults. BENCH_RETRY_SERVERS (default 1,000; smoke: 60) servers point
// at a dead loopback port; after each has failed its first discovery, a window of BENCH_RETRY_WINDOW_S
// (default 30) seconds, after 10 s more (the backoff has reached its cap: the steady state), measures
//   failing discoveries per second   from mcp_cp_discovery_failures_total (exact)
//   control-plane CPU                the process's CPU over the window, as a share of one core
// with the retry budget at its default (--discovery-retry-rate 10/s), against the same build with the
// budget off in the same run (the schedule before the budget: each server every 5 s at most), the two
// interleaved BENCH_RETRY_ROUNDS (default 3) times; median and range, the load average beside each.
// A build without --discovery-retry-rate (an older checkout) runs both arms without it.
import { loadavg } from 'node:os';
import { SMOKE, log, sleep, tempDir, waitFor } from './lib/common.js';
import { callJson, deadLoopbackPort, expectOk } from './lib/http.js';
import { writeManifestDirectory } from './lib/manifests.js';
import { serveHasFlag, startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

export const describe = 'failing discoveries per second and CPU of a fleet on a dead port, retries at their defaults, with and without the retry budget';
export const timeoutMs = 1_800_000;
export const smokeTimeoutMs = 300_000;

const SERVERS = Number(process.env.BENCH_RETRY_SERVERS ?? (SMOKE ? 60 : 1000));
const WINDOW_MS = Number(process.env.BENCH_RETRY_WINDOW_S ?? (SMOKE ? 3 : 30)) * 1000;
const ROUNDS = Number(process.env.BENCH_RETRY_ROUNDS ?? (SMOKE ? 1 : 3));
const WARMUP_MS = SMOKE ? 1000 : 10_000;
/** The defaults of serve, in place of the bench's quiet flags. */
const DEFAULTS = ['--resync-interval', '60s', '--discovery-timeout', '10s', '--discovery-retry-base', '1s', '--discovery-retry-max', '5m', '--discovery-interval', '5m'];

async function failures(cp) {
  const r = await expectOk(callJson(cp.url, cp.token, 'GET', '/metrics'), '/metrics');
  let n = 0;
  for (const line of r.text.split('\n')) if (line.startsWith('mcp_cp_discovery_failures_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

const load1 = () => loadavg()[0];

/** One control plane with the budget at its default (or off): the figures of one window. */
export async function measure(budget) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('retry-flood-manifests');
  writeManifestDirectory(dir, { servers: SERVERS, perFile: 10, url });
  const args = [...DEFAULTS, ...(serveHasFlag('discovery-retry-rate') ? ['--discovery-retry-rate', budget ? '10/s' : 'off'] : [])];
  const cp = await startServer({ dataDir: tempDir('retry-flood-data'), manifestDirs: [dir], args });
  try {
    await waitFor(async () => (await failures(cp)) >= SERVERS, { timeoutMs: 600_000, intervalMs: 250, what: 'every server failed once' });
    await sleep(WARMUP_MS);
    const loadBefore = load1();
    const cpuBefore = cp.cpuMs();
    const countBefore = await failures(cp);
    const started = performance.now();
    await sleep(WINDOW_MS);
    const seconds = (performance.now() - started) / 1000;
    const cpu = cp.cpuMs() - cpuBefore;
    const count = (await failures(cp)) - countBefore;
    const r = { perSecond: count / seconds, corePct: cpu / 10 / seconds, load: [loadBefore, load1()] };
    log(`${budget ? 'budget 10/s' : 'budget off '}: ${fmt(r.perSecond)} failing discoveries/s, CPU ${fmt(r.corePct)} % of a core; load average ${fmt(r.load[0], 2)} → ${fmt(r.load[1], 2)}`);
    return r;
  } finally {
    await cp.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (xs, digits) => `median ${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

export async function run() {
  const on = [];
  const off = [];
  for (let i = 0; i < ROUNDS; i++) {
    off.push(await measure(false));
    on.push(await measure(true));
  }
  const loads = [...on, ...off].flatMap((r) => r.load);
  const ratio = median(on.map((r) => r.perSecond)) / median(off.map((r) => r.perSecond));
  return [
    {
      figure: 'retry-flood',
      size: SERVERS,
      measured: `${summary(on.map((r) => r.perSecond))} failing discoveries/s, CPU ${summary(on.map((r) => r.corePct))} % of a core`,
      baseline: `budget off: ${summary(off.map((r) => r.perSecond))} failing discoveries/s, CPU ${summary(off.map((r) => r.corePct))} % of a core`,
      ratio,
      goal: '≤ 10 failing discoveries/s (the budget)',
      met: SMOKE ? undefined : median(on.map((r) => r.perSecond)) <= 10 * 1.1,
      note: `${SERVERS} servers on a dead port, resync/rediscovery/retries at their defaults; ${ROUNDS} interleaved rounds of ${WINDOW_MS / 1000} s, from ${WARMUP_MS / 1000} s after every server failed once; load average ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} (1 min)`,
    },
  ];
}
