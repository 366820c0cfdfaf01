// A call that joined a PostgreSQL unit of work but that fn did not await: the unit's COMMIT waits for it
// (it commits with the unit), and a call still running when the unit rolls back rejects; neither ever runs
// a statement on the unit's connection once that is back in the pool (where another unit may hold it).
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource } from './conformance/fixtures.js';

const { describe } = requirePostgres();

describe('PostgreSQL: calls a unit did not await', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  let database: PostgresDatabase;
  let resources: PostgresResourceStore;
  let gateway: PostgresGatewayStore;

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    // One connection: the unit's client, once released, is the very one the next unit takes.
    database = await PostgresDatabase.open(url, { max: 1 });
    await migrate(database.pool);
    resources = await PostgresResourceStore.open({ database, views: resourceViews, clock });
    gateway = await PostgresGatewayStore.open({ database, clock });
  });
  afterEach(async () => {
    await resources.close();
    await gateway.close();
    await database.close();
  });

  /** The transaction that wrote each row (xmin): rows written by one transaction share it. */
  async function writerOf(sql: string, value: string): Promise<string | undefined> {
    const { rows } = await database.pool.query<{ xmin: string }>(sql, [value]);
    return rows[0]?.xmin;
  }

  it('an event recorded without await inside a unit commits with that unit, not in the next unit on its connection', async () => {
    let late: Promise<void> | undefined;
    const first = resources.transaction(async () => {
      await resources.create(newResource('a'));
      late = resources.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Late', message: 'not awaited', actor: 'test' });
    });
    // Waits for the one connection; rolls back.
    const next = resources.transaction(async () => {
      await resources.create(newResource('b'));
      throw new Error('the next unit fails');
    });
    await first;
    await expect(next).rejects.toThrow('the next unit fails');
    const outcome = await late!.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    const unit = await writerOf('SELECT xmin::text FROM resources WHERE fqn = $1', fqnOf('a'));
    const event = await writerOf("SELECT xmin::text FROM events WHERE resource_id = $1 AND reason = 'Late'", 'id-a');
    expect({ outcome, event }).toEqual({ outcome: 'resolved', event: unit });
    expect(await resources.get(fqnOf('b'))).toBeUndefined();
  });

  it('a gateway apply left running by a unit (a read, then a write) commits with that unit', async () => {
    let late: Promise<boolean> | undefined;
    // One level (no savepoint): rows the unit writes carry its own transaction id.
    const first = gateway.transaction(async () => {
      await gateway.apply(gatewayEntry('x'));
      late = gateway.apply(gatewayEntry('a'));
    });
    const next = gateway.transaction(async () => {
      await gateway.apply(gatewayEntry('b'));
      throw new Error('the next unit fails');
    });
    await first;
    await expect(next).rejects.toThrow('the next unit fails');
    const outcome = await late!.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    const unit = await writerOf('SELECT xmin::text FROM gateway_entries WHERE fqn = $1', fqnOf('x'));
    const entry = await writerOf('SELECT xmin::text FROM gateway_entries WHERE fqn = $1', fqnOf('a'));
    expect({ outcome, entry }).toEqual({ outcome: 'resolved', entry: unit });
  });

  it('a write left running by a unit that rolls back rejects, and writes nothing anywhere', async () => {
    let late: Promise<void> | undefined;
    const first = resources.transaction(async () => {
      await resources.create(newResource('a'));
      late = resources.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Late', message: 'not awaited', actor: 'test' });
      throw new Error('the unit fails');
    });
    const next = resources.transaction(() => resources.create(newResource('b')));
    await expect(first).rejects.toThrow('the unit fails');
    await next;
    await expect(late!).rejects.toThrow(/unit of work .* ended/);
    expect(await resources.listEvents({ resourceId: 'id-a', limit: 10 })).toEqual([]);
    expect(await resources.get(fqnOf('a'))).toBeUndefined();
  });
});
