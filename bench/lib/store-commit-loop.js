// The resource store's write path alone, in one process, against a given build: CLIENTS closed-loop
// writers each create a server, await the answer and create the next, for N creates, at durability full on
// a fresh file. Reports creates/s, the answer latency (p50, p99) and how long the event loop was held in
// COMMIT (better-sqlite3's Statement#run of "COMMIT", timed around the call) per create: under
// synchronous=FULL that includes the WAL's fsync; with the fsync on the thread pool it does not.
//   node bench/lib/store-commit-loop.js ROOT [N=3000] [CLIENTS=32]     ROOT: a checkout with dist/ built
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [root, nArg = '3000', clientsArg = '32'] = process.argv.slice(2);
const N = Number(nArg);
const CLIENTS = Number(clientsArg);
const require = createRequire(join(root, 'package.json'));
const Database = require('better-sqlite3');
const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1'));
const run = statement.run;
const commits = [];
statement.run = function timedRun(...args) {
  if (this.source !== 'COMMIT') return run.apply(this, args);
  const t0 = performance.now();
  try {
    return run.apply(this, args);
  } finally {
    commits.push(performance.now() - t0);
  }
};
const load = (p) => import(pathToFileURL(join(root, 'dist', 'src', p)).href);
const { SqliteResourceStore } = await load('store/sqlite/index.js');
const { resourceViews } = await load('http/resource-view.js');
const { initialStatus } = await load('domain/resource.js');

const dir = mkdtempSync(join(tmpdir(), 'store-commit-loop-'));
const path = join(dir, 'control-plane.db');
const store = new SqliteResourceStore({ path, views: resourceViews });
const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' };
const resource = (name) => ({
  id: `id-${name}`,
  tenant: 'default',
  name,
  fqn: `default:mcp-server:${name}`,
  manifest: { type: 'mcp-server/remote', name, description: `server ${name}`, url: `http://127.0.0.1:9/${name}/mcp`, tags: ['bench'] },
  specHash: `hash-${name}`,
  source: { kind: 'api' },
  metadata: {},
  accountId: 'default',
  createdBy: subject,
  status: initialStatus(),
});
// Warm-up, not counted.
for (let i = 0; i < 200; i++) await store.create(resource(`warm-${i}`));
commits.length = 0;
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
let next = 0;
const latencies = [];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (next < N) {
      const i = next++;
      const s = performance.now();
      await store.create(resource(`s-${i}`));
      latencies.push(performance.now() - s);
    }
  }),
);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
eld.disable();
const walBytes = statSync(`${path}-wal`).size;
await store.close();
rmSync(dir, { recursive: true, force: true });
const q = (arr, p) => {
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const commitMs = commits.reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    creates: N,
    perSecond: Math.round((N / ms) * 1000),
    p50: +q(latencies, 0.5).toFixed(2),
    p99: +q(latencies, 0.99).toFixed(2),
    cpuUsPerCreate: Math.round((cpu.user + cpu.system) / N),
    commits: commits.length,
    commitMsPerCreate: +(commitMs / N).toFixed(3),
    commitP99: +q(commits, 0.99).toFixed(2),
    commitMax: +Math.max(...commits).toFixed(2),
    loopDelayP99: +(eld.percentile(99) / 1e6).toFixed(1),
    walBytesAtEnd: walBytes,
    slowestCommits: [...commits].sort((a, b) => b - a).slice(0, 5).map((v) => +v.toFixed(1)),
  }),
);
