// reconcile-savepoints: what the savepoint around each reconcile of a batch costs (the controller's `each`,
// main.ts), in the store alone, on both engines. A batch is one unit over both stores (`batch`) of K keys;
// each key reads its resource and its gateway entry, as a reconcile of an unchanged server does (a resync),
// and, in the `write` shape, writes its status as well. Measured: this process's CPU per batch (on
// PostgreSQL also the wall time, which holds the round trips) with `each` as two nested savepoints (one
// per store object), as one, and as none. Variants alternate over a few rounds; figures are medians. On
// PostgreSQL a savepoint is sent with the first write inside it (src/store/postgres/units.ts), so the
// `read` shape measures what a savepoint that is never sent still costs.
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, SMOKE, log, tempDir } from './lib/common.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { fmt, median } from './lib/stats.js';

export const describe = 'CPU per reconcile batch with 2, 1 or 0 savepoints per key, SQLite and PostgreSQL';
export const timeoutMs = 600_000;

const S = SMOKE ? { keys: 20, batches: 5, rounds: 1 } : { keys: 50, batches: 100, rounds: 5 };
const GOAL = 'reported (ratio to no savepoint)';

async function sources() {
  register(pathToFileURL(join(ROOT, 'test', 'support', 'ts-worker-hooks.mjs')));
  const src = (path) => import(pathToFileURL(join(ROOT, path)).href);
  return {
    sqlite: await src('src/store/sqlite/index.ts'),
    postgres: await src('src/store/postgres/index.ts'),
    views: (await src('src/http/resource-view.ts')).resourceViews,
    fixtures: await src('test/store/conformance/fixtures.ts'),
  };
}

/** `each` as the variant wraps a key: two nested units (resources, then gateway), one, or none. */
const EACH = {
  two: (stores, run) => stores.store.transaction(() => stores.gateway.transaction(run)),
  one: (stores, run) => stores.store.transaction(run),
  none: (_stores, run) => run(),
};

async function measure(stores, fixtures, names, shape) {
  const variants = Object.keys(EACH);
  const seen = Object.fromEntries(variants.map((v) => [v, { cpu: [], wall: [] }]));
  let flip = 0;
  for (let r = 0; r < S.rounds; r++) {
    for (const v of variants) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let b = 0; b < S.batches; b++) {
        await stores.store.transaction(() => stores.gateway.transaction(async () => {
          for (const name of names) {
            await EACH[v](stores, async () => {
              const fqn = fixtures.fqnOf(name);
              const resource = await stores.store.get(fqn);
              await stores.gateway.get(fqn);
              if (shape === 'write') await stores.store.setStatus(fqn, fixtures.readyStatus(1, flip++ % 2 ? 'True' : 'False'), { id: resource.id, generation: resource.generation });
            });
          }
        }));
      }
      const cpu = process.cpuUsage(cpu0);
      seen[v].cpu.push((cpu.user + cpu.system) / S.batches);
      seen[v].wall.push(((performance.now() - t0) * 1000) / S.batches);
    }
  }
  return Object.fromEntries(variants.map((v) => [v, { cpuUs: median(seen[v].cpu), wallUs: median(seen[v].wall) }]));
}

export async function run() {
  const { sqlite, postgres, views, fixtures } = await sources();
  const names = Array.from({ length: S.keys }, (_, i) => `s${i}`);
  const engines = [];
  const dir = tempDir('savepoints');
  const lite = {
    store: new sqlite.SqliteResourceStore({ path: join(dir, 'control-plane.db'), views }),
    gateway: new sqlite.SqliteGatewayStore({ path: join(dir, 'gateway.db') }),
  };
  engines.push({ name: 'SQLite', stores: lite, close: async () => { await lite.store.close(); await lite.gateway.close(); } });
  const pg = await benchPostgres();
  if (pg) {
    const { url } = await pg.freshSchema();
    const database = await postgres.PostgresDatabase.open(url, { max: 4 });
    await postgres.migrate(database.pool);
    const stores = {
      store: await postgres.PostgresResourceStore.open({ database, views }),
      gateway: await postgres.PostgresGatewayStore.open({ database }),
    };
    engines.push({ name: 'PostgreSQL', stores, close: async () => { await stores.store.close(); await stores.gateway.close(); await database.close(); } });
  }
  const rows = [];
  try {
    for (const e of engines) {
      for (const name of names) {
        await e.stores.store.create(fixtures.newResource(name));
        await e.stores.gateway.apply(fixtures.gatewayEntry(name));
      }
      for (const shape of ['read', 'write']) {
        const m = await measure(e.stores, fixtures, names, shape);
        log(`${e.name} ${shape}: ${Object.entries(m).map(([v, x]) => `${v} ${fmt(x.cpuUs)} µs CPU, ${fmt(x.wallUs)} µs wall`).join('; ')}`);
        for (const v of ['two', 'one']) {
          rows.push({
            figure: `reconcile-savepoints ${e.name} ${shape} (${v})`,
            measured: `${fmt(m[v].cpuUs)} µs CPU, ${fmt(m[v].wallUs)} µs wall per batch`,
            baseline: `none ${fmt(m.none.cpuUs)} µs CPU, ${fmt(m.none.wallUs)} µs wall`,
            ratio: m[v].cpuUs / m.none.cpuUs,
            goal: GOAL,
            met: undefined,
            note: `${S.keys} keys per batch (${shape === 'read' ? 'reads only, an unchanged resync' : 'a status write each'}); ${v === 'two' ? 'a savepoint per store object (as main.ts had it)' : 'one savepoint'}; this process's CPU; wall ratio ${(m[v].wallUs / m.none.wallUs).toFixed(2)}×`,
          });
        }
      }
    }
  } finally {
    for (const e of engines) await e.close();
  }
  return pg ? rows : [...rows, ...skippedRows(['reconcile-savepoints PostgreSQL'], GOAL)];
}
