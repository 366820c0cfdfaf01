// What a list page costs in memory, and where (run standalone against the built tree: `npm run build` first;
// its figures go to bench/results.md by hand). N servers in files of 10 on the live loopback fleet
// (bench/lib/upstream-fleet.js, so every view carries its tools, as in the scale scenario), the control
// plane at its defaults with npm start's process settings and the in-process memory probe
// (bench/lib/memory-probe.js every 20 ms). Once every server is Ready and the process is quiet, phases of
// list traffic, each against the idle phase before it in the same process:
//   idle        nothing for IDLE_MS
//   admin       every page of 1,000 as the admin, one at a time, ROUNDS times
//   viewer      a viewer of every shard with a tag selector (a tenth of the fleet), pages of 1,000, ROUNDS × 10
//   parallel    8 connections of admin pages of 1,000 for PARALLEL_MS
//   metrics     /metrics one at a time for as long as the admin phase took (traffic that builds no page)
// Per phase: RSS max (sampled from /proc every 10 ms), and at the sample of the probe with the highest RSS:
// heap used, the large-object space, array buffers; /proc/PID/smaps at the phase's RSS high, summed by kind
// of mapping (V8 heap pages, malloc arenas, the rest) against the idle phase's.
//
//   node bench/list-peak.js [size (default 3000)] [rounds (default 3)]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, runCleanups, sleep, tempDir, waitFor } from './lib/common.js';
import { cpuMs, loadAverage, rssMb } from './lib/proc.js';
import { SHARD, scrape, writeShardedDirectory } from './lib/sharded-fleet.js';
import { newToken, startServer } from './lib/server.js';
import { startUpstreamFleet } from './lib/upstream-fleet.js';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

const size = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const IDLE_MS = 8_000;
const PARALLEL_MS = 8_000;
const PATH = '/api/svc/v1/mcp-servers';
const MB = 1024 * 1024;

/** A tokens file with a viewer of every shard (teams shard-0…), who reads the whole fleet through the read-scope index. */
function writeWideViewer(dir, token) {
  const teams = Array.from({ length: Math.ceil(size / SHARD) }, (_, i) => `shard-${i}`);
  const path = join(dir, 'tokens.yaml');
  const entry = { token_sha256: createHash('sha256').update(token).digest('hex'), subject: { type: 'user', slug: 'wide@example.com', displayName: 'Wide' }, teams, role: 'viewer' };
  writeFileSync(path, stringify([entry]));
  return path;
}

/** /proc/PID/smaps summed by kind: V8 heap pages (anonymous maps of whole 256 KiB pages up to 8 MiB, or the 128 MiB+ reservations), malloc ([heap] and 64 MiB arena maps), other anonymous, file-backed. */
function smapsByKind(pid) {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const kinds = { mallocMain: 0, mallocArenas: 0, v8: 0, otherAnon: 0, file: 0 };
  const maps = new Map();
  let current;
  let prevEnd = -1;
  let prevKind;
  let map;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const start = parseInt(head[1], 16);
      const end = parseInt(head[2], 16);
      const name = head[4];
      // A thread arena is a 64 MiB reservation: its used part (rw) directly below its unused part (---p).
      current =
        name === '[heap]' ? 'mallocMain' : name.startsWith('/') ? 'file' : name !== '' ? 'otherAnon' : (end - start) % (256 * 1024) === 0 ? 'v8' : 'otherAnon';
      if (head[3] === '---p' && start === prevEnd && prevKind !== 'file' && map && (end - start + map.size) === 64 * MB) {
        kinds[prevKind] -= map.rss;
        kinds.mallocArenas += map.rss;
        map.kind = 'mallocArenas';
      }
      map = { start: head[1], size: end - start, perms: head[3], name, kind: current, rss: 0 };
      maps.set(head[1], map);
      prevEnd = end;
      prevKind = current;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) {
      kinds[current] += Number(rss[1]) / 1024;
      map.rss = Number(rss[1]) / 1024;
    }
  }
  Object.defineProperty(kinds, 'maps', { value: maps, enumerable: false });
  return kinds;
}

/** The mappings whose resident memory grew most from `before` to `after` (smapsByKind results). */
function growers(before, after, n = 6) {
  if (!before?.maps || !after?.maps) return '';
  const rows = [...after.maps.values()].map((m) => ({ ...m, grew: m.rss - (before.maps.get(m.start)?.rss ?? 0) })).sort((a, b) => b.grew - a.grew);
  return rows
    .slice(0, n)
    .filter((m) => m.grew > 0.5)
    .map((m) => `${m.kind} ${m.name || m.perms} ${(m.size / MB).toFixed(1)} MB map +${m.grew.toFixed(1)}`)
    .join('; ');
}

function probeSamples(file, from, to) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((s) => s.t >= from && s.t <= to);
}

async function get(url, token, path) {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
  return body.byteLength;
}

try {
  const fleet = await startUpstreamFleet({ processes: 4 });
  const dir = tempDir(`list-peak-${size}`);
  writeShardedDirectory(dir, { servers: size, perFile: 10, urlOf: fleet.urlOf });
  const viewerToken = newToken();
  const tokensFile = writeWideViewer(tempDir('tokens'), viewerToken);
  const probeFile = join(tempDir('probe'), 'probe.jsonl');
  const cp = await startServer({
    dataDir: tempDir(`data-${size}`),
    manifestDirs: [dir],
    args: ['--tokens-file', tokensFile],
    nodeArgs: ['--import', new URL('./lib/memory-probe.js', import.meta.url).href],
    env: { MEM_PROBE_FILE: probeFile, MEM_PROBE_MS: '20' },
    defaults: true,
    startTimeoutMs: 1_800_000,
  });
  await waitFor(async () => (await scrape(cp)).ready >= size, { timeoutMs: 1_800_000, intervalMs: 250, what: `${size} servers Ready` });
  await cp.waitQuiet({ windowMs: 1000, maxCpuMs: 100, timeoutMs: 120_000 }).catch(() => undefined);
  log(`size ${size}: all Ready, quiet; RSS ${cp.rssMb().toFixed(1)} MB (load ${loadAverage()})`);

  const phases = [];
  /** Runs work while sampling RSS every 10 ms (and smaps at each new high). */
  async function phase(name, work) {
    const load = loadAverage();
    const from = Date.now();
    const cpuBefore = cpuMs(cp.pid);
    let max = 0;
    let smaps;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const rss = rssMb(cp.pid);
        if (rss > max) {
          max = rss;
          try {
            smaps = smapsByKind(cp.pid);
          } catch {
            /* gone */
          }
        }
        await sleep(10);
      }
    })();
    const detail = await work();
    running = false;
    await sampler;
    const to = Date.now();
    await sleep(100);
    const samples = probeSamples(probeFile, from, to);
    const top = samples.reduce((a, s) => (s.rss > (a?.rss ?? 0) ? s : a), undefined);
    const heapUsedMax = Math.max(...samples.map((s) => s.heapUsed)) / MB;
    const loMax = Math.max(...samples.map((s) => s.spaces.large_object ?? 0)) / MB;
    const abMax = Math.max(...samples.map((s) => s.arrayBuffers)) / MB;
    const grew = growers(phases.at(-1)?.smaps, smaps);
    const p = { name, load, ms: to - from, cpuMs: cpuMs(cp.pid) - cpuBefore, rssMax: max, heapUsedMax, loMax, abMax, atTop: top && { heapTotal: top.heapTotal / MB, heapUsed: top.heapUsed / MB, lo: (top.spaces.large_object ?? 0) / MB }, smaps, detail };
    phases.push(p);
    log(
      `${name}: RSS max ${max.toFixed(1)} MB; heapUsed max ${heapUsedMax.toFixed(1)}, LO max ${loMax.toFixed(1)}, arrayBuffers max ${abMax.toFixed(1)} MB; ` +
        `smaps at the high: ${Object.entries(smaps ?? {}).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; grew most: ${grew}; ${detail ?? ''} (load ${load}, ${(p.ms / 1000).toFixed(1)} s, CPU ${p.cpuMs} ms)`,
    );
    return p;
  }

  const pages = Math.ceil(size / 1000);
  let pageBytes = 0;
  await phase('idle', async () => {
    await sleep(IDLE_MS);
  });
  const admin = await phase('admin', async () => {
    const started = performance.now();
    for (let r = 0; r < rounds; r++) for (let p = 0; p < pages; p++) pageBytes = await get(cp.url, cp.token, `${PATH}?limit=1000&offset=${p * 1000}`);
    return `${rounds * pages} pages of ≈${(pageBytes / 1024).toFixed(0)} KB in ${(performance.now() - started).toFixed(0)} ms`;
  });
  await phase('idle', async () => {
    await sleep(IDLE_MS);
  });
  await phase('scenario', async () => {
    // The scale scenario's lists (bench/lib/sync-suite.js reads): pages of 100, as the admin with a tag selector (a
    // shard, a tenth) and without, and as a viewer of every shard.
    const paths = [
      [cp.token, `${PATH}?limit=100&tag=shard:shard-3`],
      [cp.token, `${PATH}?limit=100&tag=team:team-3`],
      [cp.token, `${PATH}?limit=100`],
      [viewerToken, `${PATH}?limit=100&tag=team:team-3`],
      [viewerToken, `${PATH}?limit=100`],
    ];
    const started = performance.now();
    for (const [token, path] of paths) for (let i = 0; i < 100 * rounds; i++) await get(cp.url, token, path);
    return `${paths.length * 100 * rounds} pages of 100 in ${(performance.now() - started).toFixed(0)} ms`;
  });
  await phase('idle', async () => {
    await sleep(IDLE_MS);
  });
  await phase('viewer', async () => {
    const started = performance.now();
    let bytes = 0;
    for (let r = 0; r < rounds * 10; r++) bytes = await get(cp.url, viewerToken, `${PATH}?limit=1000&tag=team:team-3`);
    return `${rounds * 10} pages of ≈${(bytes / 1024).toFixed(0)} KB in ${(performance.now() - started).toFixed(0)} ms`;
  });
  await phase('idle', async () => {
    await sleep(IDLE_MS);
  });
  await phase('parallel', async () => {
    let n = 0;
    const until = performance.now() + PARALLEL_MS;
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = c; performance.now() < until; i += 8) {
          await get(cp.url, cp.token, `${PATH}?limit=1000&offset=${(i % pages) * 1000}`);
          n++;
        }
      }),
    );
    return `${n} pages on 8 connections`;
  });
  await phase('idle', async () => {
    await sleep(IDLE_MS);
  });
  await phase('metrics', async () => {
    const until = performance.now() + admin.ms;
    let n = 0;
    while (performance.now() < until) {
      await get(cp.url, cp.token, '/metrics');
      n++;
    }
    return `${n} scrapes`;
  });
  console.log(JSON.stringify({ size, rounds, phases }, null, 2));
  await cp.stop();
} finally {
  await runCleanups();
}
