// Units of work on PostgreSQL: a unit spans every store object over one database (the resource store and
// the gateway store commit together, or not at all), a nested unit is a savepoint, a refused write leaves
// the unit usable, and a call made from a unit's context after it ended runs by itself.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { WriteConflictError } from '../../src/store/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, readyStatus, updateOf } from './conformance/fixtures.js';

const { describe } = requirePostgres();

interface Replica {
  database: PostgresDatabase;
  resources: PostgresResourceStore;
  gateway: PostgresGatewayStore;
}

describe('PostgreSQL units of work', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const opened: Replica[] = [];
  let url: string;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  async function replica(): Promise<Replica> {
    const database = await PostgresDatabase.open(url, { max: 4 });
    const r = {
      database,
      resources: await PostgresResourceStore.open({ database, views: resourceViews, clock }),
      gateway: await PostgresGatewayStore.open({ database, clock }),
    };
    opened.push(r);
    return r;
  }

  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    const database = await PostgresDatabase.open(url, { max: 1 });
    await migrate(database.pool);
    await database.close();
  });
  afterEach(async () => {
    for (const r of opened.splice(0)) {
      await r.resources.close();
      await r.gateway.close();
      await r.database.close();
    }
  });

  it('a unit over both stores is one transaction: another replica sees none of it until it commits, then all of it', async () => {
    const { resources, gateway } = await replica();
    const other = await replica();
    await resources.create(newResource('a'));
    const heard: string[] = [];
    gateway.watch((fqn) => heard.push(fqn));
    await resources.transaction(() =>
      gateway.transaction(async () => {
        await resources.setStatus(fqnOf('a'), readyStatus(1));
        await gateway.apply(gatewayEntry('a'));
        // Inside: this unit reads its own writes; the other replica reads neither.
        expect((await resources.get(fqnOf('a')))!.status).toEqual(readyStatus(1));
        expect(await gateway.get(fqnOf('a'))).toBeDefined();
        expect(await other.gateway.get(fqnOf('a'))).toBeUndefined();
        expect((await other.resources.get(fqnOf('a')))!.status).not.toEqual(readyStatus(1));
        expect(heard).toEqual([]);
      }),
    );
    expect(heard).toEqual([fqnOf('a')]);
    expect((await other.resources.get(fqnOf('a')))!.status).toEqual(readyStatus(1));
    expect((await other.gateway.get(fqnOf('a')))!.headers).toEqual(gatewayEntry('a').headers);
  });

  it('a unit over both stores that fails leaves neither write, and announces nothing', async () => {
    const { resources, gateway } = await replica();
    const created = await resources.create(newResource('a'));
    const rv = await resources.currentResourceVersion();
    const heard: string[] = [];
    let woken = 0;
    gateway.watch((fqn) => heard.push(fqn));
    resources.onWrite(() => woken++);
    await expect(
      resources.transaction(() =>
        gateway.transaction(async () => {
          await resources.setStatus(fqnOf('a'), readyStatus(1));
          await gateway.apply(gatewayEntry('a'));
          throw new Error('the reconcile failed');
        }),
      ),
    ).rejects.toThrow('the reconcile failed');
    expect(await gateway.get(fqnOf('a'))).toBeUndefined();
    expect(await resources.get(fqnOf('a'))).toEqual(created);
    expect(await resources.currentResourceVersion()).toBe(rv);
    expect(heard).toEqual([]);
    expect(woken).toBe(0);
  });

  it('a nested unit that fails undoes only its own writes (a savepoint), and gives its resourceVersions back', async () => {
    const { resources, gateway } = await replica();
    const heard: string[] = [];
    gateway.watch((fqn) => heard.push(fqn));
    const start = await resources.currentResourceVersion();
    await resources.transaction(async () => {
      await resources.create(newResource('a'));
      await expect(
        resources.transaction(async () => {
          await resources.create(newResource('b'));
          await gateway.apply(gatewayEntry('b'));
          throw new Error('this file is refused');
        }),
      ).rejects.toThrow('this file is refused');
      await resources.create(newResource('c'));
      await gateway.apply(gatewayEntry('c'));
    });
    expect(await resources.keys()).toEqual([fqnOf('a'), fqnOf('c')]);
    expect(await gateway.keys()).toEqual([fqnOf('c')]);
    expect(heard).toEqual([fqnOf('c')]);
    const versions = (await resources.changesSince(start, 10)).map((c) => c.resourceVersion);
    expect(versions).toEqual([start + 1, start + 2]);
  });

  it('a write refused inside a unit (compare-and-swap) leaves the unit usable: the writer reads again and writes', async () => {
    const { resources } = await replica();
    const other = await replica();
    const created = await resources.create(newResource('a'));
    await resources.transaction(async () => {
      const read = await resources.get(fqnOf('a'));
      expect(read!.resourceVersion).toBe(created.resourceVersion);
      // Another replica updates it meanwhile; this unit's update, planned on the older read, is refused.
      await other.resources.update(fqnOf('a'), updateOf('a', 2));
      await expect(resources.update(fqnOf('a'), updateOf('a', 2), { expect: { resourceVersion: read!.resourceVersion } })).rejects.toThrow(WriteConflictError);
      await expect(resources.create(newResource('a', { id: 'id-other' }))).rejects.toThrow(WriteConflictError);
      const again = await resources.get(fqnOf('a'));
      await resources.update(fqnOf('a'), updateOf('a', 3), { expect: { resourceVersion: again!.resourceVersion } });
    });
    expect((await other.resources.get(fqnOf('a')))!.generation).toBe(3);
  });

  it('a call made from a unit\'s context after the unit ended runs by itself, and commits', async () => {
    const { resources } = await replica();
    let late: Promise<unknown> | undefined;
    const scheduled = new Promise<void>((resolve) => {
      void resources.transaction(async () => {
        await resources.create(newResource('a'));
        setImmediate(() => {
          late = resources.create(newResource('b'));
          resolve();
        });
      });
    });
    await scheduled;
    await late;
    const other = await replica();
    await waitFor(async () => (await other.resources.keys()).length === 2, { what: 'both creates committed' });
  });
});
