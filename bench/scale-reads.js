// scale-reads: what a read costs as the fleet grows. At each size (BENCH_READ_SIZES, default 1,000 and
// 10,000; 50,000 when asked) the control plane syncs a directory of manifests whose access and tags are
// shaped like a real fleet's: each server belongs to a shard of 100 (a tag `shard`, and its team as the
// collaborator that may read it), and to one of 10 teams (a tag `team`, a tenth of the fleet). Then, one
// request at a time, with p50 and p99 of each:
//   non-admin list         a viewer of one shard (GET ?limit=100: the 100 servers it may read)
//   non-admin + selector   the same viewer with ?tag=shard:… (100)
//   tag list (admin)       ?tag=shard:… (100)
//   tag list, a tenth      ?tag=team:… (admin; a tenth of the fleet: its cost follows what it selects)
//   /metrics, get          GET /metrics; GET /name/{name}
// RSS is sampled every 100 ms through the requests (the max is reported, not one sample). The goal is
// the issue's: the p50 of each bounded request flat (≤ 1.5×) from the smallest size to the largest.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SMOKE, log, sleep, tempDir, waitFor } from './lib/common.js';
import { callJson, deadLoopbackPort, expectOk } from './lib/http.js';
import { fileNameOf, manifest, serverName } from './lib/manifests.js';
import { newToken, startServer } from './lib/server.js';
import { GatewayReader } from './lib/stores.js';
import { fmt, summarize } from './lib/stats.js';

export const describe = 'p50/p99 of filtered and non-admin lists, /metrics and get, at 1,000 → 10,000 (→ 50,000) servers';
export const timeoutMs = 1_800_000;

const SIZES = process.env.BENCH_READ_SIZES ? process.env.BENCH_READ_SIZES.split(',').map(Number) : SMOKE ? [60, 200] : [1000, 10_000];
/** Requests per figure: up to SAMPLES, or as many as fit in FIGURE_MS (at least MIN_SAMPLES): a 2 s request is not asked 300 times. */
const SAMPLES = SMOKE ? 5 : Number(process.env.BENCH_READ_SAMPLES ?? 300);
const MIN_SAMPLES = SMOKE ? 5 : 20;
const FIGURE_MS = 20_000;
export const SHARD = SMOKE ? 10 : 100;
const PER_FILE = 10;
const PATH = '/api/svc/v1/mcp-servers';

/** Server i of a sharded fleet: readable by its shard's team, tagged with its shard and team. */
export function shardedManifest(i, url) {
  const m = manifest(i, { url });
  const shard = `shard-${Math.floor(i / SHARD)}`;
  return {
    ...m,
    collaborators: [
      { subject: `team:${shard}`, role_id: 'mcp-server-user' },
      { subject: `user:owner-${i % 97}@example.com`, role_id: 'mcp-server-manager' },
    ],
    tags: { ...m.tags, shard },
  };
}

export function writeFleet(dir, servers, url) {
  mkdirSync(dir, { recursive: true });
  for (let start = 0, f = 0; start < servers; start += PER_FILE, f++) {
    const docs = [];
    for (let i = start; i < Math.min(servers, start + PER_FILE); i++) docs.push(stringify(shardedManifest(i, url)));
    writeFileSync(join(dir, fileNameOf(f)), docs.join('---\n'));
  }
}

/** A tokens file with one viewer of shard 3 (the default account, where the watched files put their servers). */
export function writeTokens(dir, token) {
  const path = join(dir, 'tokens.yaml');
  const entry = {
    token_sha256: createHash('sha256').update(token).digest('hex'),
    subject: { type: 'user', slug: 'viewer@example.com', displayName: 'Viewer' },
    teams: ['shard-3'],
    role: 'viewer',
  };
  writeFileSync(path, stringify([entry]));
  return path;
}

async function reconciles(cp) {
  const r = await expectOk(callJson(cp.url, cp.token, 'GET', '/metrics'), '/metrics');
  let n = 0;
  for (const line of r.text.split('\n')) if (line.startsWith('mcp_cp_reconcile_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** Resolves once the reconcile count has not moved for `stillMs`. */
export async function reconcilesSettle(cp, stillMs) {
  let last = await reconciles(cp);
  let since = performance.now();
  for (;;) {
    await sleep(250);
    const now = await reconciles(cp);
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= stillMs) return;
  }
}

export async function timed(base, token, path, check) {
  const started = performance.now();
  const r = await expectOk(callJson(base, token, 'GET', path), path);
  const ms = performance.now() - started;
  check?.(r);
  return ms;
}

async function measureSize(size) {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const dir = tempDir('scale-reads-manifests');
  writeFleet(dir, size, url);
  const dataDir = tempDir('scale-reads-data');
  const viewerToken = newToken();
  const tokensFile = writeTokens(tempDir('scale-reads-tokens'), viewerToken);
  const cp = await startServer({ dataDir, manifestDirs: [dir], args: ['--tokens-file', tokensFile] });
  const gateway = new GatewayReader(dataDir);
  await waitFor(() => gateway.count(1) >= size, { timeoutMs: 1_200_000, what: 'every server in the gateway store' });
  gateway.close();
  await cp.waitQuiet({ timeoutMs: 1_200_000 });
  // A busy machine can make a starved process look quiet: also wait until no reconcile has run for 3 s.
  await reconcilesSettle(cp, 3_000);
  log(`@${size}: control plane pid ${cp.pid} holds ${size} servers`);

  let maxRss = cp.rssMb();
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, cp.rssMb());
  }, 100);
  const expectItems = (n, total) => (r) => {
    if (r.json.data.length !== n || (total !== undefined && r.json.pagination.total !== total)) {
      throw new Error(`expected ${n} items (total ${total}), got ${r.json.data.length} (total ${r.json.pagination.total})`);
    }
  };
  const shardSize = Math.min(SHARD, Math.max(0, size - 3 * SHARD));
  const tenth = Math.ceil(size / 10);
  const figures = {
    'non-admin list': [viewerToken, `${PATH}?limit=100`, expectItems(Math.min(100, shardSize), shardSize)],
    'non-admin + selector': [viewerToken, `${PATH}?limit=100&tag=shard:shard-3`, expectItems(Math.min(100, shardSize), shardSize)],
    'tag list': [cp.token, `${PATH}?limit=100&tag=shard:shard-3`, expectItems(Math.min(100, shardSize), shardSize)],
    'tag list, a tenth': [cp.token, `${PATH}?limit=100&tag=team:team-3`, (r) => expectItems(Math.min(100, r.json.pagination.total), undefined)(r)],
    '/metrics': [cp.token, '/metrics'],
    get: [cp.token, `${PATH}/name/${serverName(Math.floor(size / 2))}`],
  };
  const results = {};
  try {
    for (const [figure, [token, path, check]] of Object.entries(figures)) {
      // A few unmeasured requests first (JIT, caches), then the samples.
      for (let i = 0; i < Math.min(3, SAMPLES); i++) await timed(cp.url, token, path, check);
      const samples = [];
      const started = performance.now();
      while (samples.length < SAMPLES && (samples.length < MIN_SAMPLES || performance.now() - started < FIGURE_MS)) samples.push(await timed(cp.url, token, path, check));
      results[figure] = summarize(samples);
      log(`@${size} ${figure}: p50 ${fmt(results[figure].p50)} ms, p99 ${fmt(results[figure].p99)} ms`);
    }
  } finally {
    clearInterval(sampler);
    await cp.stop();
  }
  return { size, tenth, results, maxRss };
}

export async function run() {
  const runs = [];
  for (const size of SIZES) runs.push(await measureSize(size));
  const first = runs[0];
  const rows = [];
  for (const figure of Object.keys(first.results)) {
    for (const r of runs) {
      const s = r.results[figure];
      const ratio = s.p50 / first.results[figure].p50;
      const bounded = figure !== 'tag list, a tenth';
      rows.push({
        figure: `scale-reads ${figure}`,
        size: r.size,
        measured: `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`,
        baseline: r === first ? '–' : `p50 ${fmt(first.results[figure].p50)} ms @${first.size.toLocaleString('en-US')}`,
        ratio: r === first ? undefined : ratio,
        goal: bounded ? 'p50 ≤ 1.5× of the smallest size' : 'context (selects a tenth)',
        met: r === first || !bounded ? undefined : ratio <= 1.5,
        note: `${s.n} requests one at a time; max RSS ${fmt(r.maxRss, 0)} MB over the run`,
      });
    }
  }
  return rows;
}
