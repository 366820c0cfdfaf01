// put-unchanged: PUT of the stored manifests again (the GitOps steady state: hash equal → nothing
// written, nothing enqueued). Baseline: bare express parsing and answering the same JSON.
import { putFigure } from './lib/put-family.js';
import { fmt } from './lib/stats.js';

export const describe = 'PUT of unchanged manifests (1,000 round-robin, 32 connections) vs bare express';

export async function run() {
  const { base, mine, generation, settings } = await putFigure('unchanged');
  const ratio = mine.rps / base.rps;
  return [
    {
      figure: 'put-unchanged',
      measured: `${fmt(mine.rps)} req/s, p50 ${fmt(mine.p50)} ms, p99 ${fmt(mine.p99)} ms`,
      baseline: `${fmt(base.rps)} req/s, p50 ${fmt(base.p50)} ms, p99 ${fmt(base.p99)} ms`,
      ratio,
      goal: '≥ 0.7× req/s',
      met: ratio >= 0.7,
      note: `${settings.connections} connections; generation stayed ${generation}`,
    },
  ];
}
