// A watch's snapshot on PostgreSQL: the resourceVersion and the objects read from one MVCC snapshot
// (REPEATABLE READ, READ ONLY), so they agree with each other, and no writer of the cluster waits for it.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource } from './conformance/fixtures.js';

const { describe } = requirePostgres();

describe('PostgreSQL snapshot', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);

  it('a snapshot held open does not make another replica\'s write wait, and reads what agrees with its position', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const { url } = await (await testPostgres()).freshSchema();
    const setup = await PostgresDatabase.open(url, { max: 1 });
    await migrate(setup.pool);
    await setup.close();
    const databases = [await PostgresDatabase.open(url, { max: 4 }), await PostgresDatabase.open(url, { max: 4 })];
    const [reader, writer] = await Promise.all(databases.map((database) => PostgresResourceStore.open({ database, views: resourceViews, clock })));
    try {
      await reader!.create(newResource('a'));
      const seen = await reader!.snapshot(async () => {
        const position = await reader!.currentResourceVersion();
        // Another replica writes meanwhile; it commits while the snapshot is open.
        let committed = false;
        void writer!.create(newResource('b')).then(() => (committed = true));
        await waitFor(() => committed, { what: "the other replica's write committed while the snapshot is open" });
        const { items } = await reader!.list({ tenant: 'default', limit: 100, offset: 0 });
        return { position, names: items.map((r) => r.name), latest: Math.max(...items.map((r) => r.resourceVersion)), again: await reader!.currentResourceVersion() };
      });
      expect(seen.names).toEqual(['a']);
      expect(seen.latest).toBeLessThanOrEqual(seen.position);
      expect(seen.again).toBe(seen.position);
      expect((await reader!.changesSince(seen.position, 10)).map((c) => c.fqn)).toEqual([fqnOf('b')]);
    } finally {
      await reader!.close();
      await writer!.close();
      for (const d of databases) await d.close();
    }
  }, 30_000);
});
