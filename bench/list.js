// list: GET /api/svc/v1/mcp-servers?limit=1000 with 10,000 servers stored, pages round-robin over
// the whole list (offset 0, 1000, … 9000). Baseline: bare express answering the same JSON (the very
// pages the control plane answered, fetched once) from memory, in a process of its own.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SMOKE, log, tempDir } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { assertClean, callJson, deadLoopbackPort, expectOk, load } from './lib/http.js';
import { writeManifestDirectory } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt, median } from './lib/stats.js';
import { waitFor } from './lib/common.js';

export const describe = 'GET ?limit=1000 with 10,000 stored vs bare express answering the same JSON from memory';

const S = SMOKE ? { servers: 50, limit: 10, connections: 2, amount: 40, rounds: 1 } : { servers: 10_000, limit: 1000, connections: 8, duration: 5, rounds: 3 };
const PATH = '/api/svc/v1/mcp-servers';

export async function run() {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('list-manifests');
  writeManifestDirectory(dir, { servers: S.servers, perFile: 10, url });
  const dataDir = tempDir('list-data');
  const cp = await startServer({ dataDir, manifestDirs: [dir] });
  const gateway = new GatewayReader(dataDir);
  await waitFor(() => gateway.count(1) >= S.servers, { timeoutMs: 600_000, what: 'every server in the gateway store' });
  gateway.close();
  await cp.waitQuiet({ timeoutMs: 600_000 });
  log(`control plane pid ${cp.pid} holds ${S.servers} servers`);

  const offsets = [];
  for (let o = 0; o < S.servers; o += S.limit) offsets.push(o);
  const pages = {};
  let bytes = 0;
  for (const o of offsets) {
    const r = await expectOk(callJson(cp.url, cp.token, 'GET', `${PATH}?limit=${S.limit}&offset=${o}`), `list offset ${o}`);
    if (r.json.data.length !== Math.min(S.limit, S.servers - o)) throw new Error(`offset ${o}: ${r.json.data.length} items`);
    pages[o] = r.json;
    bytes += r.text.length;
  }
  const file = join(tempDir('list-pages'), 'pages.json');
  writeFileSync(file, JSON.stringify(pages));
  const baseline = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['list', file]);
  const baseUrl = await baseline.url();

  const run = async (target, token) => {
    let k = 0;
    const r = await load({
      url: `${target}${PATH}?limit=${S.limit}&offset=0`,
      token,
      makePath: () => `${PATH}?limit=${S.limit}&offset=${offsets[k++ % offsets.length]}`,
      connections: S.connections,
      ...(S.amount ? { amount: S.amount } : { duration: S.duration }),
    });
    assertClean(r, `list against ${target}`);
    return r;
  };
  const base = [];
  const mine = [];
  for (let round = 0; round < S.rounds; round++) {
    base.push(await run(baseUrl));
    mine.push(await run(cp.url, cp.token));
    log(`round ${round + 1}: baseline ${fmt(base.at(-1).rps)} req/s, control plane ${fmt(mine.at(-1).rps)} req/s`);
  }
  await baseline.stop();
  await cp.stop();
  const b = median(base.map((r) => r.rps));
  const m = median(mine.map((r) => r.rps));
  const p50 = median(mine.map((r) => r.p50));
  const bp50 = median(base.map((r) => r.p50));
  return [
    {
      figure: 'list',
      measured: `${fmt(m)} req/s, p50 ${fmt(p50)} ms`,
      baseline: `${fmt(b)} req/s, p50 ${fmt(bp50)} ms`,
      ratio: m / b,
      goal: '≥ 0.5× req/s',
      met: m / b >= 0.5,
      note: `${S.servers} stored, limit ${S.limit}, ${S.connections} connections; a page is ${fmt(bytes / offsets.length / 1024)} KB`,
    },
  ];
}
