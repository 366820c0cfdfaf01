// memory: RSS of the control plane once it converged N servers from a directory (and went quiet),
// against an idle control plane (no servers, no directory) started in the same run.
import { HEADLINE, SIZES, idleServer, syncSuite } from './lib/sync-suite.js';
import { SMOKE } from './lib/common.js';
import { fmt } from './lib/stats.js';

export const describe = 'RSS after converging N servers, vs an idle server';
export const timeoutMs = 1_800_000;

export async function run() {
  const idle = await idleServer();
  const rows = [];
  let perServerAtHeadline;
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const perThousand = ((s.rssMb - idle.rssMb) / size) * 1000;
    if (size === HEADLINE) perServerAtHeadline = perThousand;
    let goal;
    let met;
    if (size === HEADLINE) {
      goal = SMOKE ? '≤ 150 MB (at 10,000)' : '≤ 150 MB';
      met = s.rssMb <= 150;
    } else if (size > HEADLINE && perServerAtHeadline !== undefined) {
      goal = 'growth linear (per server ≤ 1.25× that at the headline size)';
      met = perThousand <= perServerAtHeadline * 1.25;
    }
    rows.push({
      figure: 'memory',
      size,
      measured: `${fmt(s.rssMb, 1)} MB RSS`,
      baseline: `idle ${fmt(idle.rssMb, 1)} MB`,
      ratio: s.rssMb / idle.rssMb,
      goal,
      met,
      note: `${fmt(perThousand, 2)} MB per 1,000 servers above idle; after the warm restart ${fmt(s.warm.rssMb, 1)} MB`,
    });
  }
  return rows;
}
