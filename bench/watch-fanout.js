// watch-fanout: 100 watchers on GET /api/svc/v1/mcp-servers?watch=true (SSE), 1,000 changes (PUTs
// of new revisions, paced); the delivery latency of each change to each watcher (see lib/fanout.js).
// Skipped when the server has no watch stream.
import { SMOKE, tempDir } from './lib/common.js';
import { measureFanout, watchUnavailable } from './lib/fanout.js';
import { deadLoopbackPort } from './lib/http.js';
import { startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

export const describe = '100 SSE watchers, 1,000 changes: delivery latency';

export const FANOUT_SIZES = SMOKE ? { watchers: 5, changes: 20, servers: 5, ratePerSecond: 50 } : { watchers: 100, changes: 1000, servers: 100, ratePerSecond: 100 };

function skipped(reason) {
  return [{ figure: 'watch-fanout', measured: `skipped: ${reason}`, goal: 'p99 ≤ 50 ms', met: undefined, note: 'the watch stream is not available in this build' }];
}

export async function run() {
  const S = FANOUT_SIZES;
  const upstream = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const cp = await startServer({ dataDir: tempDir('watch') });
  try {
    const unavailable = await watchUnavailable(cp);
    if (unavailable) return skipped(unavailable);
    const { latencies: l, deliveries, missing } = await measureFanout({ writer: cp, watchOn: [cp], sizes: S, upstream, quiet: () => cp.waitQuiet() });
    return [
      {
        figure: 'watch-fanout',
        measured: `p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms, max ${fmt(l.max)} ms`,
        baseline: '–',
        goal: 'p99 ≤ 50 ms',
        met: missing === 0 && l.p99 <= 50,
        note: `${S.watchers} watchers × ${S.changes} changes at ${S.ratePerSecond}/s; ${fmt(deliveries, 0)} deliveries${missing ? `, ${missing} MISSING` : ''}; from PUT sent to event read`,
      },
    ];
  } finally {
    await cp.stop();
  }
}
