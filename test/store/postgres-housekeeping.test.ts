// Housekeeping on PostgreSQL: after every round of writes of a store object (housekeepingEveryWrites: 500
// by default, ROUND here), the changelog is pruned to what retention keeps (at least the newest N entries,
// and every entry younger than the minimum age) and events are capped per resource and dropped past their
// age; it runs after the commit, by itself.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, readyStatus } from './conformance/fixtures.js';

const { describe } = requirePostgres();

/** Writes per round of housekeeping: a few, so the test costs tens of round trips, not a thousand. */
const ROUND = 30;

describe('PostgreSQL housekeeping', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let store: PostgresResourceStore;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    store = await PostgresResourceStore.open({
      database,
      views: resourceViews,
      clock,
      changelogMinEntries: 10,
      changelogMinAgeMs: 60_000,
      eventMaxAgeMs: 3_600_000,
      eventMaxPerResource: 3,
      housekeeping: true,
      housekeepingEveryWrites: ROUND,
    });
  });
  afterEach(async () => {
    await store.close();
    await database.close();
  });

  it('prunes the changelog to the newest entries once they are old enough, and caps and ages out events', async () => {
    await store.create(newResource('a'));
    await store.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-old', type: 'Normal', reason: 'Old', message: 'old', actor: 'admin' });
    clock.advance(2 * 3_600_000);
    // A round but one of writes (the create and the old event included): status flips and events of other reasons.
    for (let i = 0; i < 15; i++) await store.setStatus(fqnOf('a'), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
    const steps = ROUND - 1 - 17;
    for (let i = 0; i < steps; i++) {
      await store.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: `Step${i}`, message: 'step', actor: 'admin' });
    }
    const rv = await store.currentResourceVersion();
    expect(await store.oldestRetainedResourceVersion()).toBe(1);
    expect((await store.listEvents({ limit: 1000 })).length).toBe(steps + 1);
    // Entries written now are younger than the minimum age: the round's last write prunes only the old ones.
    await store.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Last', message: 'last', actor: 'admin' });
    await waitFor(async () => (await store.listEvents({ limit: 1000 })).length === 3, { what: 'events capped at 3 and the old one dropped' });
    expect((await store.listEvents({ limit: 10 })).map((e) => e.reason)).toEqual([`Step${steps - 2}`, `Step${steps - 1}`, 'Last']);
    expect(await store.oldestRetainedResourceVersion()).toBe(2);
    expect((await store.changesSince(0, 1000)).length).toBe(rv - 1);
    // The next round: only the resources with new events are capped (an indexed delete each).
    for (let i = 0; i < ROUND; i++) {
      await store.recordEvent({ fqn: fqnOf('b'), resourceId: 'id-b', type: 'Warning', reason: `Retry${i}`, message: 'retry', actor: 'reconciler' });
    }
    await waitFor(async () => (await store.listEvents({ resourceId: 'id-b', limit: 1000 })).length === 3, { what: 'the events of id-b capped at 3' });
    expect((await store.listEvents({ resourceId: 'id-b', limit: 10 })).map((e) => e.reason)).toEqual([`Retry${ROUND - 3}`, `Retry${ROUND - 2}`, `Retry${ROUND - 1}`]);
    expect(await store.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(3);
  });
});
