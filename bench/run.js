// npm run bench            every figure
// npm run bench -- NAME…   some (put-create, put, put-unchanged, dry-run, scale-reads, resync, cold-sync, warm-restart, edit-latency,
//                          list, memory, watch-fanout, proxy, large-result, gateway-isolation, retry-flood, pg-put, pg-takeover,
//                          pg-watch-fanout, pg-rate-limit, reconcile-savepoints: PostgreSQL, skipped loudly without its binaries, an error
//                          under MCP_CP_TEST_REQUIRE_ALL=1)
// BENCH_SMOKE=1            tiny sizes: every script runs once, no timing is asserted, results.md is
//                          left alone (CI)
// BENCH_CPU_PROF=DIR       control-plane processes write a --cpu-prof profile to DIR (the figures are
//                          then not appended: a profiler slows what it measures)
// BENCH_SCALE=1k,10k,50k   the sizes of cold-sync, warm-restart, edit-latency, memory, scale-reads and resync
//                          (default 1k,10k): one scenario per size at the defaults against a loopback fleet of
//                          live MCP upstreams (bench/lib/sync-suite.js)
// BENCH_MEMORY_PROBE=DIR   profile memory through that scenario: its control plane carries an in-process
//                          probe (bench/lib/memory-probe.js: memoryUsage and GC work every 100 ms into DIR),
//                          summarized per phase; BENCH_MEMORY_HEAP=1 adds heap snapshots at each phase's end
//                          and an allocation profile (bench/lib/memory-profile.js). Not appended, as with
//                          BENCH_CPU_PROF: `npm run bench -- memory`
// BENCH_SERVE_ARGS="--heap-growth 0", BENCH_SERVE_NODE_ARGS="--max-semi-space-size=4"
//                          more serve / node flags for that scenario's control plane, and (node flags only)
//                          put-create's (a comparison; not appended either)
//
// Prints a table of figures (measured, baseline measured in the same run, ratio, goal) and appends
// a dated row per figure to bench/results.md with the CPU count, Node version and commit.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ROOT, SMOKE, runCleanups, withTimeout } from './lib/common.js';
import { appendResults, machine, printTable, RESULTS_FILE } from './lib/report.js';

export const BENCHES = ['put-create', 'put', 'put-unchanged', 'dry-run', 'list', 'scale-reads', 'resync', 'cold-sync', 'warm-restart', 'edit-latency', 'memory', 'watch-fanout', 'proxy', 'large-result', 'gateway-isolation', 'pg-put', 'pg-takeover', 'pg-watch-fanout', 'pg-rate-limit', 'reconcile-savepoints', 'retry-flood', 'db-footprint'];

async function main(argv) {
  const unknown = argv.filter((n) => !BENCHES.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(', ')}; one of ${BENCHES.join(', ')}\n`);
    return 2;
  }
  const names = argv.length > 0 ? BENCHES.filter((n) => argv.includes(n)) : BENCHES;
  const m = machine();
  process.stderr.write(`bench: ${names.join(', ')}${SMOKE ? ' (smoke: tiny sizes, no timing asserted)' : ''}\n`);
  process.stderr.write(`bench: ${m.cpus} CPUs (${m.cpu}), Node ${m.node}, commit ${m.commit}\n`);
  const rows = [];
  let failed = 0;
  for (const name of names) {
    const mod = await import(pathToFileURL(join(ROOT, 'bench', `${name}.js`)).href);
    const started = performance.now();
    process.stderr.write(`\n▶ ${name}: ${mod.describe ?? ''}\n`);
    try {
      const produced = await withTimeout(mod.run(), (SMOKE ? mod.smokeTimeoutMs ?? 90_000 : mod.timeoutMs ?? 600_000), name);
      rows.push(...produced);
      printTable(produced, process.stderr);
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`✗ ${name} failed: ${err instanceof Error ? err.stack : message}\n`);
      rows.push({ figure: name, measured: 'error', met: false, note: message.split('\n')[0].slice(0, 160) });
    } finally {
      await runCleanups();
    }
    process.stderr.write(`  (${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  process.stdout.write(`\nBenchmarks — ${m.date}, ${m.cpus} CPUs, Node ${m.node}, commit ${m.commit}${SMOKE ? ', SMOKE (sizes tiny, ratios meaningless)' : ''}\n`);
  printTable(rows);
  const profiles = process.env.BENCH_CPU_PROF || process.env.BENCH_MEMORY_PROBE;
  const flagged = process.env.BENCH_SERVE_ARGS || process.env.BENCH_SERVE_NODE_ARGS;
  if (profiles) {
    process.stdout.write(`profiles in ${profiles}; profiled figures are not appended to ${RESULTS_FILE}\n`);
  } else if (flagged) {
    process.stdout.write(`figures with BENCH_SERVE_ARGS / BENCH_SERVE_NODE_ARGS are not appended to ${RESULTS_FILE}\n`);
  } else if (!SMOKE) {
    appendResults(rows, m);
    process.stdout.write(`appended ${rows.length} row(s) to ${RESULTS_FILE}\n`);
  }
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await runCleanups();
    process.exit(code);
  },
  async (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
