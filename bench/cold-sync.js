// cold-sync: start the control plane (at its defaults) on a directory of manifests (10 per file) whose
// servers are live upstreams of the loopback fleet, and an empty data directory. Two figures:
//   cold-sync           until gateway.db holds every server at its generation, from the spawn of the
//                       process. Floor (same run, same directory): parse the files with yaml, validate with
//                       the compiled ajv schema, insert the rows into SQLite in one transaction, in one
//                       process (process start excluded).
//   cold-sync to Ready  until every server is Ready: discovered, its tools stored (what a user waits for);
//                       with the control plane's CPU and the fleet's own (so the fleet is seen not to dominate).
import { HEADLINE, SIZES, idleServer, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'directory of N manifests (live upstreams) → gateway store holds all, and all Ready with tools, vs the parse+validate+insert floor';
export { SUITE_SMOKE_TIMEOUT_MS as smokeTimeoutMs, SUITE_TIMEOUT_MS as timeoutMs } from './lib/sync-suite.js';

export async function run() {
  const idle = await idleServer();
  const rows = [];
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const ratio = s.cold.totalMs / s.floor.ms;
    rows.push({
      figure: 'cold-sync',
      size,
      measured: `${fmt(s.cold.totalMs)} ms (serving at ${fmt(s.cold.servingMs)} ms)`,
      baseline: `floor ${fmt(s.floor.ms)} ms (parse ${fmt(s.floor.parseMs)}, validate ${fmt(s.floor.validateMs)}, insert ${fmt(s.floor.insertMs)})`,
      ratio,
      goal: '≤ 2× floor',
      met: ratio <= 2,
      note: `${s.files} files; defaults, live upstreams; CPU ${fmt(s.cold.cpuMs)} ms to converge; includes process start (an empty server serves after ${fmt(idle.startMs)} ms)${size === HEADLINE ? '; headline size' : ''}; ${s.load}`,
    });
    rows.push({
      figure: 'cold-sync to Ready',
      size,
      measured: `${fmt(s.cold.readyMs)} ms until all ${size.toLocaleString('en-US')} Ready with tools; CPU ${fmt(s.cold.cpuToReadyMs)} ms`,
      baseline: `gateway holds all at ${fmt(s.cold.totalMs)} ms`,
      ratio: s.cold.readyMs / s.cold.totalMs,
      goal: 'reported',
      met: undefined,
      note: `discovery at its defaults (8 at once); the upstream fleet (${s.fleetProcesses} processes) used ${fmt(s.cold.fleetCpuMs)} ms CPU for ${s.cold.fleetRequests.toLocaleString('en-US')} requests; ${s.load}`,
    });
  }
  return rows;
}
