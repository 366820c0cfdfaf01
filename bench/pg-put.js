// pg-put: PUT throughput of changed manifests (every request a new revision: an UPDATE with its
// changelog entry, event and reconcile) on PostgreSQL, with one replica and with three (the connections
// spread evenly over them), each against one SQLite process measured in the same run. The three targets
// stay up together and alternate for a few rounds; each figure is the median round.
import { SMOKE, log, tempDir } from './lib/common.js';
import { assertClean, deadLoopbackPort, load } from './lib/http.js';
import { putBody } from './lib/manifests.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { replicaSet } from './lib/replicas.js';
import { startServer } from './lib/server.js';
import { fmt, median } from './lib/stats.js';
import { createServers } from './lib/put-family.js';

export const describe = 'PUT of changed manifests on PostgreSQL, 1 and 3 replicas, vs one SQLite process';
export const timeoutMs = 900_000;

const PATH = '/api/svc/v1/mcp-servers';
const S = SMOKE ? { servers: 30, connections: 6, amount: 60, rounds: 1 } : { servers: 300, connections: 30, duration: 5, rounds: 3 };
const GOAL = 'reported (ratio to one SQLite process)';

/** New revisions of servers 0..n-1, round-robin, never repeating one (the sequence goes on across rounds). */
function revisions(upstream) {
  let k = 0;
  return () => {
    const i = k % S.servers;
    const rev = Math.floor(k / S.servers) + 1;
    k++;
    return putBody(i, { url: upstream, rev });
  };
}

/** One round against a target (its servers share the connections and one revision sequence). */
async function round(target) {
  const per = Math.max(1, Math.floor(S.connections / target.servers.length));
  const runs = await Promise.all(
    target.servers.map((cp) =>
      load({
        url: `${cp.url}${PATH}`,
        method: 'PUT',
        token: cp.token,
        makeBody: target.next,
        connections: per,
        ...(S.amount ? { amount: Math.ceil(S.amount / target.servers.length) } : { duration: S.duration }),
      }),
    ),
  );
  for (const r of runs) assertClean(r, `PUT against ${target.name}`);
  const rps = runs.reduce((a, r) => a + r.rps, 0);
  const total = runs.reduce((a, r) => a + r.total, 0);
  return { rps, p50: median(runs.map((r) => r.p50)), p99: Math.max(...runs.map((r) => r.p99)), total };
}

export async function run() {
  const postgres = await benchPostgres();
  if (!postgres) return skippedRows(['pg-put (1 replica)', 'pg-put (3 replicas)'], GOAL);
  const upstream = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const targets = [];
  const all = [];
  try {
    const sqlite = await startServer({ dataDir: tempDir('pg-put-sqlite') });
    all.push(sqlite);
    targets.push({ name: 'SQLite', servers: [sqlite] });
    const one = await replicaSet(postgres);
    const single = await one.start();
    all.push(single);
    targets.push({ name: 'PostgreSQL, 1 replica', servers: [single] });
    const three = await replicaSet(postgres);
    const trio = [];
    for (let i = 0; i < 3; i++) trio.push(await three.start());
    all.push(...trio);
    targets.push({ name: 'PostgreSQL, 3 replicas', servers: trio });
    const quiet = async () => {
      for (const cp of all) await cp.waitQuiet({ timeoutMs: 120_000 });
    };
    for (const t of targets) {
      log(`${t.name}: creating ${S.servers} servers`);
      await createServers(t.servers[0], S.servers, upstream);
      t.next = revisions(upstream);
      t.rounds = [];
    }
    await quiet();
    for (let r = 0; r < S.rounds; r++) {
      for (const t of targets) {
        t.rounds.push(await round(t));
        await quiet();
      }
      log(`round ${r + 1}: ${targets.map((t) => `${t.name} ${fmt(t.rounds.at(-1).rps)} req/s`).join(', ')}`);
    }
  } finally {
    for (const cp of all) await cp.stop();
  }
  const pick = (t) => {
    const rps = median(t.rounds.map((x) => x.rps));
    const chosen = t.rounds.find((x) => x.rps === rps) ?? t.rounds[0];
    return { ...chosen, rps, total: t.rounds.reduce((a, x) => a + x.total, 0) };
  };
  const [base, pg1, pg3] = targets.map(pick);
  const text = (m) => `${fmt(m.rps)} req/s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms`;
  const row = (figure, m, replicas) => ({
    figure,
    measured: text(m),
    baseline: `SQLite ${text(base)}`,
    ratio: m.rps / base.rps,
    goal: GOAL,
    met: undefined,
    note: `${S.connections} connections${replicas > 1 ? ` spread over ${replicas} replicas` : ''}; ${fmt(m.total, 0)} PUTs over ${S.servers} servers`,
  });
  return [row('pg-put (1 replica)', pg1, 1), row('pg-put (3 replicas)', pg3, 3)];
}
