// memory-live: the control plane's memory with real, Ready upstreams and tools stored, sampled through
// the whole run (the max, not one sample). N servers (BENCH_MEMORY_SIZES, default 10,000) are declared in
// a watched directory and spread over UPSTREAMS real MCP servers on loopback (bench/lib/upstream-mcp.js:
// the SDK's server, four tools); resync, rediscovery and retries run at their defaults. Phases:
//   cold     from start until every server is Ready=True with its tools stored
//   steady   STEADY_S seconds of doing nothing (resync every 60 s at its default)
//   lists    a loop of lists: every page of the fleet (limit 1000, admin), a tag list, a viewer's list
// Inside the process bench/lib/memory-probe.js samples process.memoryUsage() every 100 ms (rss, heapUsed,
// external, arrayBuffers); each phase reports its max and the last sample.
//
//   node bench/memory-live.js            one run, printed as JSON lines
//   BENCH_MEMORY_NODE_ARGS="--max-semi-space-size=4"  more node flags for the server (a comparison)
//   BENCH_MEMORY_SERVE_ARGS="--heap-growth 0"          more serve flags (a comparison)
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { ROOT, SMOKE, log, runCleanups, sleep, tempDir, waitFor } from './lib/common.js';
import { spawnNode } from './lib/child.js';
import { callJson, expectOk } from './lib/http.js';
import { fileNameOf, manifest } from './lib/manifests.js';
import { newToken, startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

export const describe = 'RSS and heap through cold sync, steady state and lists, servers Ready on real upstreams';
export const timeoutMs = 3_600_000;

const SIZES = process.env.BENCH_MEMORY_SIZES ? process.env.BENCH_MEMORY_SIZES.split(',').map(Number) : SMOKE ? [50] : [10_000];
const UPSTREAMS = Number(process.env.BENCH_MEMORY_UPSTREAMS ?? 4);
const STEADY_S = Number(process.env.BENCH_MEMORY_STEADY_S ?? (SMOKE ? 2 : 75));
const LIST_ROUNDS = Number(process.env.BENCH_MEMORY_LIST_ROUNDS ?? (SMOKE ? 1 : 5));
const PER_FILE = 10;
const PATH = '/api/svc/v1/mcp-servers';
const MB = 1024 * 1024;

/** The production defaults QUIET_FLAGS turns off (resync, rediscovery, retries). */
const DEFAULT_FLAGS = ['--resync-interval', '60s', '--discovery-timeout', '10s', '--discovery-retry-base', '1s', '--discovery-retry-max', '5m', '--discovery-interval', '5m', '--write-rate-limit', 'off'];

function writeFleet(dir, size, urls) {
  mkdirSync(dir, { recursive: true });
  for (let start = 0, f = 0; start < size; start += PER_FILE, f++) {
    const docs = [];
    for (let i = start; i < Math.min(size, start + PER_FILE); i++) {
      const m = manifest(i, { url: urls[i % urls.length] });
      docs.push(stringify({ ...m, collaborators: [...m.collaborators, { subject: `team:shard-${Math.floor(i / 100)}`, role_id: 'mcp-server-user' }] }));
    }
    writeFileSync(join(dir, fileNameOf(f)), docs.join('---\n'));
  }
}

function writeTokens(dir, token) {
  const path = join(dir, 'tokens.yaml');
  const entry = { token_sha256: createHash('sha256').update(token).digest('hex'), subject: { type: 'user', slug: 'viewer@example.com', displayName: 'Viewer' }, teams: ['shard-3'], role: 'viewer' };
  writeFileSync(path, stringify([entry]));
  return path;
}

async function readyCount(cp) {
  const r = await expectOk(callJson(cp.url, cp.token, 'GET', '/metrics'), '/metrics');
  const m = /^mcp_cp_resources\{ready="True"\} (\d+)/m.exec(r.text);
  return m ? Number(m[1]) : 0;
}

function samplesOf(file, from, to) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((s) => s.t >= from && s.t <= to);
}

function summary(samples) {
  if (samples.length === 0) return undefined;
  const max = (k) => Math.max(...samples.map((s) => s[k])) / MB;
  const last = samples[samples.length - 1];
  const first = samples[0];
  return {
    n: samples.length,
    cpuMs: last.cpuMs - first.cpuMs,
    gcMs: last.minorMs + last.majorMs - first.minorMs - first.majorMs,
    majorGcs: last.major - first.major,
    rssMax: max('rss'),
    rssLast: last.rss / MB,
    heapUsedMax: max('heapUsed'),
    heapUsedLast: last.heapUsed / MB,
    heapTotalMax: max('heapTotal'),
    externalMax: max('external'),
    arrayBuffersMax: max('arrayBuffers'),
  };
}

/** Asks the server for a heap snapshot (SIGUSR2) and waits until its file is complete. */
async function heapSnapshot(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const file = await waitFor(() => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)), { timeoutMs: 300_000, intervalMs: 200, what: 'a heap snapshot' });
  // The file is complete once its size stops changing.
  let last = -1;
  for (;;) {
    await sleep(1000);
    const size = statSync(join(dir, file)).size;
    if (size === last) break;
    last = size;
  }
  log(`heap snapshot ${join(dir, file)}`);
}

export async function measure(size) {
  const upstreams = [];
  for (let i = 0; i < UPSTREAMS; i++) upstreams.push(await spawnNode(join(ROOT, 'bench', 'lib', 'upstream-mcp.js')));
  const urls = await Promise.all(upstreams.map((u) => u.url()));
  const dir = tempDir('memory-live-manifests');
  writeFleet(dir, size, urls);
  const dataDir = tempDir('memory-live-data');
  const probeFile = join(tempDir('memory-live-probe'), 'samples.jsonl');
  const viewerToken = newToken();
  const tokensFile = writeTokens(tempDir('memory-live-tokens'), viewerToken);
  const extraNodeArgs = (process.env.BENCH_MEMORY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_MEMORY_SNAPSHOT_DIR: a heap snapshot is written there at the end of the steady phase and after the lists.
  const snapshotDir = process.env.BENCH_MEMORY_SNAPSHOT_DIR;
  if (snapshotDir) extraNodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`);
  const started = Date.now();
  const cp = await startServer({
    dataDir,
    manifestDirs: [dir],
    args: [...DEFAULT_FLAGS, '--tokens-file', tokensFile, ...(process.env.BENCH_MEMORY_SERVE_ARGS ?? '').split(' ').filter(Boolean)],
    nodeArgs: ['--import', pathToFileURL(join(ROOT, 'bench', 'lib', 'memory-probe.js')).href, ...extraNodeArgs],
    env: { MEM_PROBE_FILE: probeFile, ...(process.env.MEM_PROBE_ALLOC ? { MEM_PROBE_ALLOC: process.env.MEM_PROBE_ALLOC, MEM_PROBE_ALLOC_MS: process.env.MEM_PROBE_ALLOC_MS ?? '60000' } : {}) },
  });
  const phases = {};
  // BENCH_MEMORY_SNAPSHOT_AT=ms,ms…: also heap snapshots at these times after the start (the cold sync's peak).
  const early = snapshotDir ? (process.env.BENCH_MEMORY_SNAPSHOT_AT ?? '').split(',').filter(Boolean).map(Number) : [];
  const earlyTimers = early.map((ms) => setTimeout(() => process.kill(cp.pid, 'SIGUSR2'), Math.max(0, started + ms - Date.now())));
  try {
    await waitFor(async () => (await readyCount(cp)) >= size, { timeoutMs: 1_800_000, intervalMs: 500, what: `${size} servers Ready` });
    const coldEnd = Date.now();
    phases.cold = { ms: coldEnd - started, ...summary(samplesOf(probeFile, started, coldEnd)) };
    log(`@${size}: all Ready after ${coldEnd - started} ms; rss max ${fmt(phases.cold.rssMax, 1)} MB`);
    await sleep(STEADY_S * 1000);
    const steadyEnd = Date.now();
    phases.steady = summary(samplesOf(probeFile, coldEnd, steadyEnd));
    if (snapshotDir) await heapSnapshot(cp.pid, snapshotDir);
    const ready = await readyCount(cp);
    for (let round = 0; round < LIST_ROUNDS; round++) {
      for (let offset = 0; offset < size; offset += 1000) await expectOk(callJson(cp.url, cp.token, 'GET', `${PATH}?limit=1000&offset=${offset}`), 'list');
      await expectOk(callJson(cp.url, cp.token, 'GET', `${PATH}?limit=1000&tag=team:team-3`), 'tag list');
      await expectOk(callJson(cp.url, viewerToken, 'GET', `${PATH}?limit=100&tag=env:bench`), 'viewer list');
    }
    await sleep(500);
    const listsEnd = Date.now();
    phases.lists = summary(samplesOf(probeFile, steadyEnd, listsEnd));
    if (snapshotDir) await heapSnapshot(cp.pid, snapshotDir);
    phases.all = summary(samplesOf(probeFile, started, listsEnd));
    phases.readyAtEnd = ready;
    phases.marks = { started, coldEnd, steadyEnd, listsEnd };
    // BENCH_MEMORY_TRACE=<file>: every sample of the run is kept there (JSON lines), e.g. to plot.
    if (process.env.BENCH_MEMORY_TRACE) copyFileSync(probeFile, process.env.BENCH_MEMORY_TRACE);
  } finally {
    for (const t of earlyTimers) clearTimeout(t);
    await cp.stop();
    for (const u of upstreams) await u.stop?.();
  }
  return { size, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), ...phases };
}

export async function run() {
  const rows = [];
  for (const size of SIZES) {
    const r = await measure(size);
    rows.push({
      figure: 'memory-live',
      size,
      measured: `RSS max ${fmt(r.all.rssMax, 1)} MB (cold ${fmt(r.cold.rssMax, 1)}, steady ${fmt(r.steady.rssMax, 1)}, lists ${fmt(r.lists.rssMax, 1)}); final ${fmt(r.lists.rssLast, 1)} MB`,
      baseline: '–',
      goal: size <= 10_000 ? '≤ 150 MB' : size <= 50_000 ? '≤ 400 MB' : undefined,
      met: size <= 10_000 ? r.all.rssMax <= 150 : size <= 50_000 ? r.all.rssMax <= 400 : undefined,
      note: `servers Ready on ${UPSTREAMS} real upstreams; heapUsed max ${fmt(r.all.heapUsedMax, 1)} MB, final ${fmt(r.lists.heapUsedLast, 1)} MB; arrayBuffers max ${fmt(r.all.arrayBuffersMax, 1)} MB; load ${r.loadavg}`,
    });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  (async () => {
    try {
      for (const size of SIZES) process.stdout.write(`${JSON.stringify(await measure(size))}\n`);
    } finally {
      await runCleanups();
    }
  })().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
