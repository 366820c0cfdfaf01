// Housekeeping on PostgreSQL runs after a commit, with no caller to answer: a failure of it reaches the
// store's onError (the composition root logs it) and leaves the writes, and later ones, as they were.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, readyStatus } from './conformance/fixtures.js';

const { describe } = requirePostgres();

/** Writes per round of housekeeping: a few, so the test costs tens of round trips, not a thousand. */
const ROUND = 20;

describe('PostgreSQL housekeeping errors', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let store: PostgresResourceStore;
  const errors: Error[] = [];

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    errors.length = 0;
    store = await PostgresResourceStore.open({ database, views: resourceViews, eventMaxPerResource: 3, housekeeping: true, housekeepingEveryWrites: ROUND, onError: (err) => errors.push(err) });
  });
  afterEach(async () => {
    await store.close();
    await database.close();
  });

  it('hands a failed round to onError; the write that made it due and the next ones stand', async () => {
    await store.create(newResource('a'));
    for (let i = 0; i < ROUND - 2; i++) await store.setStatus(fqnOf('a'), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
    // The events table gone under the store: the round's prune fails.
    await database.pool.query('ALTER TABLE events RENAME TO events_elsewhere');
    await store.setStatus(fqnOf('a'), readyStatus(1, 'True'));
    await waitFor(() => errors.length > 0, { what: 'the housekeeping failure reported' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/events/);
    expect((await store.get(fqnOf('a')))?.status.conditions?.[0]?.status).toBe('True');
    await database.pool.query('ALTER TABLE events_elsewhere RENAME TO events');
    await store.setStatus(fqnOf('a'), readyStatus(1, 'False'));
    expect((await store.get(fqnOf('a')))?.status.conditions?.[0]?.status).toBe('False');
  });

  it('caps, after a round that failed, the events that round was to cap', async () => {
    await store.create(newResource('a'));
    for (let i = 0; i < 5; i++) await store.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: `Step${i}`, message: 'step', actor: 'admin' });
    for (let i = 0; i < ROUND - 7; i++) await store.setStatus(fqnOf('a'), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
    // The round's capping statement fails (after its age statement, which deletes nothing, succeeded).
    await database.pool.query(`CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are not to be deleted now'; END $$;
      CREATE TRIGGER refuse_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION refuse_delete()`);
    await store.setStatus(fqnOf('a'), readyStatus(1, 'False')); // the ROUND-th write (the last one set True)
    await waitFor(() => errors.length > 0, { what: 'the housekeeping failure reported' });
    expect(errors[0]!.message).toMatch(/not to be deleted/);
    await database.pool.query('DROP TRIGGER refuse_delete ON events');
    expect(await store.listEvents({ resourceId: 'id-a', limit: 10 })).toHaveLength(5);
    // The next round, ROUND writes later, none of them an event.
    for (let i = 0; i < ROUND; i++) await store.setStatus(fqnOf('a'), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
    await waitFor(async () => (await store.listEvents({ resourceId: 'id-a', limit: 10 })).length === 3, { timeoutMs: 20_000, what: 'the events of id-a capped at 3' });
    expect(errors).toHaveLength(1);
  });
});
