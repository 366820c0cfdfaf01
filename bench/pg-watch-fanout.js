// pg-watch-fanout: three replicas on PostgreSQL; the changes are PUT to one replica and the watchers
// listen on the two others, so every delivery crosses the database (commit, NOTIFY, the follower's read of
// the changelog). Baseline: the same watchers and changes on one SQLite process, in the same run.
import { SMOKE, tempDir } from './lib/common.js';
import { measureFanout } from './lib/fanout.js';
import { deadLoopbackPort } from './lib/http.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { replicaSet } from './lib/replicas.js';
import { startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';
import { FANOUT_SIZES } from './watch-fanout.js';

export const describe = 'watch fan-out across three PostgreSQL replicas (write on one, watchers on the others) vs one SQLite process';
export const timeoutMs = 900_000;

const GOAL = 'reported (ratio of p99 to one SQLite process)';

export async function run() {
  const postgres = await benchPostgres();
  if (!postgres) return skippedRows(['pg-watch-fanout'], GOAL);
  const S = FANOUT_SIZES;
  const upstream = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;

  const sqlite = await startServer({ dataDir: tempDir('watch-sqlite') });
  const base = await measureFanout({ writer: sqlite, watchOn: [sqlite], sizes: S, upstream, quiet: () => sqlite.waitQuiet() });
  await sqlite.stop();

  const set = await replicaSet(postgres);
  const replicas = [];
  for (let i = 0; i < 3; i++) replicas.push(await set.start());
  const quiet = async () => {
    for (const r of replicas) await r.waitQuiet();
  };
  const mine = await measureFanout({ writer: replicas[0], watchOn: replicas.slice(1), sizes: S, upstream, quiet });
  for (const r of replicas) await r.stop();

  const text = (m) => `p50 ${fmt(m.latencies.p50)} ms, p99 ${fmt(m.latencies.p99)} ms, max ${fmt(m.latencies.max)} ms`;
  return [
    {
      figure: 'pg-watch-fanout (3 replicas)',
      measured: text(mine),
      baseline: `SQLite ${text(base)}`,
      ratio: mine.latencies.p99 / base.latencies.p99,
      goal: GOAL,
      met: mine.missing === 0 && base.missing === 0 ? undefined : false,
      note: `${S.watchers} watchers on 2 replicas × ${S.changes} changes PUT to the third at ${S.ratePerSecond}/s; ${fmt(mine.deliveries, 0)} deliveries${mine.missing ? `, ${mine.missing} MISSING` : ''}${base.missing ? `; SQLite ${base.missing} MISSING` : ''}`,
    },
  ];
}
