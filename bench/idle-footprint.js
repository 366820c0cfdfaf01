// The idle footprint of builds side by side: `node bench/idle-footprint.js [--runs N] [--settle-ms MS] LABEL=TREE[+FLAG…]…`
// starts each tree's built server (TREE/dist/src/cli/mcpctl.js serve, no servers, no directory) as `npm start`
// runs it (MALLOC_ARENA_MAX=2, node --max-semi-space-size=4: TREE's own package.json start flags, then each
// +FLAG given, e.g. `semi2=.+--max-semi-space-size=2`), the trees
// interleaved run by run (A B C, A B C, …), waits until it is quiet and then --settle-ms more, and reads its
// RSS, its anonymous and file-backed resident memory (/proc/PID/smaps_rollup) and its threads. Prints each
// sample, then per tree the median [range] of RSS, with the load average beside each sample. Standalone
// (not part of `npm run bench`): its figures go to bench/results.md by hand.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sleep } from './lib/common.js';
import { loadAverage, rssMb, waitQuiet } from './lib/proc.js';

const args = process.argv.slice(2);
let runs = 3;
let settleMs = 3000;
const trees = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--settle-ms') settleMs = Number(args[++i]);
  else {
    const eq = args[i].indexOf('=');
    const [label, spec] = eq > 0 ? [args[i].slice(0, eq), args[i].slice(eq + 1)] : [args[i], args[i]];
    const [tree, ...flags] = spec.split('+');
    trees.push({ label, tree: resolve(tree), flags, samples: [] });
  }
}
if (trees.length === 0) {
  console.error('usage: node bench/idle-footprint.js [--runs N] [--settle-ms MS] LABEL=TREE...');
  process.exit(2);
}

/** What the tree's `npm start` passes node (its flags) and MALLOC_ARENA_MAX. */
function startSettings(tree) {
  const script = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')).scripts.start;
  const nodeArgs = (/\bnode((?: --\S+)*) /.exec(script)?.[1] ?? '').split(' ').filter(Boolean);
  const arenas = /MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-(\d+)\}/.exec(script)?.[1];
  return { nodeArgs, env: arenas ? { MALLOC_ARENA_MAX: arenas } : {} };
}

function smapsRollup(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

async function sample({ tree, flags }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'idle-footprint-'));
  const { nodeArgs, env } = startSettings(tree);
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...flags, join(tree, 'dist/src/cli/mcpctl.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--admin-token', `bench-${'x'.repeat(40)}`, '--log-level', 'warn', '--no-manifests'],
    { cwd: tree, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env, MCP_CP_ADMIN_TOKEN: '', MANIFESTS_DIR: '' } },
  );
  try {
    await new Promise((resolveStart, rejectStart) => {
      let text = '';
      child.stderr.on('data', (chunk) => {
        text += chunk;
        if (/serving on http/.test(text)) resolveStart();
      });
      child.once('exit', (code) => rejectStart(new Error(`exited ${code}: ${text}`)));
    });
    await waitQuiet(child.pid);
    await sleep(settleMs);
    const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    return { rss: rssMb(child.pid), ...smapsRollup(child.pid), threads, load: loadAverage() };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let run = 1; run <= runs; run++) {
  for (const t of trees) {
    const s = await sample(t);
    t.samples.push(s);
    console.log(`run ${run} ${t.label}: RSS ${s.rss.toFixed(1)} MB (anonymous ${s.anon.toFixed(1)}, file-backed ${s.file.toFixed(1)}), ${s.threads} threads, load ${s.load}`);
  }
}
for (const t of trees) {
  const rss = t.samples.map((s) => s.rss);
  const anon = t.samples.map((s) => s.anon);
  console.log(
    `${t.label}: RSS median ${median(rss).toFixed(1)} [${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)}] MB, anonymous median ${median(anon).toFixed(1)} MB; load ${t.samples.map((s) => s.load).join(' / ')}`,
  );
}
