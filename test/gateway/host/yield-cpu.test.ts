// The control plane's thread yields the CPU to the data-plane thread: in a process of its own (a nice value
// cannot be raised back), a worker started first keeps nice 0 while the main thread takes the nice asked
// for, and a thread started afterwards inherits it. Linux only (elsewhere nothing is changed).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const linux = process.platform === 'linux' ? it : it.skip;

const SCRIPT = `
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
const { yieldCpuToDataPlane } = await import(${JSON.stringify(join(ROOT, 'src/gateway/host/yield-cpu.ts'))});
const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };
const nices = () => Object.fromEntries(readdirSync('/proc/self/task').map((t) => {
  const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
  return [t, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
}));
const CODE = 'import { parentPort } from "node:worker_threads"; import { readFileSync } from "node:fs"; parentPort.postMessage(readFileSync("/proc/thread-self/stat", "utf8")); setInterval(() => {}, 1000);';
const started = () => new Promise((resolve) => { const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(CODE))); w.once('message', (stat) => resolve({ w, tid: stat.split(' ')[0] })); });
const first = await started();
const answered = yieldCpuToDataPlane(10, silent);
const later = await started();
const n = nices();
console.log(JSON.stringify({ answered, main: n[String(process.pid)], first: n[first.tid], later: n[later.tid] }));
process.exit(0);
`;

linux('lowers the main thread and what it starts later, not the thread started before', () => {
  const out = execFileSync(process.execPath, ['--import', join(ROOT, 'test/support/ts-worker-register.mjs'), '--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ answered: 10, main: 10, first: 0, later: 10 });
});
