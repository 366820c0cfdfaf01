// resync: what the settled fleet costs at the defaults, over one default resync interval (60 s), in the
// scale scenario of bench/lib/sync-suite.js (every server Ready with tools, live upstreams; resync,
// rediscovery every 5 m and retries as users run them). From the process's CPU per second over the
// interval:
//   background       all of it, as a share of one core (resync + rediscoveries + their reconciles)
//   resync burst     the CPU above the interval's median second, summed: what comes once per interval
//                    (the resync) on top of what is spread evenly (rediscoveries); the goal is
//                    the resync ≤ 2 % of a core at 50,000
// with reconciles and discoveries in the interval from /metrics, and the upstream fleet's own CPU.
//   rediscovery      the CPU of one round of discovery of every server (measured at the warm restart, from
//                    serving until every server was discovered again and Ready), spread over the interval
//                    the defaults give this fleet (5 m, or the multiple of it --discovery-rate needs: 20 m
//                    at 50,000): what rediscovery costs in the steady state, which a 60 s window may miss
//                    (a fleet discovered at once is first rediscovered half an interval later)
import { DISCOVERY_INTERVAL_MS, RESYNC_INTERVAL_MS, SIZES, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';
import { parseRate, SERVE_FLAGS } from '../dist/src/config.js';
import { rediscoveryInterval } from '../dist/src/reconcile/discovery-manager.js';

/** --discovery-rate at its default, as the server parses it (undefined when the build has no such flag). */
const rateFlag = SERVE_FLAGS.find((f) => f.flag === 'discovery-rate');
const DISCOVERY_RATE = rateFlag ? parseRate(rateFlag.default, 'discovery-rate') : undefined;

export const describe = 'CPU of the settled fleet at the defaults over one resync interval (resync + rediscovery), as a share of a core';
export { SUITE_SMOKE_TIMEOUT_MS as smokeTimeoutMs, SUITE_TIMEOUT_MS as timeoutMs } from './lib/sync-suite.js';

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
      note: `${fmt(b.wallMs / 1000, 0)} s after the reads (the resync interval is ${RESYNC_INTERVAL_MS / 1000} s); busiest second ${fmt(b.maxSecondMs)} ms; the fleet used ${fmt(b.fleetCpuMs)} ms; ${s.load}`,
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
    const perDiscovery = s.warm.rediscoveryCpuMs / size;
    const intervalMs = rediscoveryInterval ? rediscoveryInterval(DISCOVERY_INTERVAL_MS, size, DISCOVERY_RATE) : DISCOVERY_INTERVAL_MS;
    rows.push({
      figure: 'rediscovery at defaults',
      size,
      measured: `${fmt(s.warm.rediscoveryCpuMs)} ms CPU per round (${fmt(perDiscovery)} ms per server) = ${fmt((s.warm.rediscoveryCpuMs / intervalMs) * 100, 2)} % of a core over one round of ${fmt(intervalMs / 60_000, 0)} m`,
      baseline: '–',
      ratio: undefined,
      goal: 'reported',
      met: undefined,
      note: `one round measured after the warm restart (serving → all ${size.toLocaleString('en-US')} discovered and Ready: ${fmt(s.warm.rediscoveredMs - s.warm.readyMs)} ms); ${s.load}`,
    });
  }
  return rows;
}
