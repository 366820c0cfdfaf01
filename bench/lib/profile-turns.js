// What held the event loop in its long stretches: reads a --cpu-prof profile (BENCH_CPU_PROF) and splits it
// into busy stretches (samples between two idle ones); for the stretches of at least MIN_MS it sums the
// sampled time by what was running, each sample named by the first category its stack matches, innermost
// frame first (GC and the COMMIT statement before the code that called them).
// A sample inside a group commit or a reconcile batch is counted there (their SQL included), whatever its
// innermost frame; 'store (outside units)' is the store's code called from anywhere else.
//   node bench/lib/profile-turns.js FILE.cpuprofile [MIN_MS=10] [FROM_S] [TO_S]
// PROFILE_RUNS=N: also the N longest runs of samples under one entry point (the frame below the root: a
// timer, an I/O callback, the microtask queue...), each with the three call paths it sampled most. A saturated
// loop is never idle, so its stretches are long; a run approximates one turn (two turns of the same entry in a
// row count as one). Gaps between samples over 5 ms are summed apart: the thread was not running (descheduled).
// FROM_S/TO_S: only the part of the profile between these seconds after its start; or, past 10^9, instants
// of the monotonic clock in µs (process.hrtime, which the profile's startTime counts in too): put-create
// logs its load's window so ("load window ... µs"), since the seconds after the spawn it logs are not the
// profile's (the profiler starts later than the spawn).
import { readFileSync } from 'node:fs';

const [file, minArg = '10', fromArg, toArg] = process.argv.slice(2);
const MIN_MS = Number(minArg);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Whole calls counted as one category, whatever they call (the innermost such frame decides). */
const ENCLOSING = [
  ['group commit', (f) => f.url.endsWith('store/sqlite/units.js') && f.functionName === 'commitGroup'],
  ['reconcile batch', (f) => f.url.includes('/reconcile/') && !f.url.includes('discovery')],
  ['discovery', (f) => f.url.includes('discovery') || f.url.includes('@modelcontextprotocol')],
];
/** [category, test on a frame]; else the innermost frame that matches any decides, in this order per frame. */
const CATEGORIES = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['group commit', (f) => f.url.endsWith('store/sqlite/units.js') && f.functionName === 'commitGroup'],
  ['reconcile batch', (f) => f.url.includes('/reconcile/') && !f.url.includes('discovery')],
  ['discovery', (f) => f.url.includes('discovery') || f.url.includes('@modelcontextprotocol')],
  ['change feed / watch', (f) => f.url.includes('change-feed') || f.url.includes('/watch') || f.url.includes('metrics')],
  ['intake', (f) => f.url.includes('/intake/') || f.url.includes('/manifest/')],
  ['store (outside units)', (f) => f.url.includes('/store/')],
  ['HTTP, express, body', (f) => f.url.includes('express') || f.url.includes('body-parser') || f.url.includes('raw-body') || f.url.includes('node:_http') || f.url.includes('/http/') || f.url.includes('router')],
  ['fetch (undici: discovery requests)', (f) => /undici|\/fetch\/|dispatcher\/|webstreams|core\/request|core\/connect/.test(f.url)],
  ['socket writes and reads', (f) => /^(writev|writeLatin1String|writeUtf8String|read|readStart)$/.test(f.functionName) || /node:net|stream_base_commons|streams\//.test(f.url)],
  ['data-plane thread feed (postMessage)', (f) => /postMessage|JSTransferable/.test(f.functionName) || f.url.includes('worker/')],
];
const cache = new Map();
function categoryOf(id) {
  if (cache.has(id)) return cache.get(id);
  let found;
  for (let at = id; at !== undefined && !found; at = parent.get(at)) {
    const f = nodes.get(at).callFrame;
    for (const [name, test] of ENCLOSING) if (test(f)) { found = name; break; }
  }
  if (nodes.get(id).callFrame.functionName === '(garbage collector)') found = 'GC';
  for (let at = id; at !== undefined && !found; at = parent.get(at)) {
    const f = nodes.get(at).callFrame;
    for (const [name, test] of CATEGORIES) if (test(f)) { found = name; break; }
  }
  const leaf = nodes.get(id).callFrame;
  found ??= leaf.functionName.startsWith('(') ? leaf.functionName : `other: ${leaf.url.split('/').slice(-2).join('/') || leaf.functionName}`;
  cache.set(id, found);
  return found;
}
const idle = (id) => nodes.get(id).callFrame.functionName === '(idle)';

let t = 0;
/** A bound in ms after the profile's start: seconds, or an instant of the monotonic clock in µs. */
const bound = (arg, none) => (arg === undefined ? none : Number(arg) > 1e9 ? (Number(arg) - profile.startTime) / 1000 : Number(arg) * 1000);
const from = bound(fromArg, -Infinity);
const to = bound(toArg, Infinity);
const stretches = [];
let current;
let busyTotal = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] / 1000;
  t += dt;
  if (t < from || t > to) continue;
  const id = profile.samples[i];
  if (idle(id)) {
    if (current) stretches.push(current);
    current = undefined;
    continue;
  }
  busyTotal += dt;
  current ??= { start: t, ms: 0, by: new Map() };
  current.ms += dt;
  const c = categoryOf(id);
  current.by.set(c, (current.by.get(c) ?? 0) + dt);
}
if (current) stretches.push(current);
const long = stretches.filter((s) => s.ms >= MIN_MS);
const by = new Map();
const dominant = new Map();
for (const s of long) {
  for (const [c, ms] of s.by) by.set(c, (by.get(c) ?? 0) + ms);
  const top = [...s.by].sort((a, b) => b[1] - a[1])[0][0];
  dominant.set(top, (dominant.get(top) ?? 0) + 1);
}
const longMs = long.reduce((a, s) => a + s.ms, 0);
const sorted = stretches.map((s) => s.ms).sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
console.log(`busy ${busyTotal.toFixed(0)} ms in ${stretches.length} stretches (p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms)`);
console.log(`stretches ≥ ${MIN_MS} ms: ${long.length}, ${longMs.toFixed(0)} ms; sampled time in them by what ran:`);
const ranked = [...by].sort((a, b) => b[1] - a[1]);
const rest = ranked.slice(14).reduce((a, [, ms]) => a + ms, 0);
if (rest > 0) ranked.splice(14, Infinity, ['the rest', rest]);
for (const [c, ms] of ranked) console.log(`  ${c.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / longMs).toFixed(1).padStart(5)} %   largest share in ${dominant.get(c) ?? 0} stretches`);

const RUNS = Number(process.env.PROFILE_RUNS ?? 0);
if (RUNS > 0) {
  const root = profile.nodes[0].id;
  const entryOf = (id) => {
    let at = id;
    while (parent.has(at) && parent.get(at) !== root) at = parent.get(at);
    return at;
  };
  const runs = [];
  let run;
  let gapMs = 0;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] / 1000;
    at += dt;
    if (at < from || at > to) continue;
    if (dt > 5) gapMs += dt;
    const id = profile.samples[i];
    const entry = entryOf(id);
    if (!run || run.entry !== entry) runs.push((run = { entry, start: at, ms: 0, paths: new Map() }));
    run.ms += dt;
    const names = [];
    for (let f = id; f !== undefined && f !== entry; f = parent.get(f)) names.push(nodes.get(f).callFrame.functionName || '(anonymous)');
    const path = names.slice(-6).reverse().join(' > ');
    run.paths.set(path, (run.paths.get(path) ?? 0) + dt);
  }
  console.log(`gaps between samples over 5 ms (not running): ${gapMs.toFixed(0)} ms`);
  console.log(`the ${RUNS} longest runs under one entry point:`);
  for (const r of runs.sort((a, b) => b.ms - a.ms).slice(0, RUNS)) {
    const f = nodes.get(r.entry).callFrame;
    console.log(`  ${r.ms.toFixed(1)} ms at ${(r.start / 1000).toFixed(2)} s: ${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}`);
    for (const [path, ms] of [...r.paths].sort((a, b) => b[1] - a[1]).slice(0, 3)) console.log(`      ${ms.toFixed(1).padStart(6)} ms  ${path}`);
  }
}
