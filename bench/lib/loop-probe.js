// Loaded into the control plane with `node --import` (put-create under BENCH_LOOP_PROBE=FILE): measures how
// long the event loop is blocked and what blocks it, in a window the bench opens and closes with SIGUSR2
// (the first signal starts the window, the second writes FILE as JSON and starts the next window).
// - the event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution): how late a timer ran, that is
//   how long a turn held the loop;
// - every COMMIT (better-sqlite3's Statement#run of "COMMIT", timed around the call: SQLite's fsync under
//   synchronous=FULL and an automatic checkpoint happen inside it) and every wal_checkpoint pragma;
//   A COMMIT during which the WAL's backfill count (nBackfill in the -shm file's checkpoint info, offset
//   96) grew ran SQLite's automatic checkpoint: those are counted apart (checkpointInCommit);
// - every garbage collection (PerformanceObserver 'gc'), by kind (minor: a scavenge of the young generation;
//   major: mark-compact; incremental: a step of incremental marking; weakcb: weak callbacks);
// - the slowest answers and what they waited behind: every API write (PUT/POST/PATCH/DELETE) the main
//   thread answered, from its 'request' event until its answer finished; every stall of the loop over 5 ms (a
//   1 ms interval timer that ran late: the turn that held it, [from, to]); every fsync of the WAL (on the
//   thread pool: a durable answer waits for one that started after its commit). For the answers at or above
//   the 99th percentile, the time each overlapped with each kind (requestsTail).
import fs, { openSync, readSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { constants as perf, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.BENCH_LOOP_PROBE;
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const fresh = () => ({ eld: monitorEventLoopDelay({ resolution: 1 }), commits: [], checkpointInCommit: [], checkpointInCommitByFile: {}, checkpoints: [], gcs: [], gcSpans: [], commitSpans: [], stalls: [], fsyncs: [], requests: [], started: performance.now() });
const GC_KIND = { [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor', [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major', [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
let window = fresh();

const probe = new Database(':memory:');
const statement = Object.getPrototypeOf(probe.prepare('SELECT 1'));
const run = statement.run;
/** The -shm file of each database file, read for nBackfill. */
const shm = new Map();
const word = Buffer.alloc(4);
function backfill(db) {
  if (!db || db.memory) return 0;
  let fd = shm.get(db.name);
  if (fd === undefined) {
    try {
      fd = openSync(`${db.name}-shm`, 'r');
    } catch {
      fd = null;
    }
    shm.set(db.name, fd);
  }
  if (fd === null) return 0;
  return readSync(fd, word, 0, 4, 96) === 4 ? word.readUInt32LE(0) : 0;
}
statement.run = function timedRun(...args) {
  if (this.source !== 'COMMIT') return run.apply(this, args);
  const before = backfill(this.database);
  const t0 = performance.now();
  try {
    return run.apply(this, args);
  } finally {
    const ms = performance.now() - t0;
    window.commits.push(ms);
    window.commitSpans.push([t0, t0 + ms]);
    if (backfill(this.database) > before) {
      window.checkpointInCommit.push(ms);
      // By file: the resource store's backfill may also grow from its checkpoint worker's concurrent copy.
      const file = (this.database.name ?? '').split('/').pop();
      const f = (window.checkpointInCommitByFile[file] ??= { n: 0, totalMs: 0, max: 0 });
      f.n++;
      f.totalMs += ms;
      f.max = Math.max(f.max, ms);
    }
  }
};
const pragma = Database.prototype.pragma;
Database.prototype.pragma = function timedPragma(source, ...args) {
  if (!/wal_checkpoint/i.test(source)) return pragma.call(this, source, ...args);
  const t0 = performance.now();
  try {
    return pragma.call(this, source, ...args);
  } finally {
    window.checkpoints.push(performance.now() - t0);
  }
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    window.gcs.push(e.duration);
    window.gcSpans.push([e.startTime, e.startTime + e.duration, GC_KIND[e.detail?.kind] ?? 'other']);
  }
}).observe({ entryTypes: ['gc'] });

const WRITES = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function timedEmit(event, req, res) {
  if (event === 'request' && open && WRITES.has(req.method)) {
    const t0 = performance.now();
    const w = window;
    res.once('finish', () => w.requests.push([t0, performance.now()]));
  }
  return emit.apply(this, arguments);
};
const fsyncOf = fs.fsync;
fs.fsync = function timedFsync(fd, callback) {
  const t0 = performance.now();
  const w = window;
  return fsyncOf.call(this, fd, (err) => {
    w.fsyncs.push([t0, performance.now()]);
    callback(err);
  });
};
syncBuiltinESMExports();
/** A stall: the interval ran this much later than its 1 ms. */
const STALL_MS = 5;
let tick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (open && now - tick > 1 + STALL_MS) window.stalls.push([tick + 1, now]);
  tick = now;
}, 1).unref();

/** Time (ms) of [from, to] covered by the spans (each [start, end, ...]; may overlap each other: summed). */
function overlap(spans, from, to) {
  let ms = 0;
  for (const [a, b] of spans) if (b > from && a < to) ms += Math.min(b, to) - Math.max(a, from);
  return ms;
}

/** The answers at or above the 99th percentile, and what they overlapped on average. */
function tail(w) {
  const latencies = w.requests.map(([a, b]) => b - a).sort((x, y) => x - y);
  if (latencies.length === 0) return { n: 0 };
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  const p99 = at(0.99);
  const slow = w.requests.filter(([a, b]) => b - a >= p99);
  const mean = (f) => slow.reduce((sum, r) => sum + f(r), 0) / slow.length;
  const gcOf = (kind) => w.gcSpans.filter((g) => kind === undefined || g[2] === kind);
  const gcByKind = {};
  for (const [a, b, kind] of w.gcSpans) {
    const k = (gcByKind[kind] ??= { n: 0, totalMs: 0, max: 0 });
    k.n++;
    k.totalMs += b - a;
    k.max = Math.max(k.max, b - a);
  }
  const stallLengths = w.stalls.map(([a, b]) => b - a).sort((x, y) => y - x);
  return {
    n: latencies.length,
    p50: at(0.5),
    p99,
    max: latencies.at(-1),
    slowest: slow.length,
    // Per slow answer, mean ms of its life spent in (overlapping) each:
    inStalls: mean(([a, b]) => overlap(w.stalls, a, b)),
    inGc: mean(([a, b]) => overlap(gcOf(), a, b)),
    inMajorGc: mean(([a, b]) => overlap(gcOf('major'), a, b)),
    inCommit: mean(([a, b]) => overlap(w.commitSpans, a, b)),
    fsyncInFlight: mean(([a, b]) => overlap(w.fsyncs, a, b)),
    gcByKind,
    stalls: { n: stallLengths.length, totalMs: stallLengths.reduce((x, y) => x + y, 0), longest: stallLengths.slice(0, 10) },
    fsync: summary(w.fsyncs.map(([a, b]) => b - a)),
  };
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0);
  const total = s.reduce((a, b) => a + b, 0);
  return { n: s.length, totalMs: total, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? 0, over5ms: s.filter((v) => v > 5).length, over20ms: s.filter((v) => v > 20).length };
}

let open = false;
process.on('SIGUSR2', () => {
  if (open) {
    const w = window;
    w.eld.disable();
    const ms = (ns) => ns / 1e6;
    writeFileSync(
      out,
      JSON.stringify({
        windowMs: performance.now() - w.started,
        loopDelay: { p50: ms(w.eld.percentile(50)), p99: ms(w.eld.percentile(99)), p999: ms(w.eld.percentile(99.9)), max: ms(w.eld.max), mean: ms(w.eld.mean) },
        commit: summary(w.commits),
        checkpoint: summary(w.checkpoints),
        checkpointInCommit: summary(w.checkpointInCommit),
        checkpointInCommitByFile: w.checkpointInCommitByFile,
        gc: summary(w.gcs),
        requestsTail: tail(w),
      }),
    );
  }
  window = fresh();
  window.eld.enable();
  open = true;
});
