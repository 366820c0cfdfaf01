// scale-reads: what a read costs as the fleet grows (the sizes of BENCH_SCALE), in the scale scenario of
// bench/lib/sync-suite.js: the control plane at its defaults, every server Ready with its tools (live
// upstreams), each server in a shard of 100 (a tag `shard`, its team the collaborator that may read it) and
// one of 10 teams (a tag `team`). One request at a time, p50 and p99 of each:
//   non-admin list         a viewer of one shard (GET ?limit=100: the 100 servers it may read)
//   non-admin + selector   the same viewer with ?tag=shard:… (100)
//   tag list (admin)       ?tag=shard:… (100)
//   tag list, a tenth      ?tag=team:… (admin; a tenth of the fleet: its cost follows what it selects)
//   admin list             the first page of 100
//   /metrics, get          GET /metrics; GET /name/{name}
// The goal is the issue's: the p50 of each bounded request flat (≤ 1.5×) from the smallest size to the largest.
import { SIZES, syncSuite } from './lib/sync-suite.js';
import { fmt } from './lib/stats.js';

export const describe = 'p50/p99 of admin, filtered and non-admin lists, /metrics and get at each size (defaults, servers Ready with tools)';
export const timeoutMs = 7_200_000;
export const smokeTimeoutMs = 180_000;

export async function run() {
  const runs = [];
  for (const size of SIZES) runs.push(await syncSuite(size));
  const first = runs[0];
  const rows = [];
  for (const figure of Object.keys(first.reads)) {
    for (const r of runs) {
      const s = r.reads[figure];
      const base = first.reads[figure];
      const ratio = s.p50 / base.p50;
      const bounded = figure !== 'tag list, a tenth';
      rows.push({
        figure: `scale-reads ${figure}`,
        size: r.size,
        measured: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`,
        baseline: r === first ? '–' : `p50 ${fmt(base.p50)} ms, p99 ${fmt(base.p99)} ms @${first.size.toLocaleString('en-US')}`,
        ratio: r === first ? undefined : ratio,
        goal: bounded ? 'p50 ≤ 1.5× of the smallest size' : 'context (selects a tenth)',
        met: r === first || !bounded ? undefined : ratio <= 1.5,
        note: `${s.n} requests one at a time; defaults, servers Ready with tools; max RSS ${fmt(r.rss.max, 0)} MB over the run; ${r.load}`,
      });
    }
  }
  return rows;
}
