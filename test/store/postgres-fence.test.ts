// Fenced store objects: a leader's store object runs the fence at the start of every transaction that
// writes, so once its lease epoch is stale (real lease rows: another replica took over) it writes
// nothing, through any port; the API's unfenced store object over the same database writes on.
import { fence, FencedError } from '../../src/cluster/fence.js';
import { acquireLease, releaseLease, type LeaseToken } from '../../src/cluster/lease.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, readyStatus, updateOf } from './conformance/fixtures.js';

const { describe } = requirePostgres();

const LEASE = { name: 'controller', durationMs: 600_000 };

describe('fenced PostgreSQL store objects', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let api: PostgresResourceStore;
  let leader: { resources: PostgresResourceStore; gateway: PostgresGatewayStore };
  let token: LeaseToken;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  beforeEach(async () => {
    const { url } = await (await testPostgres()).freshSchema();
    database = await PostgresDatabase.open(url, { max: 4 });
    await migrate(database.pool);
    const epoch = await acquireLease(database.pool, { ...LEASE, holder: 'replica-a' });
    token = { name: LEASE.name, holder: 'replica-a', epoch: epoch! };
    const fenced = (client: Parameters<typeof fence>[0]) => fence(client, token);
    api = await PostgresResourceStore.open({ database, views: resourceViews, clock });
    leader = {
      resources: await PostgresResourceStore.open({ database, views: resourceViews, clock, fence: fenced }),
      gateway: await PostgresGatewayStore.open({ database, clock, fence: fenced }),
    };
  });
  afterEach(async () => {
    await api.close();
    await leader.resources.close();
    await leader.gateway.close();
    await database.close();
  });

  /** Another replica takes the lease over: the leader's epoch is stale from now on. */
  async function takeOver(): Promise<void> {
    expect(await releaseLease(database.pool, token)).toBe(true);
    expect(await acquireLease(database.pool, { ...LEASE, holder: 'replica-b' })).toBe(token.epoch + 1);
  }

  it('the current leader writes through every port', async () => {
    await leader.resources.create(newResource('a'));
    expect(await leader.resources.setStatus(fqnOf('a'), readyStatus(1))).toBeDefined();
    await leader.gateway.apply(gatewayEntry('a'));
    await leader.resources.transaction(() => leader.gateway.transaction(() => leader.gateway.apply(gatewayEntry('a', 2))));
    expect((await api.get(fqnOf('a')))!.status).toEqual(readyStatus(1));
    expect((await leader.gateway.get(fqnOf('a')))!.generation).toBe(2);
  });

  it('a leader whose epoch is stale writes nothing, through any port; the unfenced API store writes on', async () => {
    await api.create(newResource('a'));
    await leader.gateway.apply(gatewayEntry('a'));
    await takeOver();
    const rv = await api.currentResourceVersion();
    const attempts: [string, () => Promise<unknown>][] = [
      ['create', () => leader.resources.create(newResource('b'))],
      ['update', () => leader.resources.update(fqnOf('a'), updateOf('a', 2))],
      ['remove', () => leader.resources.remove(fqnOf('a'))],
      ['setStatus', () => leader.resources.setStatus(fqnOf('a'), readyStatus(1))],
      ['recordEvent', () => leader.resources.recordEvent({ fqn: fqnOf('a'), resourceId: 'id-a', type: 'Normal', reason: 'Late', message: 'late', actor: 'reconciler' })],
      ['recordSourceFiles', () => leader.resources.recordSourceFiles('/manifests', new Map([['a.yaml', { contentHash: 'h', names: ['a'], fingerprint: 'f' }]]))],
      ['gateway apply', () => leader.gateway.apply(gatewayEntry('a', 2))],
      ['gateway delete', () => leader.gateway.delete(fqnOf('a'))],
      ['a unit', () => leader.resources.transaction(async () => {
        await leader.resources.setStatus(fqnOf('a'), readyStatus(1));
      })],
      // An unfenced unit that a fenced store object joins is fenced from there on.
      ['joined unit', () => api.transaction(async () => {
        await api.setStatus(fqnOf('a'), readyStatus(1));
        await leader.gateway.apply(gatewayEntry('a', 3));
      })],
    ];
    for (const [what, attempt] of attempts) {
      await expect(attempt().then(() => `${what} was written`)).rejects.toThrow(FencedError);
    }
    expect(await api.currentResourceVersion()).toBe(rv);
    expect(await api.keys()).toEqual([fqnOf('a')]);
    expect((await api.get(fqnOf('a')))!.generation).toBe(1);
    expect(await api.listEvents({ limit: 10 })).toEqual([]);
    expect(await api.sourceFiles('/manifests')).toEqual([]);
    expect((await leader.gateway.get(fqnOf('a')))!.generation).toBe(1);
    // Reads are not fenced, and the API's store object over the same database is not either.
    expect(await leader.resources.count()).toBe(1);
    await api.update(fqnOf('a'), updateOf('a', 2));
    expect((await leader.resources.get(fqnOf('a')))!.generation).toBe(2);
  });
});
