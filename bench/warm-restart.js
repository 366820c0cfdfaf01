// warm-restart: stop the control plane (at its defaults, servers Ready against live upstreams) and start
// it again on the same data and the same (unchanged) directory: the time until it is ready (serving, the
// directory synced), and the rows it wrote to either store until every server was discovered once more
// and Ready (resourceVersion counter, events, gateway rows). Baseline: the cold sync of the same size in
// the same run.
import { HEADLINE, SIZES, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'restart on unchanged data: time to ready and rows written, vs the cold sync';
export { SUITE_SMOKE_TIMEOUT_MS as smokeTimeoutMs, SUITE_TIMEOUT_MS as timeoutMs } from './lib/sync-suite.js';

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const w = s.warm.written;
    const ratio = s.warm.readyMs / s.cold.totalMs;
    rows.push({
      figure: 'warm-restart',
      size,
      measured: `ready ${fmt(s.warm.readyMs)} ms; rows written ${w.controlPlane} + ${w.gateway}`,
      baseline: `cold sync ${fmt(s.cold.totalMs)} ms`,
      ratio,
      goal: '≤ 0.1× cold, 0 rows',
      met: ratio <= 0.1 && w.controlPlane === 0 && w.gateway === 0,
      note:
        `every server rediscovered and Ready after ${fmt(s.warm.rediscoveredMs)} ms; control plane: ${w.detail.resourceVersions} resource writes, ${w.detail.events} events; ` +
        `gateway: ${w.gateway} rows${size === HEADLINE ? '; headline size' : ''}; ${s.load}`,
    });
  }
  return rows;
}
