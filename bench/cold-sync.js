// cold-sync: start the control plane on a directory of manifests (10 per file) and an empty data
// directory; the time until gateway.db holds every server at its generation, from the spawn of the
// process. Floor (same run, same directory): parse the files with yaml, validate with the compiled ajv
// schema, insert the rows into SQLite in one transaction, in one process (process start excluded).
import { HEADLINE, SIZES, idleServer, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'directory of N manifests → gateway store holds all, vs the parse+validate+insert floor';
export const timeoutMs = 1_800_000;

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
      note: `${s.files} files; CPU ${fmt(s.cold.cpuMs)} ms to converge; includes process start (an empty server serves after ${fmt(idle.startMs)} ms)${size === HEADLINE ? '; headline size' : ''}`,
    });
  }
  return rows;
}
