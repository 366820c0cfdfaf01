// gateway-isolation: does control-plane work delay the gateway? Small tools/call requests through
// /mcp/<name> (a real SDK client, one call at a time, against a real SDK upstream in a process of its own)
// are timed in three phases of one control plane: idle (one server stored); during a cold sync of N
// servers (N/10 files moved into a watched directory at once: parse, validate, intake, reconcile,
// discovery of each); and loaded (N servers stored, a list of every server page after page on 4
// connections from another process, and a resync of all N every 5 s). The figure is p99(loaded phases) /
// p99(idle) per --data-plane mode, thread and inline, in runs that alternate between the modes in one
// bench run (median of the runs, range beside it). Goal in thread mode: ≤ 1.5×. The list loop runs at
// nice 19: it stands in for clients on other machines. Both modes run with the serve defaults otherwise
// (thread: the control plane's thread at --control-plane-nice 10).
//   BENCH_ISOLATION_SERVERS=N (default 10,000), BENCH_ISOLATION_RUNS=R per mode (default 3),
//   BENCH_ISOLATION_MODES=thread,inline (default: thread, "thread, nice 0", inline)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, SMOKE, log, onCleanup, tempDir, waitFor } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { callJson, deadLoopbackPort, expectOk } from './lib/http.js';
import { manifest, writeManifestDirectory } from './lib/manifests.js';
import { serveHasFlag, startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt, percentile } from './lib/stats.js';

/** p50, p99 and max without spreading (a cold sync of 50,000 times hundreds of thousands of calls). */
function summarize(values) {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max };
}

/** The median (of an even count, the mean of the middle two: with two runs, not the better one). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const describe = 'gateway p99 while a cold sync, a large list loop and a resync run, vs idle; --data-plane thread and inline';

const SERVERS = Number(process.env.BENCH_ISOLATION_SERVERS ?? (SMOKE ? 50 : 10_000));
const RUNS = Number(process.env.BENCH_ISOLATION_RUNS ?? (SMOKE ? 1 : 3));
const S = SMOKE ? { idleCalls: 50, loadedMs: 2_000, resync: '1s' } : { idleCalls: 1500, loadedMs: 15_000, resync: '5s' };
const PATH = '/api/svc/v1/mcp-servers';
const GOAL = 1.5;
export const timeoutMs = 3 * 3_600_000;

const loadAverage = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function connect(url, token) {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** Calls that failed in transport (counted, not timed); more than a few fail the figure. */
let transportErrors = 0;

/** Times calls one at a time until `done()` answers true (checked between calls). */
async function timedCalls(client, done) {
  const times = [];
  for (let i = 0; !done(i); i++) {
    const t = performance.now();
    let result;
    try {
      result = await client.callTool({ name: 'echo', arguments: { text: `hello ${i}` } });
    } catch (err) {
      if (++transportErrors > 10) throw err;
      log(`a call failed in transport (${err instanceof Error ? err.message : String(err)}); counted, not timed`);
      continue;
    }
    times.push(performance.now() - t);
    if (result.isError) throw new Error(`the gateway answered an error: ${JSON.stringify(result.content)}`);
  }
  return times;
}

/** `mv staging/* watched/` in a process of its own: the measuring process does no file work meanwhile. */
function moveAll(from, to) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'mv "$0"/* "$1"/', from, to], { stdio: 'ignore' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mv exited ${code}`))));
  });
}

/** The modes compared: the serve default (thread, the control plane's thread at nice 10), thread without the nice, inline. */
function modesOf() {
  if (!serveHasFlag('data-plane')) return [{ mode: 'inline', args: [] }];
  const nice = serveHasFlag('control-plane-nice');
  return [
    { mode: 'thread', args: ['--data-plane', 'thread'] },
    ...(nice ? [{ mode: 'thread, nice 0', args: ['--data-plane', 'thread', '--control-plane-nice', '0'] }] : []),
    { mode: 'inline', args: ['--data-plane', 'inline'] },
  ];
}

async function oneRun({ mode, args: modeArgs }, upstreamUrl, deadUrl) {
  const watched = tempDir('isolation-watched');
  const staging = tempDir('isolation-staging');
  writeManifestDirectory(staging, { servers: SERVERS, perFile: 10, url: deadUrl });
  const dataDir = tempDir('isolation-data');
  const cp = await startServer({ dataDir, manifestDirs: [watched], args: [...modeArgs, '--resync-interval', S.resync] });
  const gateway = new GatewayReader(dataDir);
  let lister;
  try {
    const m = manifest(SERVERS, { url: upstreamUrl });
    delete m.auth_data;
    await expectOk(callJson(cp.url, cp.token, 'PUT', PATH, { manifest: m }), 'PUT the proxied server');
    const name = m.name;
    await waitFor(
      async () => {
        const r = await callJson(cp.url, cp.token, 'GET', `${PATH}/name/${name}`);
        return r.json?.data?.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
      },
      { timeoutMs: 60_000, what: `${name} to be Ready` },
    );
    const client = await connect(`${cp.url}/mcp/${name}`, cp.token);
    await timedCalls(client, (i) => i >= 100); // warm-up
    const idle = await timedCalls(client, (i) => i >= S.idleCalls);
    const idleLoad = loadAverage();

    // Cold sync: every file appears at once; timed until the gateway store holds every entry.
    await moveAll(staging, watched);
    let synced = false;
    const poll = setInterval(() => {
      synced = gateway.count(1) >= SERVERS + 1;
    }, 200);
    const coldStarted = performance.now();
    const cold = await timedCalls(client, () => synced);
    clearInterval(poll);
    const coldSeconds = (performance.now() - coldStarted) / 1000;

    // Loaded: the list loop in another process, and a resync every S.resync.
    lister = await spawnNode(join(ROOT, 'bench', 'lib', 'list-loop.js'), [cp.url, cp.token, String(SERVERS + 1), '4']);
    await lister.url();
    // The list loop stands in for clients on other machines: its own CPU (reading the pages) is not the server's.
    setPriority(lister.pid, 19);
    const loadedUntil = performance.now() + S.loadedMs;
    const loaded = await timedCalls(client, () => performance.now() >= loadedUntil);
    const loadedLoad = loadAverage();
    await lister.stop();
    const pages = Number(/lists (\d+)/.exec(lister.lines.join('\n'))?.[1] ?? NaN);
    lister = undefined;
    await client.close();
    const r = { mode, idle: summarize(idle), cold: summarize(cold), loaded: summarize(loaded), coldSeconds, pages, idleLoad, loadedLoad };
    log(
      `${mode}: idle p50 ${fmt(r.idle.p50)} p99 ${fmt(r.idle.p99)} ms (load ${idleLoad}); cold sync of ${SERVERS} (${fmt(coldSeconds)} s, ${cold.length} calls) p50 ${fmt(r.cold.p50)} p99 ${fmt(r.cold.p99)} max ${fmt(r.cold.max)} ms; ` +
        `loaded (${pages} list pages, resync every ${S.resync}) p50 ${fmt(r.loaded.p50)} p99 ${fmt(r.loaded.p99)} max ${fmt(r.loaded.max)} ms (load ${loadedLoad})`,
    );
    return r;
  } finally {
    await lister?.stop();
    gateway.close();
    await cp.stop();
  }
}

export async function run() {
  const upstream = await spawnNode(join(ROOT, 'bench', 'lib', 'upstream-mcp.js'));
  const upstreamUrl = await upstream.url();
  const deadUrl = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const only = process.env.BENCH_ISOLATION_MODES?.split(',').map((m) => m.trim());
  const modes = modesOf().filter((m) => !only || only.includes(m.mode));
  const runs = [];
  try {
    // thread, inline, thread, inline, …: both modes see the same machine.
    for (let i = 0; i < RUNS; i++) for (const mode of modes) runs.push(await oneRun(mode, upstreamUrl, deadUrl));
  } finally {
    await upstream.stop();
  }
  return modes.map(({ mode }) => {
    const mine = runs.filter((r) => r.mode === mode);
    const ratios = mine.map((r) => Math.max(r.cold.p99, r.loaded.p99) / r.idle.p99);
    const ratio = median(ratios);
    const med = (f) => median(mine.map(f));
    return {
      figure: `gateway-isolation (${mode}) @${SERVERS.toLocaleString('en-US')}`,
      measured: `p99 cold sync ${fmt(med((r) => r.cold.p99))} ms, loaded ${fmt(med((r) => r.loaded.p99))} ms (p50 ${fmt(med((r) => r.cold.p50))} / ${fmt(med((r) => r.loaded.p50))} ms)`,
      baseline: `idle p99 ${fmt(med((r) => r.idle.p99))} ms (p50 ${fmt(med((r) => r.idle.p50))} ms)`,
      ratio,
      goal: mode === 'thread' ? `p99 ≤ ${GOAL}× idle` : mode === 'inline' ? 'context (one event loop for everything)' : 'context (thread without the nice)',
      met: mode === 'thread' ? ratio <= GOAL : undefined,
      note: `${transportErrors} call(s) failed in transport over the whole figure; median of ${mine.length} run(s), ratios ${ratios.map((x) => fmt(x)).join(', ')}; cold sync ${fmt(med((r) => r.coldSeconds))} s; loaded: list loop (4 connections, ${fmt(med((r) => r.pages))} pages of 1000) + resync every ${S.resync}; loadavg ${mine.map((r) => r.loadedLoad.split(' ')[0]).join('/')}`,
    };
  });
}
