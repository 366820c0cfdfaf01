// The gateway entry's write is a compare-and-swap on the entry the caller read (GatewayWriter.apply), on
// PostgreSQL where an out-of-band edit of gateway_entries can commit between a reconcile's read and its
// write (it takes no writer lock): the write then throws WriteConflictError and leaves the edit stored, so
// the reconcile reads again and sees (and records) the drift instead of overwriting it unseen.
import pg from 'pg';
import { gatewayEntryHash, type GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { migrate, PostgresDatabase, PostgresGatewayStore } from '../../src/store/postgres/index.js';
import { WriteConflictError } from '../../src/store/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry } from './conformance/fixtures.js';

const { describe } = requirePostgres();

describe('PostgreSQL gateway store: apply is a compare-and-swap on the entry read', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  let database: PostgresDatabase;
  let gateway: PostgresGatewayStore;
  /** Another connection, as an operator's psql: autocommit statements, no writer lock. */
  let outOfBand: pg.Client;

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    gateway = await PostgresGatewayStore.open({ database, clock });
    outOfBand = new pg.Client({ connectionString: url });
    await outOfBand.connect();
  });
  afterEach(async () => {
    await outOfBand.end();
    await gateway.close();
    await database.close();
  });

  const changed = (entry: GatewayEntry): GatewayEntry => ({ ...entry, upstreamUrl: 'https://a.example.com/v2/mcp' });
  const known = async (entry: GatewayEntry) => ({ hash: gatewayEntryHash(entry), current: await gateway.get(entry.fqn) });
  const storedUrl = async () => (await outOfBand.query<{ url: string }>("SELECT config::json->>'upstreamUrl' AS url FROM gateway_entries WHERE fqn = $1", [fqnOf('a')])).rows[0]?.url;

  it('an entry edited between the read and the write: WriteConflictError, and the edit stays stored', async () => {
    await gateway.apply(gatewayEntry('a'));
    const desired = changed(gatewayEntry('a'));
    await expect(
      gateway.transaction(async () => {
        const read = await known(desired);
        await outOfBand.query(`UPDATE gateway_entries SET config = jsonb_set(config::jsonb, '{upstreamUrl}', '"http://127.0.0.1:6666/evil"')::text`);
        await gateway.apply(desired, read);
      }),
    ).rejects.toThrow(WriteConflictError);
    expect(await storedUrl()).toBe('http://127.0.0.1:6666/evil');
    // Read again, the edit shows as drift, and the write goes through.
    const read = await known(desired);
    expect(read.current!.writtenHash).not.toBe(read.current!.configHash);
    expect(await gateway.apply(desired, read)).toBe(true);
    expect(await storedUrl()).toBe(desired.upstreamUrl);
  });

  it('an entry removed between the read and the write: WriteConflictError, nothing written', async () => {
    await gateway.apply(gatewayEntry('a'));
    const desired = changed(gatewayEntry('a'));
    const read = await known(desired);
    await outOfBand.query('DELETE FROM gateway_entries');
    await expect(gateway.apply(desired, read)).rejects.toThrow(WriteConflictError);
    expect(await gateway.get(fqnOf('a'))).toBeUndefined();
  });

  it('an entry read as absent that another wrote meanwhile: WriteConflictError, the other entry stays', async () => {
    const desired = gatewayEntry('a');
    const read = await known(desired);
    expect(read.current).toBeUndefined();
    await gateway.apply(changed(desired));
    await expect(gateway.apply(desired, read)).rejects.toThrow(WriteConflictError);
    expect(await storedUrl()).toBe(changed(desired).upstreamUrl);
  });

  it('an entry unchanged since the read is written, as is one its caller copied while it is still stored so', async () => {
    await gateway.apply(gatewayEntry('a'));
    const read = await known(changed(gatewayEntry('a')));
    expect(await gateway.apply(changed(gatewayEntry('a')), read)).toBe(true);
    expect(await storedUrl()).toBe(changed(gatewayEntry('a')).upstreamUrl);
    // A copy: not an object this store answered, compared with the stored entry as it is now.
    const copy = { ...(await gateway.get(fqnOf('a')))! };
    expect(await gateway.apply(gatewayEntry('a'), { hash: gatewayEntryHash(gatewayEntry('a')), current: copy })).toBe(true);
    // A copy of what is no longer stored.
    await expect(gateway.apply(gatewayEntry('a', 2), { hash: gatewayEntryHash(gatewayEntry('a', 2)), current: copy })).rejects.toThrow(WriteConflictError);
    expect((await gateway.get(fqnOf('a')))!.generation).toBe(1);
  });
});
