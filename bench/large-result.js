// large-result: a tools/call whose result is 5 MB of text, through the gateway data plane
// (/mcp/<name>) against the same call straight to the upstream (a real SDK server in a process of its
// own, answering JSON), both with the SDK's Client over Streamable HTTP. Calls alternate between the
// paths, one at a time; the figure is the median time of a call, the ratio gateway / direct. The control
// plane runs with --upstream-max-message-bytes 16MiB, so the answer is under the cap.
// Context rows, the floor under any relay here: the same client and upstream through a plain TCP relay
// (bench/lib/tcp-relay.js, a process of its own: no HTTP parsing, no checks), its 'data' chunks written on
// and with socket.pipe; and two that show where the rest goes: the first in a process with the data plane's
// modules loaded (its heap, which each collection of the answer's socket buffers walks), and that one
// reading into a reused buffer (net's onread: no buffer per read, nothing to collect). CPU per call of the
// control plane and of each relay (/proc/<pid>/stat over the measured calls; each is idle while the others'
// calls run) is in the notes.
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

export const describe = 'a 5 MB tools/call result through /mcp/<name> vs straight to the upstream';

const BYTES = 5_000_000;
const S = SMOKE ? { calls: 3, warmup: 1 } : { calls: 40, warmup: 5 };
const PATH = '/api/svc/v1/mcp-servers';

async function connect(url, token) {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  await client.connect(transport);
  return client;
}

async function call(client) {
  const result = await client.callTool({ name: 'large', arguments: { bytes: BYTES } });
  const text = result.content?.[0]?.text;
  if (result.isError || typeof text !== 'string' || text.length !== BYTES) throw new Error(`the large call answered ${JSON.stringify(result).slice(0, 200)}`);
}

export async function run() {
  const upstream = await spawnNode(join(ROOT, 'bench', 'lib', 'upstream-mcp.js'));
  const upstreamUrl = await upstream.url();
  const cp = await startServer({ dataDir: tempDir('large-result'), args: ['--upstream-max-message-bytes', '16MiB'] });
  try {
    const m = manifest(0, { url: upstreamUrl });
    delete m.auth_data;
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
    const relay = (...args) => spawnNode(join(ROOT, 'bench', 'lib', 'tcp-relay.js'), [upstreamUrl, ...args]);
    const relays = { copy: await relay('copy'), pipe: await relay('pipe'), heavy: await relay('copy', 'data-plane'), reused: await relay('onread', 'data-plane') };
    const paths = [
      { key: 'direct', client: await connect(upstreamUrl), times: [] },
      { key: 'copy', client: await connect(await relays.copy.url()), times: [], pid: relays.copy.pid },
      { key: 'pipe', client: await connect(await relays.pipe.url()), times: [], pid: relays.pipe.pid },
      { key: 'heavy', client: await connect(await relays.heavy.url()), times: [], pid: relays.heavy.pid },
      { key: 'reused', client: await connect(await relays.reused.url()), times: [], pid: relays.reused.pid },
      { key: 'gateway', client: await connect(`${cp.url}/mcp/${name}`, cp.token), times: [], pid: cp.pid },
    ];
    for (let i = 0; i < S.warmup; i++) for (const p of paths) await call(p.client);
    for (const p of paths) p.cpu0 = p.pid ? cpuMs(p.pid) : 0;
    for (let i = 0; i < S.calls; i++) {
      for (const p of paths) {
        const t = performance.now();
        await call(p.client);
        p.times.push(performance.now() - t);
      }
    }
    for (const p of paths) {
      p.cpuPerCall = p.pid ? (cpuMs(p.pid) - p.cpu0) / S.calls : undefined;
      p.stats = summarize(p.times);
      await p.client.close();
    }
    for (const r of Object.values(relays)) await r.stop();
    const [ds, copy, pipe, heavy, reused, gateway] = [paths[0].stats, paths[1], paths[2], paths[3], paths[4], paths[5]];
    log(`5 MB result p50: direct ${fmt(ds.p50)} ms, relay ${fmt(copy.stats.p50)} / ${fmt(pipe.stats.p50)} ms, gateway ${fmt(gateway.stats.p50)} ms`);
    const baseline = `direct p50 ${fmt(ds.p50)} ms, p99 ${fmt(ds.p99)} ms`;
    const row = (figure, p, goal, met, note) => ({
      figure,
      measured: `p50 ${fmt(p.stats.p50)} ms, p99 ${fmt(p.stats.p99)} ms`,
      baseline,
      ratio: p.stats.p50 / ds.p50,
      goal,
      met,
      note: `${note}; CPU ${fmt(p.cpuPerCall)} ms per call`,
    });
    const ratio = gateway.stats.p50 / ds.p50;
    return [
      row('large-result', gateway, '≤ 1.2× direct', ratio <= 1.2, `${BYTES} bytes of text in one JSON answer; ${S.calls} sequential calls each, alternating`),
      row('large-result: TCP relay (data → write)', copy, 'context (the floor)', undefined, 'plain net relay in its own process'),
      row('large-result: TCP relay (socket.pipe)', pipe, 'context (the floor)', undefined, 'plain net relay in its own process'),
      row('large-result: TCP relay, data-plane heap', heavy, 'context (the GC under the floor)', undefined, 'the data → write relay with the data plane\'s modules loaded'),
      row('large-result: TCP relay, data-plane heap, reused buffer', reused, 'context (the GC under the floor)', undefined, 'the same, reading into one reused buffer (onread)'),
    ];
  } finally {
    await cp.stop();
    await upstream.stop();
  }
}
