// Housekeeping on PostgreSQL runs after a commit, with no caller to answer: a failure of it reaches the
// store's onError (the composition root logs it) and leaves the writes, and later ones, as they were.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, newResource, readyStatus } from './conformance/fixtures.js';

const { describe } = requirePostgres();

describe('PostgreSQL housekeeping errors', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let store: PostgresResourceStore;
  const errors: Error[] = [];

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    store = await PostgresResourceStore.open({ database, views: resourceViews, onError: (err) => errors.push(err) });
  });
  afterEach(async () => {
    await store.close();
    await database.close();
  });

  it('hands a failed round to onError; the write that made it due and the next ones stand', async () => {
    await store.create(newResource('a'));
    for (let i = 0; i < 498; i++) await store.setStatus(fqnOf('a'), readyStatus(1, i % 2 === 0 ? 'True' : 'False'));
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
});
