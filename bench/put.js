// put: PUT with real persistence — every request is a new revision of one of 1,000 manifests (an
// UPDATE: row, generation, changelog, event, enqueue; the reconciler then writes the gateway entry
// and status in the same process). Baseline: bare express parsing and answering the same JSON.
import { putFigure } from './lib/put-family.js';
import { fmt } from './lib/stats.js';

export const describe = 'PUT of changed manifests (1,000 round-robin, 32 connections) vs bare express';

export async function run() {
  const { base, mine, generation, settings } = await putFigure('update');
  const ratio = mine.rps / base.rps;
  return [
    {
      figure: 'put',
      measured: `${fmt(mine.rps)} req/s, p50 ${fmt(mine.p50)} ms, p99 ${fmt(mine.p99)} ms`,
      baseline: `${fmt(base.rps)} req/s, p50 ${fmt(base.p50)} ms, p99 ${fmt(base.p99)} ms`,
      ratio,
      goal: '≥ 0.5× req/s, p99 ≤ 10 ms',
      met: ratio >= 0.5 && mine.p99 <= 10,
      note: `${settings.connections} connections; ${fmt(mine.total)} PUTs; server 0 reached generation ${generation}`,
    },
  ];
}
