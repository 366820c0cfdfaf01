// pg-rate-limit: what the write rate limit shared by the replicas costs on the PUT path. PUT throughput of
// changed manifests on one PostgreSQL replica whose --write-rate-limit is so high it never refuses (every
// PUT takes from its token's row of write_rate_limits: one more statement, outside the write's unit)
// against the same replica setup with --write-rate-limit off. A per-process bucket is a Map lookup in memory,
// so `off` stands for it. The two targets stay up together and alternate for a few rounds; each figure is
// the median round.
import { SMOKE, log } from './lib/common.js';
import { assertClean, deadLoopbackPort, load } from './lib/http.js';
import { putBody } from './lib/manifests.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { replicaSet } from './lib/replicas.js';
import { fmt, median } from './lib/stats.js';
import { createServers } from './lib/put-family.js';

export const describe = 'PUT on one PostgreSQL replica with the shared (PostgreSQL) write rate limit vs none';
export const timeoutMs = 900_000;

const PATH = '/api/svc/v1/mcp-servers';
const S = SMOKE ? { servers: 30, connections: 6, amount: 60, rounds: 1 } : { servers: 300, connections: 30, duration: 5, rounds: 5 };
const FIGURE = 'pg-rate-limit (shared bucket)';
const GOAL = 'reported (ratio to the same replica without the limit)';

export async function run() {
  const postgres = await benchPostgres();
  if (!postgres) return skippedRows([FIGURE], GOAL);
  const upstream = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const targets = [];
  try {
    for (const [name, limit] of [['no limit', 'off'], ['shared limit', '1000000/s']]) {
      const set = await replicaSet(postgres, { args: ['--write-rate-limit', limit] });
      targets.push({ name, cp: await set.start(), rounds: [] });
    }
    for (const t of targets) {
      log(`${t.name}: creating ${S.servers} servers`);
      await createServers(t.cp, S.servers, upstream);
      let k = 0;
      t.next = () => {
        const body = putBody(k % S.servers, { url: upstream, rev: Math.floor(k / S.servers) + 1 });
        k++;
        return body;
      };
    }
    const quiet = async () => {
      for (const t of targets) await t.cp.waitQuiet({ timeoutMs: 120_000 });
    };
    await quiet();
    for (let r = 0; r < S.rounds; r++) {
      for (const t of targets) {
        const res = await load({
          url: `${t.cp.url}${PATH}`,
          method: 'PUT',
          token: t.cp.token,
          makeBody: t.next,
          connections: S.connections,
          ...(S.amount ? { amount: S.amount } : { duration: S.duration }),
        });
        assertClean(res, `PUT against ${t.name}`);
        t.rounds.push(res);
        await quiet();
      }
      log(`round ${r + 1}: ${targets.map((t) => `${t.name} ${fmt(t.rounds.at(-1).rps)} req/s`).join(', ')}`);
    }
  } finally {
    for (const t of targets) await t.cp.stop();
  }
  const pick = (t) => {
    const rps = median(t.rounds.map((x) => x.rps));
    const chosen = t.rounds.find((x) => x.rps === rps) ?? t.rounds[0];
    return { ...chosen, rps, total: t.rounds.reduce((a, x) => a + x.total, 0) };
  };
  const [off, shared] = targets.map(pick);
  const text = (m) => `${fmt(m.rps)} req/s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms`;
  return [{
    figure: FIGURE,
    measured: text(shared),
    baseline: `no limit ${text(off)}`,
    ratio: shared.rps / off.rps,
    goal: GOAL,
    met: undefined,
    note: `${S.connections} connections, one replica each on its own schema; ${fmt(shared.total, 0)} PUTs with the limit, ${fmt(off.total, 0)} without; rounds alternate`,
  }];
}
