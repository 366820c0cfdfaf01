// put-create: PUT of new servers (each request a create: row, generation, changelog, event, revision,
// enqueue; the reconciler then writes the gateway entry and status, and discovery lists the server's tools,
// in the same process), with the control plane at its defaults (durability full: each acknowledged create is
// on disk; resync, rediscovery and retries as users run them) and every server a live upstream of the
// loopback fleet (bench/lib/upstream-fleet.js). Baseline: the durable floor, express + better-sqlite3 with
// the same pragmas and durability and one INSERT per request; the bare express echo (no write, no fsync) is
// measured beside it as context. Sustained: creates per second from the first request until every created
// server is Ready with its tools (the queued reconciles and discoveries done too). Each target is warmed up
// first.
// Beside them, figures that a loaded machine moves less: the process's CPU per create during the load
// (the answers' share), the control plane's main thread alone (its event loop: the answers' queue, by
// Little's law), the reconciles that ran during it (mcp_cp_reconcile_total), and the floor's CPU per request.
// BENCH_LOOP_PROBE=FILE: the control plane runs with bench/lib/loop-probe.js, which measures, during the
// load only, how long its event loop was blocked, its COMMITs and checkpoints and its GC; written to FILE
// and summed up in the note.
// BENCH_SERVE_NODE_ARGS: node flags for the control plane (a young generation of another size).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SMOKE, log, tempDir, ROOT, waitFor } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { assertClean, callJson, load } from './lib/http.js';
import { putBody } from './lib/manifests.js';
import { cpuMs, loadAverage } from './lib/proc.js';
import { scrape } from './lib/sharded-fleet.js';
import { startServer } from './lib/server.js';
import { startUpstreamFleet } from './lib/upstream-fleet.js';
import { fmt } from './lib/stats.js';

export const describe = 'PUT creates (defaults, live upstreams), 32 connections (BENCH_CONNECTIONS), durability full, vs the durable floor (express + better-sqlite3, one INSERT per request)';

const PATH = '/api/svc/v1/mcp-servers';
/** BENCH_CONNECTIONS: the number of closed-loop connections (32 unless set). */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const S = SMOKE ? { connections: 4, amount: 200, warmUp: 20 } : { connections: CONNECTIONS, duration: 5, warmUp: 500 };
/**
 * BENCH_SERVE_NODE_ARGS="--max-semi-space-size=16": more node flags for the control plane, after npm start's (the
 * later flag wins); a comparison, so bench/run.js does not append the figure.
 */
const SERVE_NODE_ARGS = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Polling /metrics for the Ready count: the sustained figure is read this late at most. */
const READY_POLL_MS = 50;

/** CPU (ms) of a process's main thread (its event loop): the thread whose id is the process's. */
function mainThreadCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The main thread's slowest answers and what they waited behind (loop-probe.js's requestsTail). */
function tailNote(t) {
  if (!t || !t.n) return '';
  const kinds = Object.entries(t.gcByKind).map(([k, g]) => `${k} ${fmt(g.n)}× ${fmt(g.totalMs)} ms (max ${fmt(g.max)})`).join(', ');
  return (
    `; the main thread's own answers (request to finish): p50 ${fmt(t.p50)} ms, p99 ${fmt(t.p99)} ms, max ${fmt(t.max)} ms; the ${fmt(t.slowest)} at or above p99 spent on average ` +
    `${fmt(t.inStalls)} ms in loop stalls over 5 ms, ${fmt(t.inGc)} ms in GC (major ${fmt(t.inMajorGc)}), ${fmt(t.inCommit)} ms in COMMIT, ${fmt(t.fsyncInFlight)} ms with an fsync in flight; ` +
    `stalls over 5 ms ${fmt(t.stalls.n)}, ${fmt(t.stalls.totalMs)} ms (longest ${t.stalls.longest.map((x) => fmt(x)).join(', ')}); GC ${kinds}; fsync ${fmt(t.fsync.n)}× p50 ${fmt(t.fsync.p50)}, max ${fmt(t.fsync.max)} ms`
  );
}

/** Reconciles done so far (every result), from /metrics. */
async function reconcilesDone(cp) {
  const { text } = await callJson(cp.url, cp.token, 'GET', '/metrics');
  let n = 0;
  for (const m of text.matchAll(/^mcp_cp_reconcile_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

export async function run() {
  const loadAtStart = loadAverage();
  const fleet = await startUpstreamFleet({ processes: SMOKE ? 2 : 4 });
  const dir = tempDir('put-create');
  const floor = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['floor', join(dir, 'floor.db'), 'full']);
  const echo = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['echo']);
  const probeFile = process.env.BENCH_LOOP_PROBE;
  if (probeFile) rmSync(probeFile, { force: true });
  const nodeArgs = [...SERVE_NODE_ARGS, ...(probeFile ? ['--import', pathToFileURL(join(ROOT, 'bench', 'lib', 'loop-probe.js')).href] : [])];
  const cp = await startServer({ dataDir: join(dir, 'cp'), defaults: true, nodeArgs, env: probeFile ? { BENCH_LOOP_PROBE: probeFile } : {}, sampleRssMs: 100 });
  /** Opens (and then closes and writes) the probe's window. */
  const probeWindow = () => probeFile && process.kill(cp.pid, 'SIGUSR2');
  log(`control plane pid ${cp.pid} at ${cp.url}`);
  // Every target gets names of its own, never repeated: each request is a create.
  let next = 0;
  const run = async (target, token, amount = S.amount) => {
    const r = await load({
      url: `${target}${PATH}`,
      method: 'PUT',
      token,
      makeBody: () => {
        const i = next++;
        return putBody(i, { url: fleet.urlOf(i) });
      },
      connections: S.connections,
      ...(amount ? { amount } : { duration: S.duration }),
    });
    assertClean(r, `PUT creates against ${target}`);
    return r;
  };
  // Each target warms up first (modules loaded on first use, JIT), so the figures are of the steady state;
  // the control plane then finishes the reconciles of its warm-up before the measured load.
  const warmUp = async (target, token) => void (await run(target, token, S.warmUp));
  await warmUp(await floor.url());
  const floorCpuBefore = cpuMs(floor.pid);
  const floorRun = await run(await floor.url());
  const floorCpuPerRequest = (cpuMs(floor.pid) - floorCpuBefore) / floorRun.total;
  await warmUp(await echo.url());
  const echoRun = await run(await echo.url());
  const allReady = (n, what) =>
    waitFor(async () => (await scrape(cp)).ready >= n, { timeoutMs: 600_000, intervalMs: READY_POLL_MS, what });
  await warmUp(cp.url, cp.token);
  await allReady(S.warmUp, `the ${S.warmUp} warm-up servers Ready`);
  await cp.waitQuiet({ windowMs: 500, timeoutMs: 120_000 });
  const cpuBefore = cp.cpuMs();
  const mainBefore = mainThreadCpuMs(cp.pid);
  const fleetCpuBefore = fleet.cpuMs();
  const reconcilesBefore = await reconcilesDone(cp);
  try {
    return await measure();
  } catch (err) {
    // What the control plane said last (it may have exited): the bench's error alone does not tell.
    log(`control plane ${cp.exited ? 'exited' : 'still running'}; its last lines:\n${cp.output.slice(-20).join('\n')}`);
    throw err;
  }

  async function measure() {
    probeWindow();
    const started = performance.now();
    const monotonicUs = () => String(process.hrtime.bigint() / 1000n);
    const loadFromUs = monotonicUs();
    log(`load from ${fmt((started - cp.spawnedAt) / 1000)} s after the spawn`);
    const mine = await run(cp.url, cp.token);
    const loadMs = performance.now() - started;
    probeWindow();
    log(`load until ${fmt((performance.now() - cp.spawnedAt) / 1000)} s after the spawn`);
    // A profile (BENCH_CPU_PROF) starts later than the spawn: profile-turns.js takes these instants instead.
    log(`load window for bench/lib/profile-turns.js: ${loadFromUs} ${monotonicUs()} (monotonic µs)`);
    const cpuDuringLoad = cp.cpuMs() - cpuBefore;
    const mainDuringLoad = mainThreadCpuMs(cp.pid) - mainBefore;
    const reconcilesDuringLoad = (await reconcilesDone(cp)) - reconcilesBefore;
    await allReady(S.warmUp + mine.total, 'every created server Ready');
    const drainMs = performance.now() - started - loadMs;
    const cpuPerCreate = (cp.cpuMs() - cpuBefore) / mine.total;
    const fleetCpuPerCreate = (fleet.cpuMs() - fleetCpuBefore) / mine.total;
    const sustained = mine.total / ((loadMs + drainMs) / 1000);
    const rss = cp.rss();
    const probe = probeFile ? await waitFor(() => { try { return JSON.parse(readFileSync(probeFile, 'utf8')); } catch { return undefined; } }, { timeoutMs: 10_000, intervalMs: 20, what: 'the loop probe' }) : undefined;
    if (probe) log(`loop probe: ${JSON.stringify(probe)}`);
    await floor.stop();
    await echo.stop();
    await cp.stop();
    await fleet.stop();
    const ratio = mine.rps / floorRun.rps;
    log(`floor ${fmt(floorRun.rps)} req/s, echo ${fmt(echoRun.rps)} req/s, control plane ${fmt(mine.rps)} req/s (p99 ${fmt(mine.p99)} ms), sustained ${fmt(sustained)}/s`);
    const row = {
      figure: 'put-create',
      measured: `${fmt(mine.rps)} req/s, p50 ${fmt(mine.p50)} ms, p99 ${fmt(mine.p99)} ms; sustained ${fmt(sustained)} creates/s until all Ready with tools`,
      baseline: `floor ${fmt(floorRun.rps)} req/s, p50 ${fmt(floorRun.p50)} ms, p99 ${fmt(floorRun.p99)} ms (bare echo ${fmt(echoRun.rps)} req/s, p99 ${fmt(echoRun.p99)} ms)`,
      ratio,
      goal: '≥ 0.5× the durable floor, p99 ≤ 20 ms',
      met: ratio >= 0.5 && mine.p99 <= 20,
      note:
        `${S.connections} connections; ${fmt(mine.total)} creates; defaults, live upstreams; durability full on both; ${fmt(cpuPerCreate * 1000)} µs CPU per create with its reconcile and discovery ` +
        `(the fleet ${fmt(fleetCpuPerCreate * 1000)} µs); every server Ready ${fmt(drainMs)} ms after the load; during the load ${fmt((cpuDuringLoad * 1000) / mine.total)} µs CPU per create (main thread ${fmt((mainDuringLoad * 1000) / mine.total)} µs; the floor ${fmt(floorCpuPerRequest * 1000)} µs per request) and ${fmt(reconcilesDuringLoad)} reconciles; RSS max ${fmt(rss.max)} MB (sampled every 100 ms from the spawn until all Ready); load average ${loadAtStart} at the start, ${loadAverage()} at the end` +
        (probe
          ? `; event loop during the load: delay p99 ${fmt(probe.loopDelay.p99)} ms, max ${fmt(probe.loopDelay.max)} ms; COMMIT ${fmt(probe.commit.n)}× ${fmt(probe.commit.totalMs)} ms (p99 ${fmt(probe.commit.p99)}, max ${fmt(probe.commit.max)} ms), of which with a checkpoint ${fmt(probe.checkpointInCommit.n)}× ${fmt(probe.checkpointInCommit.totalMs)} ms (${Object.entries(probe.checkpointInCommitByFile ?? {}).map(([f, c]) => `${f} ${fmt(c.n)}×, max ${fmt(c.max)} ms`).join(', ') || 'none'}), on-loop checkpoints ${fmt(probe.checkpoint.n)}× ${fmt(probe.checkpoint.totalMs)} ms; GC ${fmt(probe.gc.totalMs)} ms (max ${fmt(probe.gc.max)} ms)` + tailNote(probe.requestsTail)
          : ''),
    };
    // The whole row in the log too: a figure that is not appended (BENCH_SERVE_NODE_ARGS) is read from there.
    log(`row: ${JSON.stringify(row)}`);
    return [row];
  }
}
