// scale-gaia: the GAIA project list (GET /api/mcp/servers?projectId=…) as the fleet grows, in the fleet of
// scale-reads (a server per shard of 100 readable by its shard's team): a viewer of one shard lists the
// project, which answers the 100 servers it may read. Before ListQuery.account, every server was read and
// decoded to check the project and access; now the project's index and the reader index answer it. One
// request at a time, p50 and p99; the goal is the issue's: p50 flat (≤ 1.5×) from the smallest size.
import { SMOKE, log, tempDir, waitFor } from './lib/common.js';
import { deadLoopbackPort } from './lib/http.js';
import { newToken, startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt, summarize } from './lib/stats.js';
import { SHARD, reconcilesSettle, timed, writeFleet, writeTokens } from './scale-reads.js';

export const describe = 'p50/p99 of the GAIA project list as a viewer of 100 servers, at 1,000 → 10,000 servers';
export const timeoutMs = 1_800_000;

const SIZES = process.env.BENCH_READ_SIZES ? process.env.BENCH_READ_SIZES.split(',').map(Number) : SMOKE ? [60, 200] : [1000, 10_000];
const SAMPLES = SMOKE ? 5 : Number(process.env.BENCH_READ_SAMPLES ?? 200);
const MIN_SAMPLES = SMOKE ? 5 : 20;
const FIGURE_MS = 20_000;

async function measureSize(size) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('scale-gaia-manifests');
  writeFleet(dir, size, url);
  const dataDir = tempDir('scale-gaia-data');
  const viewerToken = newToken();
  const tokensFile = writeTokens(tempDir('scale-gaia-tokens'), viewerToken);
  const cp = await startServer({ dataDir, manifestDirs: [dir], args: ['--tokens-file', tokensFile] });
  const gateway = new GatewayReader(dataDir);
  await waitFor(() => gateway.count(1) >= size, { timeoutMs: 1_200_000, what: 'every server in the gateway store' });
  gateway.close();
  await cp.waitQuiet({ timeoutMs: 1_200_000 });
  await reconcilesSettle(cp, 3_000);
  const expected = Math.min(SHARD, Math.max(0, size - 3 * SHARD));
  const check = (r) => {
    if (r.json.servers?.length !== expected) throw new Error(`expected ${expected} servers, got ${r.json.servers?.length} (${r.text.slice(0, 200)})`);
  };
  const path = '/api/mcp/servers?projectId=default';
  try {
    for (let i = 0; i < 3; i++) await timed(cp.url, viewerToken, path, check);
    const samples = [];
    const started = performance.now();
    while (samples.length < SAMPLES && (samples.length < MIN_SAMPLES || performance.now() - started < FIGURE_MS)) samples.push(await timed(cp.url, viewerToken, path, check));
    const s = summarize(samples);
    log(`@${size} GAIA project list (viewer): p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`);
    return { size, s };
  } finally {
    await cp.stop();
  }
}

export async function run() {
  const runs = [];
  for (const size of SIZES) runs.push(await measureSize(size));
  const first = runs[0];
  return runs.map((r) => ({
    figure: 'scale-gaia project list (viewer)',
    size: r.size,
    measured: `p50 ${fmt(r.s.p50)} ms, p99 ${fmt(r.s.p99)} ms`,
    baseline: r === first ? '–' : `p50 ${fmt(first.s.p50)} ms @${first.size.toLocaleString('en-US')}`,
    ratio: r === first ? undefined : r.s.p50 / first.s.p50,
    goal: 'p50 ≤ 1.5× of the smallest size',
    met: r === first ? undefined : r.s.p50 / first.s.p50 <= 1.5,
    note: `${r.s.n} requests one at a time; 100 of the project's servers readable by the viewer`,
  }));
}
