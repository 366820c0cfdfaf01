// Writers on several pools (replicas) at once: compare-and-swap writes lose to each other cleanly (one
// wins, the other gets WriteConflictError and wrote nothing), creates of one name from two replicas
// leave one, units that write both stores in opposite orders do not deadlock, and resourceVersions stay
// one gap-free order across replicas.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { WriteConflictError } from '../../src/store/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, updateOf } from './conformance/fixtures.js';

const { describe } = requirePostgres();

interface Replica {
  name: string;
  database: PostgresDatabase;
  resources: PostgresResourceStore;
  gateway: PostgresGatewayStore;
}

describe('PostgreSQL writers on several replicas', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  let a: Replica;
  let b: Replica;

  async function replica(url: string, name: string): Promise<Replica> {
    const database = await PostgresDatabase.open(url, { max: 4, applicationName: name });
    return {
      name,
      database,
      resources: await PostgresResourceStore.open({ database, views: resourceViews, clock }),
      gateway: await PostgresGatewayStore.open({ database, clock }),
    };
  }

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    const first = await PostgresDatabase.open(url, { max: 1 });
    await migrate(first.pool);
    await first.close();
    a = await replica(url, 'replica-a');
    b = await replica(url, 'replica-b');
  });
  afterEach(async () => {
    for (const r of [a, b]) {
      await r.resources.close();
      await r.gateway.close();
      await r.database.close();
    }
  });

  it('two updates planned on one read: one wins, the other gets WriteConflictError and writes nothing', async () => {
    for (let round = 0; round < 10; round++) {
      const name = `s${round}`;
      const created = await a.resources.create(newResource(name));
      const expect_ = { expect: { resourceVersion: created.resourceVersion } };
      const outcomes = await Promise.allSettled([
        a.resources.update(fqnOf(name), updateOf(name, 2, { specHash: 'from-a' }), expect_),
        b.resources.update(fqnOf(name), updateOf(name, 2, { specHash: 'from-b' }), expect_),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(WriteConflictError);
      const stored = await b.resources.get(fqnOf(name));
      expect(stored).toEqual((won[0] as PromiseFulfilledResult<unknown>).value);
      expect((await a.resources.changesSince(created.resourceVersion, 10)).map((c) => c.type)).toEqual(['MODIFIED']);
    }
  });

  it('two creates of one name on two replicas: one wins, the other gets WriteConflictError', async () => {
    for (let round = 0; round < 10; round++) {
      const name = `n${round}`;
      const outcomes = await Promise.allSettled([
        a.resources.create(newResource(name, { id: `a-${round}` })),
        b.resources.create(newResource(name, { id: `b-${round}` })),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(lost?.reason).toBeInstanceOf(WriteConflictError);
    }
    expect(await a.resources.count()).toBe(10);
  });

  it('writes spread over replicas commit in one gap-free resourceVersion order', async () => {
    const start = await a.resources.currentResourceVersion();
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).resources.create(newResource(`w${i}`))));
    const changes = await b.resources.changesSince(start, 100);
    expect(changes.map((c) => c.resourceVersion)).toEqual(Array.from({ length: 40 }, (_, i) => start + i + 1));
    for (const c of changes) expect(c.object.resourceVersion).toBe(c.resourceVersion);
  });

  it('units that write both stores in opposite orders on two replicas both commit (no deadlock)', async () => {
    await a.resources.create(newResource('x'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let firstWritten!: () => void;
    const first = new Promise<void>((resolve) => (firstWritten = resolve));
    // Replica a: the gateway entry, then (after the gate) the resource.
    const unitA = a.resources.transaction(async () => {
      await a.gateway.apply(gatewayEntry('x'));
      firstWritten();
      await gate;
      await a.resources.update(fqnOf('x'), updateOf('x', 2));
    });
    await first;
    // Replica b: the resource, then the gateway entry. Its first write waits for replica a's unit.
    const unitB = b.resources.transaction(async () => {
      await b.resources.create(newResource('y'));
      await b.gateway.apply(gatewayEntry('y'));
    });
    await waitFor(
      async () => (await a.database.pool.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'replica-b' AND wait_event_type = 'Lock'")).rowCount,
      { what: 'replica b waiting for the writer lock' },
    );
    release();
    await Promise.all([unitA, unitB]);
    expect(await b.resources.keys()).toEqual([fqnOf('x'), fqnOf('y')]);
    expect(await a.gateway.keys()).toEqual([fqnOf('x'), fqnOf('y')]);
  });
});
