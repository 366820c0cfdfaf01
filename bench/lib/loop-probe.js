// Loaded into the control plane with `node --import` (put-create under BENCH_LOOP_PROBE=FILE): measures how
// long the event loop is blocked and what blocks it, in a window the bench opens and closes with SIGUSR2
// (the first signal starts the window, the second writes FILE as JSON and starts the next window).
// - the event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution): how late a timer ran, that is
//   how long a turn held the loop;
// - every COMMIT (better-sqlite3's Statement#run of "COMMIT", timed around the call: SQLite's fsync under
//   synchronous=FULL and an automatic checkpoint happen inside it) and every wal_checkpoint pragma;
//   A COMMIT during which the WAL's backfill count (nBackfill in the -shm file's checkpoint info, offset
//   96) grew ran SQLite's automatic checkpoint: those are counted apart (checkpointInCommit);
// - every garbage collection (PerformanceObserver 'gc').
import { openSync, readSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.BENCH_LOOP_PROBE;
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const fresh = () => ({ eld: monitorEventLoopDelay({ resolution: 1 }), commits: [], checkpointInCommit: [], checkpoints: [], gcs: [], started: performance.now() });
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
    if (backfill(this.database) > before) window.checkpointInCommit.push(ms);
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
  for (const e of list.getEntries()) window.gcs.push(e.duration);
}).observe({ entryTypes: ['gc'] });

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
        gc: summary(w.gcs),
      }),
    );
  }
  window = fresh();
  window.eld.enable();
  open = true;
});
