// store-reads: the CPU of the store reads behind each list route (and /metrics' counts), in one process on a
// settled data directory, without HTTP: what a request reads, apart from rendering and the event loop it
// shares. 5 rounds of 200 calls per read, the median round's CPU per call. Not part of `npm run bench`.
//   node bench/store-reads.js DATA_DIR          this checkout's dist/; BENCH_TREE=DIR another checkout's
// Prints one JSON line. Opening the store migrates an older file: run it on a copy.
import { join } from 'node:path';
import { ROOT } from './lib/common.js';
const dir = process.argv[2];
const tree = process.env.BENCH_TREE ?? ROOT;
const { SqliteResourceStore } = await import(join(tree, 'dist/src/store/sqlite/index.js'));
const { resourceViews } = await import(join(tree, 'dist/src/http/resource-view.js'));
const store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const viewer = { accounts: ['default'], subjects: ['user:viewer@example.com', 'team:shard-3'] };
const size = await store.count();
const q = { tenant: 'default', limit: 100, offset: 0 };
const figures = {
  'non-admin list': () => store.listViews({ ...q, readableBy: viewer }),
  'non-admin + selector': () => store.listViews({ ...q, readableBy: viewer, tag: { key: 'shard', value: 'shard-3' } }),
  'tag list': () => store.listViews({ ...q, tag: { key: 'shard', value: 'shard-3' } }),
  'admin list': () => store.listViews(q),
  'GAIA project list': () => store.list({ ...q, limit: Number.MAX_SAFE_INTEGER, readableBy: viewer, account: 'default' }),
  'metrics counts': () => store.readinessCounts('default'),
};
const out = { tree, size };
for (const [name, fn] of Object.entries(figures)) {
  for (let i = 0; i < 20; i++) await fn();
  const rounds = [];
  for (let r = 0; r < 5; r++) { const c = cpu(); for (let i = 0; i < 200; i++) await fn(); rounds.push((cpu() - c) / 200); }
  rounds.sort((a, b) => a - b);
  out[name] = +rounds[2].toFixed(4);
}
const total = (await store.listViews(q)).total;
out.adminTotal = total;
await store.close();
console.log(JSON.stringify(out));
