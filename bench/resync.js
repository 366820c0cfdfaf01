// resync: what the settled fleet costs at the defaults, over one default resync interval (60 s), in the
// scale scenario of bench/lib/sync-suite.js (every server Ready with tools, live upstreams; resync,
// rediscovery every 5 m and retries as users run them). From the process's CPU per second over the
// interval:
//   background       all of it, as a share of one core (resync + rediscoveries + their reconciles)
//   resync burst     the CPU above the interval's median second, summed: what comes once per interval
//                    (the resync) on top of what is spread evenly (rediscoveries); the goal is
//                    the resync ≤ 2 % of a core at 50,000
// with reconciles and discoveries in the interval from /metrics, and the upstream fleet's own CPU.
import { RESYNC_INTERVAL_MS, SIZES, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'CPU of the settled fleet at the defaults over one resync interval (resync + rediscovery), as a share of a core';
export const timeoutMs = 7_200_000;
export const smokeTimeoutMs = 180_000;

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const b = s.background;
    const burstShare = b.burstMs / b.wallMs;
    rows.push({
      figure: 'resync (background at defaults)',
      size,
      measured: `${fmt(b.cpuMs)} ms CPU in ${fmt(b.wallMs / 1000, 0)} s = ${fmt(b.share * 100, 2)} % of a core; ${fmt(b.reconciles)} reconciles, ${fmt(b.discoveries)} discoveries`,
      baseline: `median second ${fmt(b.typicalPerSecondMs)} ms`,
      ratio: undefined,
      goal: 'reported (resync + rediscovery)',
      met: undefined,
      note: `one ${RESYNC_INTERVAL_MS / 1000} s interval after the reads; busiest second ${fmt(b.maxSecondMs)} ms; the fleet used ${fmt(b.fleetCpuMs)} ms; ${s.load}`,
    });
    rows.push({
      figure: 'resync burst',
      size,
      measured: `${fmt(b.burstMs)} ms CPU above the median second = ${fmt(burstShare * 100, 2)} % of a core`,
      baseline: '–',
      ratio: undefined,
      goal: '≤ 2 % of a core at 50,000',
      met: size >= 50_000 ? burstShare <= 0.02 : undefined,
      note: `what comes once per interval on top of the evenly spread rediscoveries; ${s.load}`,
    });
  }
  return rows;
}
