// quiet-reads: what a read costs in CPU, and what a resync costs, with nothing else running: a control plane
// (this checkout's dist/, or another checkout's: TREE) serving a COPY of a settled data directory (e.g. one that
// the scale scenario, bench/lib/sync-suite.js, left Ready with tools) with rediscovery and retries quiet (24 h).
// After a start every server is discovered once more (its upstream gone: it fails once); once the process is
// quiet, each read of scale-reads is made 200 times one at a time: p50, p99 and the process's CPU per request
// (CPU over the requests, less the idle rate of the 3 s before). With RESYNC_S > 0 the resync runs every
// RESYNC_S and the CPU of two intervals is reported as a share of a core: the resync's own cost, which the
// defaults' rediscovery hides in the `resync` figure at 50,000. Not part of `npm run bench` (it needs a
// settled data directory of the size); the directory is written to (serve it from a copy).
// Flags after `--` go to serve (e.g. `--egress-deny 127.0.0.0/8 --control-plane-nice 0`: the restart's
// discoveries fail at once, without a connection, and the process is not reniced behind other work).
// BENCH_TREE=DIR runs another checkout's dist/ and bench/lib (a before build).
//   node bench/quiet-reads.js DATA_DIR SIZE [RESYNC_S] [-- serve flags…]     prints one JSON line
import { join } from 'node:path';
import { ROOT } from './lib/common.js';
import { loadavg } from 'node:os';
const dash = process.argv.indexOf('--');
const [dataset, sizeText, resyncText] = process.argv.slice(2, dash < 0 ? undefined : dash);
const serveFlags = dash < 0 ? [] : process.argv.slice(dash + 1);
const tree = process.env.BENCH_TREE ?? ROOT;
const size = Number(sizeText);
const resyncS = Number(resyncText ?? 0);
const { startServer, newToken } = await import(join(tree, 'bench/lib/server.js'));
const { writeViewerTokens, scrape, VIEWER_SHARD } = await import(join(tree, 'bench/lib/sharded-fleet.js'));
const { tempDir, sleep, runCleanups, waitFor } = await import(join(tree, 'bench/lib/common.js'));
const { callJson, expectOk } = await import(join(tree, 'bench/lib/http.js'));
const { serverName } = await import(join(tree, 'bench/lib/manifests.js'));
const viewer = newToken();
const tokens = writeViewerTokens(tempDir('m-tokens'), viewer);
const quiet = ['--discovery-timeout', '30s', '--discovery-retry-base', '24h', '--discovery-retry-max', '24h', '--discovery-retry-unreachable-max', '24h', '--discovery-interval', '24h'];
const cp = await startServer({ dataDir: dataset, defaults: true, args: [...serveFlags, '--tokens-file', tokens, '--resync-interval', resyncS > 0 ? `${resyncS}s` : '0', ...quiet], startTimeoutMs: 1_200_000 });
// Every server is discovered once after a start (against its upstream, or failing where it is gone).
await waitFor(async () => (await scrape(cp)).discoveries >= size, { timeoutMs: 1_200_000, intervalMs: 1000, what: 'discoveries' });
await cp.waitQuiet({ windowMs: 2000, maxCpuMs: 30, timeoutMs: 300_000 }).catch(() => undefined);
const PATH = '/api/svc/v1/mcp-servers';
const figures = {
  'non-admin list': [viewer, `${PATH}?limit=100`],
  'non-admin + selector': [viewer, `${PATH}?limit=100&tag=shard:${VIEWER_SHARD}`],
  'tag list': [cp.token, `${PATH}?limit=100&tag=shard:${VIEWER_SHARD}`],
  'admin list': [cp.token, `${PATH}?limit=100`],
  '/metrics': [cp.token, '/metrics'],
  get: [cp.token, `${PATH}/name/${serverName(Math.floor(size / 2))}`],
  'GAIA project list': [viewer, '/api/mcp/servers?projectId=default'],
};
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const out = { tree, size, load: loadavg().map((l) => l.toFixed(1)).join(' '), reads: {} };
// Idle rate right before.
let c0 = cp.cpuMs(); let t0 = performance.now(); await sleep(3000);
const idlePerMs = (cp.cpuMs() - c0) / (performance.now() - t0);
out.idlePerSecondMs = idlePerMs * 1000;
for (const [figure, [token, path]] of Object.entries(figures)) {
  for (let i = 0; i < 5; i++) await expectOk(callJson(cp.url, token, 'GET', path), path);
  const samples = [];
  const c = cp.cpuMs(); const t = performance.now();
  for (let i = 0; i < 200; i++) { const s = performance.now(); const r = await expectOk(callJson(cp.url, token, 'GET', path), path); samples.push(performance.now() - s); if (i === 0 && r.json?.pagination) out.reads[figure + ' total'] = r.json.pagination.total; }
  const cpu = cp.cpuMs() - c - idlePerMs * (performance.now() - t);
  out.reads[figure] = { p50: +pct(samples, 50).toFixed(3), p99: +pct(samples, 99).toFixed(3), cpuPerRequestMs: +(cpu / samples.length).toFixed(3) };
}
if (resyncS > 0) {
  // Whole intervals, from one resync to a later one: CPU of the process (nothing else runs), reconciles.
  const b = await scrape(cp); const cc = cp.cpuMs(); const tt = performance.now();
  await sleep(resyncS * 2000);
  const a = await scrape(cp);
  out.resync = { wallMs: Math.round(performance.now() - tt), cpuMs: Math.round(cp.cpuMs() - cc), reconciles: a.reconciles - b.reconciles, discoveries: a.discoveries - b.discoveries };
  out.resync.share = +((out.resync.cpuMs / out.resync.wallMs) * 100).toFixed(3);
}
out.loadEnd = loadavg().map((l) => l.toFixed(1)).join(' ');
await cp.stop();
await runCleanups();
console.log(JSON.stringify(out));
process.exit(0);
