// --heap-growth: V8's heap growing factor, set by the serve command for its process. The flag parses like
// every count flag (default, environment, bounds); its effect is checked on a real process that keeps a
// live set and makes medium-lived garbage, as a cold sync does: the heap's peak follows the factor.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseServeConfig } from '../../src/config.js';

const BASE = ['--no-manifests'];
const REGISTER = new URL('../support/ts-worker-register.mjs', import.meta.url).href;
const MODULE = new URL('../../src/heap-growth.ts', import.meta.url).href;

/** The peak heapUsed (MB) of a child process that applied `percent` and then churned. */
function peakHeapMb(percent: number): number {
  const program = `
    import { applyHeapGrowth } from ${JSON.stringify(MODULE)};
    applyHeapGrowth(${percent});
    const live = [];
    for (let i = 0; i < 200000; i++) live.push({ i, s: 'x' + i });
    const recent = [];
    let peak = 0;
    for (let round = 0; round < 300; round++) {
      recent.push(Array.from({ length: 5000 }, (_, j) => ({ j, a: [j, j + 1], s: 'y' + j })));
      if (recent.length > 20) recent.shift();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    process.stdout.write(String(peak / 1048576) + ' ' + live.length);
  `;
  const out = execFileSync(process.execPath, ['--import', REGISTER, '--input-type=module', '-e', program], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  return Number(out.split(' ')[0]);
}

test('--heap-growth defaults to 50 %, comes from MCP_CP_HEAP_GROWTH too, and 0 leaves V8 its own choice', () => {
  expect(parseServeConfig(BASE, {}).heapGrowthPercent).toBe(50);
  expect(parseServeConfig(BASE, { MCP_CP_HEAP_GROWTH: '0' }).heapGrowthPercent).toBe(0);
  expect(parseServeConfig([...BASE, '--heap-growth', '120'], {}).heapGrowthPercent).toBe(120);
});

test('a process at 20 % keeps its heap far below one at 300 % (what V8 picks on a large machine) with the same live set and garbage', () => {
  const tight = peakHeapMb(20);
  const loose = peakHeapMb(300);
  // The live set is ~20 MB and ~25 MB of garbage is young at any time.
  expect(tight).toBeLessThan(loose * 0.7);
}, 60_000);
