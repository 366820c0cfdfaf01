// Housekeeping on PostgreSQL is leader work: a store object without the option (an API replica's) never
// prunes, however many rounds of writes (housekeepingEveryWrites, ROUND here) it makes; the one with it
// (the leader's) does.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource } from './conformance/fixtures.js';

const { describe } = requirePostgres();

/** Writes per round of housekeeping: a few, so the test costs tens of round trips, not a thousand. */
const ROUND = 20;

describe('PostgreSQL housekeeping is the leader\'s', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);

  it('an API store object\'s rounds of writes prune nothing; the leader\'s do', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const { url } = await (await testPostgres()).freshSchema();
    const database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    const retention = { changelogMinEntries: 10, changelogMinAgeMs: 60_000, eventMaxAgeMs: 3_600_000, eventMaxPerResource: 3, housekeepingEveryWrites: ROUND };
    const api = await PostgresResourceStore.open({ database, views: resourceViews, clock, ...retention });
    try {
      await api.create(newResource('a'));
      for (let i = 0; i < 2 * ROUND + 10; i++) {
        await api.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: `Step${i}`, message: 'step', actor: 'admin' });
      }
    } finally {
      // Waits for housekeeping it may have started.
      await api.close();
    }
    const leader = await PostgresResourceStore.open({ database, views: resourceViews, clock, ...retention, housekeeping: true });
    try {
      expect((await leader.listEvents({ resourceId: 'id-a', limit: 1000 })).length).toBe(2 * ROUND + 10);
      for (let i = 0; i < ROUND; i++) {
        await leader.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: `Leader${i}`, message: 'step', actor: 'reconciler' });
      }
      await waitFor(async () => (await leader.listEvents({ resourceId: 'id-a', limit: 1000 })).length === 3, { what: 'events capped at 3 by the leader' });
    } finally {
      await leader.close();
      await database.close();
    }
  });
});
