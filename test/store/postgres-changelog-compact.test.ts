// The PostgreSQL changelog keeps what SQLite's keeps (change-rows.ts): a status write's entry is its
// status alone, read back as the whole resource on the full entry before it, and pruning never drops the
// full entry a kept status entry is read from: resuming a watch answers the same objects as before.
import type { ResourceStatus } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, readyStatus, updateOf } from './conformance/fixtures.js';

const { describe } = requirePostgres();

const statusNo = (i: number): ResourceStatus => ({ ...readyStatus(1), conditions: [{ ...readyStatus(1).conditions[0]!, message: `status ${i}` }] });

describe('the PostgreSQL changelog', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  const stores: PostgresResourceStore[] = [];
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  async function open(options: Partial<Parameters<typeof PostgresResourceStore.open>[0]> = {}): Promise<PostgresResourceStore> {
    const store = await PostgresResourceStore.open({ database, views: resourceViews, clock, ...options });
    stores.push(store);
    return store;
  }

  async function rawRows(): Promise<{ resource_version: number; fqn: string; type: string; object: string }[]> {
    return (await database.pool.query('SELECT resource_version, fqn, type, object FROM changelog ORDER BY resource_version')).rows;
  }

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await database.close();
  });

  it('stores a status write as its status alone and answers it as the whole resource', async () => {
    const store = await open();
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    const afterEach: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await store.setStatus(fqnOf('a'), statusNo(i));
      afterEach.push(await store.get(fqnOf('a')));
    }
    await store.update(fqnOf('a'), updateOf('a', 2));
    await store.setStatus(fqnOf('a'), statusNo(9));
    const rows = await rawRows();
    expect(rows.map((r) => r.type)).toEqual(['ADDED', 'ADDED', 'STATUS', 'STATUS', 'STATUS', 'MODIFIED', 'STATUS']);
    // A status entry holds the status, not the manifest: its bytes are the status's.
    expect(rows[2]!.object).toBe(JSON.stringify(statusNo(0)));
    const changes = await store.changesSince(0, 100);
    const added = changes[0]!.object;
    for (let i = 0; i < 3; i++) {
      const c = changes[2 + i]!;
      // The resource as stored after that write (the manifest masked, as every changelog object is).
      expect(c.object).toEqual({ ...added, resourceVersion: c.resourceVersion, status: statusNo(i) });
      expect(c.object.status).toEqual((afterEach[i] as { status: unknown }).status);
      expect(c.type).toBe('MODIFIED');
    }
    // After an update the status entry is read from the update's entry (generation 2).
    expect(changes[6]!.object).toEqual({ ...changes[5]!.object, resourceVersion: changes[6]!.resourceVersion, status: statusNo(9) });
    expect(changes[6]!.object.generation).toBe(2);
    // A page that starts at a status entry finds its full entry before the page.
    expect(await store.changesSince(changes[2]!.resourceVersion, 2)).toEqual(changes.slice(3, 5));
    expect(await store.changesSince(changes[5]!.resourceVersion, 1)).toEqual(changes.slice(6, 7));
  });

  it('writes out the first kept status entry of a resource whose full entry is pruned, so resuming answers the same objects', async () => {
    const store = await open({ changelogMinEntries: 20, changelogMinAgeMs: 0, housekeeping: true, housekeepingEveryWrites: 50 });
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    const write = async (i: number) => {
      clock.advance(1000);
      await store.setStatus(fqnOf(i % 2 === 0 ? 'a' : 'b'), statusNo(i));
    };
    // What a watch was answered for every version, before anything was pruned: housekeeping runs after
    // the 50th write (the last status write below).
    for (let i = 0; i < 47; i++) await write(i);
    expect(await store.oldestRetainedResourceVersion()).toBe(1);
    const seen = new Map((await store.changesSince(0, 1000)).map((c) => [c.resourceVersion, c.object]));
    await write(47);
    await waitFor(async () => (await store.oldestRetainedResourceVersion()) > 2, { what: 'both ADDED entries pruned' });
    const oldest = await store.oldestRetainedResourceVersion();
    const rows = await rawRows();
    const firstOf = (fqn: string) => rows.find((r) => r.fqn === fqn)!;
    // The first kept entry of each resource is full again; the ones after it stay status only.
    expect(firstOf(fqnOf('a')).type).toBe('MODIFIED');
    expect(firstOf(fqnOf('b')).type).toBe('MODIFIED');
    expect(rows.filter((r) => r.type === 'STATUS').length).toBe(rows.length - 2);
    // Resuming from the oldest kept version answers what was answered for those versions before the prune.
    const resumed = await store.changesSince(oldest - 1, 1000);
    expect(resumed.length).toBe(rows.length);
    for (const c of resumed.slice(0, -1)) expect(c.object).toEqual(seen.get(c.resourceVersion));
    // Write i has resourceVersion 3 + i: the last (47, b's) is read on b's entry before it (45).
    expect(resumed.at(-1)!.object).toEqual({ ...(seen.get(48) as object), resourceVersion: 50, status: statusNo(47) });
  });
});
