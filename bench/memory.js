// memory: the control plane's RSS through the whole scale scenario (cold sync against live upstreams,
// reads, a resync interval at the defaults, edits), sampled every 100 ms from the spawn: the max and the
// last sample, with heap used; against an idle control plane (no servers, no directory) started in the
// same run. database: the files after the cold sync (with their WAL) against the pages of their live rows.
import { HEADLINE, SIZES, idleServer, syncSuite } from './lib/sync-suite.js';
import { SMOKE } from './lib/common.js';
import { fmt } from './lib/stats.js';

export const describe = 'RSS (max over the run, sampled every 100 ms) with N Ready servers, vs an idle server; database size vs live rows';
export const timeoutMs = 7_200_000;
export const smokeTimeoutMs = 180_000;

/** The goals: max RSS @10,000 ≤ 150 MB, @50,000 ≤ 400 MB. */
function rssGoal(size) {
  if (size === HEADLINE) return { limit: 150, text: SMOKE ? '≤ 150 MB max (at 10,000)' : '≤ 150 MB max' };
  if (size === 50_000) return { limit: 400, text: '≤ 400 MB max' };
  return undefined;
}

export async function run() {
  const idle = await idleServer();
  const rows = [];
  for (const size of SIZES) {
    const s = await syncSuite(size);
    const goal = rssGoal(size);
    rows.push({
      figure: 'memory',
      size,
      measured: `max ${fmt(s.rss.max, 1)} MB RSS, last ${fmt(s.rss.final, 1)} MB; heap used ${fmt(s.heapUsedMb, 1)} MB`,
      baseline: `idle ${fmt(idle.rssMb, 1)} MB`,
      ratio: s.rss.max / idle.rssMb,
      goal: goal?.text ?? 'reported',
      met: goal ? s.rss.max <= goal.limit : undefined,
      note:
        `${s.rss.samples} samples from the spawn (cold sync to Ready, reads, ${fmt(s.background.wallMs / 1000, 0)} s at the defaults, edits); ` +
        `after the cold sync ${fmt(s.rssAfterColdMb, 1)} MB, heap used ${fmt(s.heapUsedAfterColdMb, 1)} MB; after the warm restart max ${fmt(s.warm.rss.max, 1)} MB; ${s.load}`,
    });
    const d = s.disk;
    const ratio = d.totalMb / d.liveMb;
    rows.push({
      figure: 'database',
      size,
      measured: `${fmt(d.totalMb, 1)} MB: control-plane.db ${fmt(d.controlPlane.fileMb, 1)} + WAL ${fmt(d.controlPlane.walMb, 1)}, gateway.db ${fmt(d.gateway.fileMb, 1)} + WAL ${fmt(d.gateway.walMb, 1)}`,
      baseline: `live ${fmt(d.liveMb, 1)} MB (resources ${fmt(d.controlPlane.byName.resources ?? 0, 1)}, gateway_entries ${fmt(d.gateway.byName.gateway_entries ?? 0, 1)})`,
      ratio,
      goal: '≤ 2× live',
      met: ratio <= 2,
      note: `after the cold sync to Ready; live = pages of the rows that make the current state (resources, gateway_entries, their tag/reader/count tables, indexes included); the rest: changelog ${fmt(d.controlPlane.byName.changelog ?? 0, 1)} MB, revisions ${fmt(d.controlPlane.byName.revisions ?? 0, 1)} MB, events ${fmt(d.controlPlane.byName.events ?? 0, 1)} MB; ${s.load}`,
    });
  }
  return rows;
}
