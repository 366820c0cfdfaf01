// large-result: a tools/call whose result is 5 MB of text, through the gateway data plane
// (/mcp/<name>) against the same call straight to the upstream (a real SDK server in a process of its
// own, answering JSON), both with the SDK's Client over Streamable HTTP. Calls alternate between the
// two, one at a time; the figure is the median time of a call, the ratio gateway / direct. The control
// plane runs with --upstream-max-message-bytes 16MiB, so the answer is under the cap.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, SMOKE, log, tempDir, waitFor } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { callJson, expectOk } from './lib/http.js';
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
    const direct = await connect(upstreamUrl);
    const via = await connect(`${cp.url}/mcp/${name}`, cp.token);
    for (let i = 0; i < S.warmup; i++) {
      await call(direct);
      await call(via);
    }
    const d = [];
    const g = [];
    for (let i = 0; i < S.calls; i++) {
      let t = performance.now();
      await call(direct);
      d.push(performance.now() - t);
      t = performance.now();
      await call(via);
      g.push(performance.now() - t);
    }
    await direct.close();
    await via.close();
    const ds = summarize(d);
    const gs = summarize(g);
    log(`5 MB result p50: direct ${fmt(ds.p50)} ms, gateway ${fmt(gs.p50)} ms`);
    const ratio = gs.p50 / ds.p50;
    return [
      {
        figure: 'large-result',
        measured: `p50 ${fmt(gs.p50)} ms, p99 ${fmt(gs.p99)} ms`,
        baseline: `direct p50 ${fmt(ds.p50)} ms, p99 ${fmt(ds.p99)} ms`,
        ratio,
        goal: '≤ 1.2× direct',
        met: ratio <= 1.2,
        note: `${BYTES} bytes of text in one JSON answer; ${S.calls} sequential calls each, alternating`,
      },
    ];
  } finally {
    await cp.stop();
    await upstream.stop();
  }
}
