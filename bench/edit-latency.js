// edit-latency: in the N-manifest directory, rewrite one file (one server's description) again and
// again; the time from the write to the gateway entry's new generation. Baseline: a bare chokidar
// watcher with the control plane's own awaitWriteFinish settings on the same directory, timed on the
// same writes (the stability window as it really is: threshold plus polling).
import { EDITS, HEADLINE, SIZES, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'one file edited 50 times: write → gateway entry at the new generation, vs the watcher window';
export { SUITE_SMOKE_TIMEOUT_MS as smokeTimeoutMs, SUITE_TIMEOUT_MS as timeoutMs } from './lib/sync-suite.js';

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const { latency, window } = s.edits;
    rows.push({
      figure: 'edit-latency',
      size,
      measured: `p50 ${fmt(latency.p50)} ms, p99 ${fmt(latency.p99)} ms`,
      baseline: `window p50 ${fmt(window.p50)} ms, p99 ${fmt(window.p99)} ms`,
      ratio: latency.p50 / window.p50,
      goal: 'p50 ≤ window + 50 ms',
      met: latency.p50 <= window.p50 + 50,
      note: `${EDITS} edits; p50 overhead ${fmt(latency.p50 - window.p50)} ms (stability ${s.edits.stabilityThresholdMs} ms, debounce ${s.edits.debounceMs} ms)${size === HEADLINE ? '; headline size' : ''}; defaults, live upstreams; ${s.load}`,
    });
  }
  return rows;
}
