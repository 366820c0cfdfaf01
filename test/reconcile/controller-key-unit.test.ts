// Each reconcile of a batch runs in a nested unit of its own (a savepoint of the batch's unit), on both
// engines: a key whose reconcile fails (here its gateway write fails in the database) undoes only its own
// writes, and the other keys of the batch commit. On PostgreSQL a failed statement aborts the transaction
// until its savepoint is rolled back, so without one every later key of the batch would fail too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Controller, type ReconcileOutcome } from '../../src/reconcile/controller.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import type { GatewayStore } from '../../src/store/gateway-store.js';
import type { ResourceStore } from '../../src/store/resource-store.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';
import { fqnOf, gatewayEntry, newResource, readyStatus } from '../store/conformance/fixtures.js';

interface Stores {
  resources: ResourceStore;
  gateway: GatewayStore;
}

/** An entry the database refuses (NOT NULL generation): a statement that fails in SQL, not in TypeScript. */
const refusedEntry = (name: string): GatewayEntry => ({ ...gatewayEntry(name), generation: null as unknown as number });

/**
 * K then L in one batch (one worker, both ready in the same turn): K writes its status, then its gateway
 * write fails; L writes its status and gateway entry. `other` reads only what committed.
 */
async function oneBatchWithAFailingKey(stores: Stores, other: Stores): Promise<void> {
  const clock = new FakeClock(10_000);
  const queue = new WorkQueue({ clock, baseDelayMs: 100_000, maxDelayMs: 100_000 });
  const outcomes: ReconcileOutcome[] = [];
  let batches = 0;
  const before = await other.resources.get(fqnOf('k'));
  const controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => [],
    reconcile: async (key) => {
      await stores.resources.setStatus(fqnOf(key), readyStatus(1));
      await stores.gateway.apply(key === 'k' ? refusedEntry(key) : gatewayEntry(key));
    },
    queue,
    clock,
    batch: async (run) => {
      batches++;
      await stores.resources.transaction(() => stores.gateway.transaction(run));
    },
    each: (run) => stores.resources.transaction(() => stores.gateway.transaction(run)),
    // Long enough that k and l share one batch however busy the machine is.
    batchMs: 600_000,
    onOutcome: (o) => void outcomes.push(o),
  });
  controller.start();
  try {
    queue.add('k');
    queue.add('l');
    await waitFor(() => outcomes.length === 2, { what: 'the outcomes of k and l' });
  } finally {
    await controller.stop();
  }
  expect(batches).toBe(1);
  expect(outcomes.map((o) => [o.key, o.result])).toEqual([
    ['k', 'error'],
    ['l', 'success'],
  ]);
  expect((await other.resources.get(fqnOf('l')))!.status).toEqual(readyStatus(1));
  expect(await other.gateway.get(fqnOf('l'))).toBeDefined();
  // K's status write went with its savepoint.
  expect(await other.resources.get(fqnOf('k'))).toEqual(before);
  expect(await other.gateway.get(fqnOf('k'))).toBeUndefined();
}

describe('SQLite: a failing key of a batch', () => {
  let dir: string;
  const opened: Stores[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) {
      await s.resources.close();
      await s.gateway.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
  function open(): Stores {
    const s = {
      resources: new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews }),
      gateway: new SqliteGatewayStore({ path: join(dir, 'gateway.db') }),
    };
    opened.push(s);
    return s;
  }

  it('rolls back only its own writes; the rest of the batch commits', async () => {
    dir = mkdtempSync(join(tmpdir(), 'controller-key-unit-'));
    const stores = open();
    const other = open();
    await stores.resources.create(newResource('k'));
    await stores.resources.create(newResource('l'));
    await oneBatchWithAFailingKey(stores, other);
  });
});

const { describe: describePostgres } = requirePostgres();

describePostgres('PostgreSQL: a failing key of a batch', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const opened: (Stores & { database: PostgresDatabase })[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) {
      await s.resources.close();
      await s.gateway.close();
      await s.database.close();
    }
  });
  async function open(url: string): Promise<Stores> {
    const database = await PostgresDatabase.open(url, { max: 4 });
    const s = {
      database,
      resources: await PostgresResourceStore.open({ database, views: resourceViews }),
      gateway: await PostgresGatewayStore.open({ database }),
    };
    opened.push(s);
    return s;
  }

  it('rolls back only its own writes (a SQL error aborts only its savepoint); the rest of the batch commits', async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const database = await PostgresDatabase.open(url, { max: 1 });
    await migrate(database.pool);
    await database.close();
    const stores = await open(url);
    const other = await open(url);
    await stores.resources.create(newResource('k'));
    await stores.resources.create(newResource('l'));
    await oneBatchWithAFailingKey(stores, other);
  });
});

describe('SQLite: a key that answers its failure', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the status it wrote (answered `failed`, not thrown), reports the error, and runs `committed` after the commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'controller-key-failed-'));
    const resources = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
    const other = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
    await resources.create(newResource('k'));
    const clock = new FakeClock(10_000);
    const queue = new WorkQueue({ clock, baseDelayMs: 100_000, maxDelayMs: 100_000 });
    const outcomes: ReconcileOutcome[] = [];
    const seenWhenCommitted: unknown[] = [];
    const controller = new Controller({
      name: 'test',
      workers: 1,
      resyncIntervalMs: 0,
      listKeys: () => [],
      reconcile: async (key) => {
        await resources.setStatus(fqnOf(key), readyStatus(1, 'False'));
        return {
          failed: new Error('the server is unreachable'),
          committed: () => void other.get(fqnOf(key)).then((r) => seenWhenCommitted.push(r?.status)),
        };
      },
      queue,
      clock,
      batch: (run) => resources.transaction(run),
      each: (run) => resources.transaction(run),
      onOutcome: (o) => void outcomes.push(o),
    });
    controller.start();
    try {
      queue.add('k');
      await waitFor(() => outcomes.length === 1 && seenWhenCommitted.length === 1, { what: 'the outcome of k' });
    } finally {
      await controller.stop();
    }
    expect(outcomes[0]).toMatchObject({ key: 'k', result: 'error' });
    expect(outcomes[0]?.error?.message).toBe('the server is unreachable');
    expect(seenWhenCommitted).toEqual([readyStatus(1, 'False')]);
    expect((await other.get(fqnOf('k')))!.status).toEqual(readyStatus(1, 'False'));
    await resources.close();
    await other.close();
  });
});
