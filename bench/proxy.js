// proxy: tools/call through the gateway data plane (/mcp/<name>) against the same call straight to
// the upstream (a real SDK server in a process of its own), both with the SDK's Client over
// Streamable HTTP. Latency: calls alternate between the two, one at a time; throughput: 16 clients
// (sessions) on each side calling in a loop, in one-second rounds that alternate between the two, so
// both sides see the same load from whatever else runs on the machine. Skipped when /mcp/<name> is
// not served. CPU per call over the throughput rounds (/proc; load-independent where the ratio is not): the
// gateway's process and its busiest thread (the data plane's, as serve runs it), and the upstream's on
// each side (the same work either way: a control for the load).
// The throughput rounds measure both sides warm: first each side runs WARM_SECONDS of the same load unmeasured
// (V8 compiles the gateway's path over its first ≈10,000 calls; the upstream and client warm on both sides),
// reported as a context row ("while warming up"), which is what rows before 2026-12-05 12:00 measured.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, SMOKE, log, tempDir, waitFor } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { callJson, expectOk } from './lib/http.js';
import { cpuMs } from './lib/proc.js';
import { manifest, serverName } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { fmt, summarize } from './lib/stats.js';

export const describe = 'tools/call through /mcp/<name> vs straight to the upstream';

const S = SMOKE
  ? { calls: 20, warmup: 5, clients: 2, rounds: 1, roundSeconds: 0.5, warmRounds: 1 }
  : { calls: 1000, warmup: 100, clients: 16, rounds: 5, roundSeconds: 1, warmRounds: 4 };
const PATH = '/api/svc/v1/mcp-servers';
const PASSTHROUGH = process.env.BENCH_PROXY_AUTH === 'passthrough';

function skipped(reason) {
  return [{ figure: 'proxy', measured: `skipped: ${reason}`, goal: 'p50 overhead ≤ 1 ms, ≥ 0.7× throughput', met: undefined, note: 'data plane not available' }];
}

async function connect(url, token) {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  await client.connect(transport);
  return client;
}

const call = (client, i) => client.callTool({ name: 'echo', arguments: { text: `hello ${i}` } });

/** CPU ms of each thread of a process (by thread id), from /proc/<pid>/task/<tid>/stat. */
function threadCpuMs(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * Calls per second of each side; the sides take turns, a round each at a time. `watch`: pids whose CPU is
 * read around each round (a side's entry: ms used during its rounds; per thread for `threadsOf`).
 */
async function throughput(sides, watch = [], threadsOf, rounds = S.rounds) {
  const open = await Promise.all(sides.map(({ url, token }) => Promise.all(Array.from({ length: S.clients }, () => connect(url, token)))));
  const done = sides.map(() => 0);
  const seconds = sides.map(() => 0);
  const cpu = sides.map(() => watch.map(() => 0));
  const threads = sides.map(() => new Map());
  for (let round = 0; round < rounds; round++) {
    for (let side = 0; side < sides.length; side++) {
      const cpu0 = watch.map((pid) => cpuMs(pid));
      const threads0 = threadsOf ? threadCpuMs(threadsOf) : undefined;
      const started = performance.now();
      const until = started + S.roundSeconds * 1000;
      await Promise.all(
        open[side].map(async (c) => {
          while (performance.now() < until) {
            await call(c, done[side]);
            done[side]++;
          }
        }),
      );
      seconds[side] += (performance.now() - started) / 1000;
      watch.forEach((pid, i) => (cpu[side][i] += cpuMs(pid) - cpu0[i]));
      if (threads0) for (const [tid, ms] of threadCpuMs(threadsOf)) threads[side].set(tid, (threads[side].get(tid) ?? 0) + ms - (threads0.get(tid) ?? ms));
    }
  }
  await Promise.all(open.flat().map((c) => c.close()));
  return { rates: done.map((n, side) => n / seconds[side]), calls: done, cpu, threads };
}

export async function run() {
  const upstream = await spawnNode(join(ROOT, 'bench', 'lib', 'upstream-mcp.js'));
  const upstreamUrl = await upstream.url();
  const cp = await startServer({ dataDir: tempDir('proxy') });
  try {
    const m = manifest(0, { url: upstreamUrl });
    delete m.auth_data; // the upstream asks for no credentials
    // BENCH_PROXY_AUTH=passthrough: each session's upstream requests carry a token minted for the caller.
    if (PASSTHROUGH) m.auth_data = { type: 'passthrough' };
    await expectOk(callJson(cp.url, cp.token, 'PUT', PATH, { manifest: m }), 'PUT the proxied server');
    const name = serverName(0);
    const ready = await waitFor(
      async () => {
        const r = await callJson(cp.url, cp.token, 'GET', `${PATH}/name/${name}`);
        const c = r.json?.data?.status?.conditions?.find((x) => x.type === 'Ready');
        return c && c.status !== 'Unknown' ? c : undefined;
      },
      { timeoutMs: 30_000, what: `${name} to be discovered` },
    );
    if (ready.status !== 'True') throw new Error(`${name} is not Ready: ${ready.reason}: ${ready.message}`);
    const gatewayUrl = `${cp.url}/mcp/${name}`;
    const probe = await callJson(cp.url, cp.token, 'POST', `/mcp/${name}`, { jsonrpc: '2.0', id: 1, method: 'ping' }, { accept: 'application/json, text/event-stream' });
    if (probe.status === 404) return skipped(`POST /mcp/${name} answered 404`);

    const direct = await connect(upstreamUrl);
    const via = await connect(gatewayUrl, cp.token);
    for (let i = 0; i < S.warmup; i++) {
      await call(direct, i);
      await call(via, i);
    }
    const d = [];
    const g = [];
    for (let i = 0; i < S.calls; i++) {
      let t = performance.now();
      await call(direct, i);
      d.push(performance.now() - t);
      t = performance.now();
      const result = await call(via, i);
      g.push(performance.now() - t);
      if (i === 0 && result.isError) throw new Error(`the gateway answered an error: ${JSON.stringify(result.content)}`);
    }
    await direct.close();
    await via.close();
    const ds = summarize(d);
    const gs = summarize(g);
    log(`latency p50: direct ${fmt(ds.p50)} ms, gateway ${fmt(gs.p50)} ms`);
    const sides = [{ url: upstreamUrl }, { url: gatewayUrl, token: cp.token }];
    const warm = await throughput(sides, [], undefined, S.warmRounds);
    log(`while warming up: direct ${fmt(warm.rates[0])} calls/s, gateway ${fmt(warm.rates[1])} calls/s`);
    const t = await throughput(sides, [upstream.pid, cp.pid], cp.pid);
    const [directRate, gatewayRate] = t.rates;
    log(`throughput: direct ${fmt(directRate)} calls/s, gateway ${fmt(gatewayRate)} calls/s`);
    // µs per call: the gateway's process and busiest thread during its rounds; the upstream's on each side.
    const perCall = (ms, side) => (ms * 1000) / t.calls[side];
    const gatewayCpu = perCall(t.cpu[1][1], 1);
    const busiest = Math.max(0, ...t.threads[1].values());
    const cpuNote = `gateway CPU ${fmt(gatewayCpu)} µs per call (busiest thread ${fmt(perCall(busiest, 1))}), upstream ${fmt(perCall(t.cpu[1][0], 1))} µs via the gateway, ${fmt(perCall(t.cpu[0][0], 0))} µs direct`;
    log(cpuNote);
    const overhead = gs.p50 - ds.p50;
    const ratio = gatewayRate / directRate;
    return [
      {
        figure: 'proxy',
        measured: `p50 ${fmt(gs.p50)} ms, p99 ${fmt(gs.p99)} ms; ${fmt(gatewayRate)} calls/s`,
        baseline: `direct p50 ${fmt(ds.p50)} ms, p99 ${fmt(ds.p99)} ms; ${fmt(directRate)} calls/s`,
        ratio,
        goal: 'p50 overhead ≤ 1 ms, ≥ 0.7× throughput',
        met: overhead <= 1 && ratio >= 0.7,
        note: `${PASSTHROUGH ? 'passthrough (minted caller tokens); ' : ''}p50 overhead ${fmt(overhead)} ms; ${S.calls} sequential calls each; ${S.clients} sessions each, ${S.rounds} alternating rounds of ${S.roundSeconds} s after ${S.warmRounds} unmeasured; ${cpuNote}`,
      },
      {
        figure: 'proxy: while warming up',
        measured: `${fmt(warm.rates[1])} calls/s`,
        baseline: `direct ${fmt(warm.rates[0])} calls/s`,
        ratio: warm.rates[1] / warm.rates[0],
        goal: 'context (the first ≈10,000 calls, as V8 compiles the path)',
        met: undefined,
        note: `${S.warmRounds} alternating rounds of ${S.roundSeconds} s before the measured ones, ${S.clients} sessions each`,
      },
    ];
  } finally {
    await cp.stop();
    await upstream.stop();
  }
}
