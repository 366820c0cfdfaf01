// put-create: PUT of new servers (each request a create: row, generation, changelog, event, revision,
// enqueue; the reconciler then writes the gateway entry and status in the same process), at the default
// durability (synchronous=FULL: each acknowledged create is on disk). Baseline: the durable floor, express +
// better-sqlite3 with the same pragmas and durability and one INSERT per request; the bare express echo (no
// write, no fsync) is measured beside it as context. Sustained: creates per second from the first request
// until the queued reconciles are done too (the process is quiet again). Each target is warmed up first.
// Beside them, two figures that a loaded machine moves less: the process's CPU per create during the load
// (the answers' share) and the reconciles that ran during it (mcp_cp_reconcile_total).
import { join } from 'node:path';
import { SMOKE, log, tempDir, ROOT } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { assertClean, callJson, deadLoopbackPort, load } from './lib/http.js';
import { putBody } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

export const describe = 'PUT creates, 32 connections (BENCH_CONNECTIONS), durability full, vs the durable floor (express + better-sqlite3, one INSERT per request)';

const PATH = '/api/svc/v1/mcp-servers';
/** BENCH_CONNECTIONS: the number of closed-loop connections (32 unless set). */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const S = SMOKE ? { connections: 4, amount: 200, warmUp: 20 } : { connections: CONNECTIONS, duration: 5, warmUp: 500 };
/** How long the process must stay (almost) idle to count as done with its queued work. */
const QUIET_WINDOW_MS = 500;

/** Reconciles done so far (every result), from /metrics. */
async function reconcilesDone(cp) {
  const { text } = await callJson(cp.url, cp.token, 'GET', '/metrics');
  let n = 0;
  for (const m of text.matchAll(/^mcp_cp_reconcile_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

export async function run() {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('put-create');
  const floor = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['floor', join(dir, 'floor.db'), 'full']);
  const echo = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['echo']);
  const cp = await startServer({ dataDir: join(dir, 'cp') });
  log(`control plane pid ${cp.pid} at ${cp.url}`);
  // Every target gets names of its own, never repeated: each request is a create.
  let next = 0;
  const run = async (target, token, amount = S.amount) => {
    const r = await load({ url: `${target}${PATH}`, method: 'PUT', token, makeBody: () => putBody(next++, { url }), connections: S.connections, ...(amount ? { amount } : { duration: S.duration }) });
    assertClean(r, `PUT creates against ${target}`);
    return r;
  };
  // Each target warms up first (modules loaded on first use, JIT), so the figures are of the steady state;
  // the control plane then finishes the reconciles of its warm-up before the measured load.
  const warmUp = async (target, token) => void (await run(target, token, S.warmUp));
  await warmUp(await floor.url());
  const floorRun = await run(await floor.url());
  await warmUp(await echo.url());
  const echoRun = await run(await echo.url());
  await warmUp(cp.url, cp.token);
  await cp.waitQuiet({ windowMs: QUIET_WINDOW_MS, timeoutMs: 300_000 });
  const cpuBefore = cp.cpuMs();
  const reconcilesBefore = await reconcilesDone(cp);
  const started = performance.now();
  const mine = await run(cp.url, cp.token);
  const loadMs = performance.now() - started;
  const cpuDuringLoad = cp.cpuMs() - cpuBefore;
  const reconcilesDuringLoad = (await reconcilesDone(cp)) - reconcilesBefore;
  const quietMs = await cp.waitQuiet({ windowMs: QUIET_WINDOW_MS, timeoutMs: 300_000 });
  // The last window was idle: the queued work ended before it.
  const drainMs = Math.max(0, quietMs - QUIET_WINDOW_MS);
  const cpuPerCreate = (cp.cpuMs() - cpuBefore) / mine.total;
  const sustained = mine.total / ((loadMs + drainMs) / 1000);
  await floor.stop();
  await echo.stop();
  await cp.stop();
  const ratio = mine.rps / floorRun.rps;
  log(`floor ${fmt(floorRun.rps)} req/s, echo ${fmt(echoRun.rps)} req/s, control plane ${fmt(mine.rps)} req/s (p99 ${fmt(mine.p99)} ms), sustained ${fmt(sustained)}/s`);
  return [
    {
      figure: 'put-create',
      measured: `${fmt(mine.rps)} req/s, p50 ${fmt(mine.p50)} ms, p99 ${fmt(mine.p99)} ms; sustained ${fmt(sustained)} creates/s with the queued reconciles`,
      baseline: `floor ${fmt(floorRun.rps)} req/s, p50 ${fmt(floorRun.p50)} ms, p99 ${fmt(floorRun.p99)} ms (bare echo ${fmt(echoRun.rps)} req/s, p99 ${fmt(echoRun.p99)} ms)`,
      ratio,
      goal: '≥ 0.5× the durable floor, p99 ≤ 20 ms',
      met: ratio >= 0.5 && mine.p99 <= 20,
      note: `${S.connections} connections; ${fmt(mine.total)} creates; durability full on both; ${fmt(cpuPerCreate * 1000)} µs CPU per create with its reconcile; reconciles drained ${fmt(drainMs)} ms after the load; during the load ${fmt((cpuDuringLoad * 1000) / mine.total)} µs CPU per create and ${fmt(reconcilesDuringLoad)} reconciles`,
    },
  ];
}
