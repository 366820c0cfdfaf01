// The bench's side of the memory probe (bench/lib/memory-probe.js runs inside the control plane): with
// BENCH_MEMORY_PROBE=DIR the scale scenario (bench/lib/sync-suite.js) starts its control plane with the probe
// loaded, and this module reads the samples back as a summary per phase of the scenario.
//
//   BENCH_MEMORY_PROBE=DIR   samples (process.memoryUsage() and GC work every 100 ms) go to DIR/<process>.jsonl;
//                            each phase's summary (max and last of rss, heapUsed…, CPU and GC ms, major GCs)
//                            is logged and written to DIR/phases-<size>.json
//   BENCH_MEMORY_HEAP=1      with it: a heap snapshot into DIR at the end of each phase (between the phases'
//                            windows), and a sampling allocation profile (collected objects included) of the
//                            first MEM_PROBE_ALLOC_MS (default 60 s; a process stopped sooner writes none) to
//                            DIR/<process>.heapprofile
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log, sleep, waitFor } from './common.js';
import { fmt } from './stats.js';

const MB = 1024 * 1024;

/** The probe's directory, or undefined when the scenario runs without it. */
export const MEMORY_PROBE_DIR = process.env.BENCH_MEMORY_PROBE ? resolve(process.env.BENCH_MEMORY_PROBE) : undefined;
const HEAP = MEMORY_PROBE_DIR !== undefined && /^(1|true|yes)$/i.test(process.env.BENCH_MEMORY_HEAP ?? '');

/**
 * A probed control-plane process named `name`: the node flags and environment to start it with (none
 * without BENCH_MEMORY_PROBE), then `phase(name)` to close a phase at the present moment, `snapshot(pid)`
 * between phases, and `summary()` of every phase so far (also written to DIR/phases-<name>.json).
 */
export function memoryProbe(name) {
  if (!MEMORY_PROBE_DIR) return { nodeArgs: [], env: {}, phase() {}, async snapshot() {}, summary: () => undefined };
  mkdirSync(MEMORY_PROBE_DIR, { recursive: true });
  const file = join(MEMORY_PROBE_DIR, `${name}.jsonl`);
  const nodeArgs = ['--import', new URL('./memory-probe.js', import.meta.url).href];
  const env = { MEM_PROBE_FILE: file };
  if (HEAP) {
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${MEMORY_PROBE_DIR}`);
    env.MEM_PROBE_ALLOC = join(MEMORY_PROBE_DIR, `${name}.heapprofile`);
  }
  const started = Date.now();
  let from = started;
  const phases = {};
  return {
    nodeArgs,
    env,
    /** Closes phase `phase`: the samples from the last close (or the start) until now. */
    phase(phase) {
      const to = Date.now();
      phases[phase] = { ms: to - from, ...summarize(samplesOf(file, from, to)) };
      const p = phases[phase];
      log(`memory probe ${name} ${phase}: rss max ${fmt(p.rssMax, 1)} MB, heapUsed max ${fmt(p.heapUsedMax, 1)} MB, GC ${fmt(p.gcMs, 0)} ms of ${fmt(p.cpuMs, 0)} ms CPU (${p.majorGcs} major)`);
      from = to;
    },
    /** A heap snapshot of process `pid` (with BENCH_MEMORY_HEAP); the next phase starts after it. */
    async snapshot(pid) {
      if (HEAP) await heapSnapshot(pid, MEMORY_PROBE_DIR);
      from = Date.now();
    },
    summary() {
      const result = { ...phases, all: summarize(samplesOf(file, started, Date.now())) };
      writeFileSync(join(MEMORY_PROBE_DIR, `phases-${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
      return result;
    },
  };
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

function summarize(samples) {
  if (samples.length === 0) return { n: 0 };
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

/** Asks the process for a heap snapshot (SIGUSR2) and waits until its file is complete. */
async function heapSnapshot(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const file = await waitFor(() => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)), { timeoutMs: 300_000, intervalMs: 200, what: 'a heap snapshot' });
  // The file is complete once it has content and its size stops changing (it is empty while the process,
  // blocked, takes the snapshot: a request sent then meets a control plane that closes idle connections
  // as soon as it runs again).
  let last = -1;
  for (;;) {
    await sleep(1000);
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) break;
    last = size;
  }
  log(`heap snapshot ${join(dir, file)}`);
}
