// The store's part of an API create and of the reconcile it enqueues, on the main thread, for two builds in
// one process (so a loaded machine slows both alike): per create, what intake reads (the stored row with its
// answer texts, the admission policies' version: policy-scope-version.js over the policies' empty scope),
// the create itself (a group commit with its Created event, durability full on a fresh file, 32 creates in
// flight) and the reconcile's read of the resource (its manifest, one header secret, AES-GCM as `serve`
// seals it). Rounds alternate between the builds; each round reports the main thread's CPU per create
// (/proc/self/task/<pid>/stat, the thread pool's fsyncs excluded).
//   node bench/lib/store-put-cycle.js ROOT_A ROOT_B [ROUNDS=6] [N=3000]     ROOTs: checkouts with dist/ built
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [rootA, rootB, roundsArg = '6', nArg = '3000'] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const N = Number(nArg);
const CLIENTS = 32;
const key = randomBytes(32);

/** CPU (µs) of this process's main thread. */
function mainThreadCpuUs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
}

async function build(root) {
  const load = (p) => import(pathToFileURL(join(root, 'dist', 'src', p)).href);
  const [{ SqliteResourceStore }, { resourceViews }, { initialStatus }, { scopeVersion }, { AesGcmSecretCodec }, { policyScope }] = await Promise.all([
    load('store/sqlite/index.js'),
    load('http/resource-view.js'),
    load('domain/resource.js'),
    load('policy/policy-scope-version.js'),
    load('store/secret-codec.js'),
    load('domain/policy.js'),
  ]);
  return { root, SqliteResourceStore, resourceViews, initialStatus, scopeVersion, codec: new AesGcmSecretCodec(key), scope: policyScope('default') };
}

const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' };

async function round(b, tag) {
  const dir = mkdtempSync(join(tmpdir(), 'store-put-cycle-'));
  const store = new b.SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: b.resourceViews, secretCodec: b.codec });
  const resource = (name) => ({
    id: `id-${tag}-${name}`,
    tenant: 'default',
    name,
    fqn: `default:mcp-server:${name}`,
    manifest: {
      type: 'mcp-server/remote',
      name,
      description: `server ${name}`,
      url: `http://127.0.0.1:9/${name}/mcp`,
      tags: ['bench'],
      auth_data: { type: 'header', headers: { Authorization: `Bearer token-of-${name}` } },
    },
    specHash: `hash-${name}`,
    source: { kind: 'api' },
    metadata: {},
    accountId: 'default',
    createdBy: subject,
    status: b.initialStatus(),
  });
  const events = [{ type: 'Normal', reason: 'Created', message: 'Created from the API; generation 1.', actor: 'admin' }];
  const one = async (name) => {
    const fqn = `default:mcp-server:${name}`;
    await store.getWithAnswer(fqn);
    await b.scopeVersion(store, b.scope);
    await store.create(resource(name), { events });
    const read = await store.get(fqn);
    if (!read || !JSON.stringify(read.manifest).includes('token-of-')) throw new Error('the reconcile read lost the secret');
  };
  for (let i = 0; i < 300; i++) await one(`warm-${i}`);
  let next = 0;
  const cpu0 = mainThreadCpuUs();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => { while (next < N) await one(`s-${next++}`); }));
  const ms = performance.now() - t0;
  const cpu = mainThreadCpuUs() - cpu0;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { cpuUsPerCreate: cpu / N, perSecond: (N / ms) * 1000 };
}

const a = await build(rootA);
const b = await build(rootB);
const results = { [rootA]: [], [rootB]: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const side of r % 2 === 0 ? [a, b] : [b, a]) {
    const res = await round(side, `${r}`);
    results[side.root].push(res);
    console.log(`round ${r} ${side.root}: ${res.cpuUsPerCreate.toFixed(1)} µs main-thread CPU per create, ${Math.round(res.perSecond)} creates/s; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  }
}
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (const root of [rootA, rootB]) {
  const cpu = results[root].map((x) => x.cpuUsPerCreate);
  console.log(`${root}: median ${median(cpu).toFixed(1)} µs (range ${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)})`);
}
const ratios = results[rootB].map((x, i) => x.cpuUsPerCreate / results[rootA][i].cpuUsPerCreate);
console.log(`B / A per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
