// Word of other replicas' commits on PostgreSQL: LISTEN/NOTIFY wakes ChangeLog.onWrite listeners and
// GatewayReader.watch listeners of another replica (and of another store object of the same one), moves
// its externalRevision without a read, never twice for a store object's own writes; and a LISTEN
// connection ended by the server (pg_terminate_backend) is replaced while the counters are polled meanwhile.
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { Notifications } from '../../src/store/postgres/notifications.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, readyStatus } from './conformance/fixtures.js';

const { describe } = requirePostgres();

interface Replica {
  database: PostgresDatabase;
  resources: PostgresResourceStore;
  gateway: PostgresGatewayStore;
  /** What its listeners heard: one 'write' per onWrite call, the fqn per watch call. */
  heard: string[];
  errors: Error[];
}

describe('PostgreSQL LISTEN/NOTIFY between replicas', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const opened: Replica[] = [];
  let url: string;

  async function replica(name: string, database?: PostgresDatabase): Promise<Replica> {
    const errors: Error[] = [];
    database ??= await PostgresDatabase.open(url, { max: 4, applicationName: name, fallbackPollMs: 50, onError: (err) => errors.push(err) });
    const r: Replica = {
      database,
      resources: await PostgresResourceStore.open({ database, views: resourceViews, clock }),
      gateway: await PostgresGatewayStore.open({ database, clock }),
      heard: [],
      errors,
    };
    r.resources.onWrite(() => r.heard.push('write'));
    r.gateway.watch((fqn) => r.heard.push(fqn));
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
    const databases = new Set<PostgresDatabase>();
    for (const r of opened.splice(0)) {
      await r.resources.close();
      await r.gateway.close();
      databases.add(r.database);
    }
    for (const d of databases) await d.close();
  });

  it('another replica hears each commit, its gateway writes by name, without reading anything', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    const revision = b.gateway.externalRevision();
    await a.resources.create(newResource('x'));
    await waitFor(() => b.heard.includes('write'), { what: "b hears a's resource write" });
    await a.gateway.apply(gatewayEntry('x'));
    await waitFor(() => b.heard.includes(fqnOf('x')), { what: "b hears a's gateway write" });
    expect(b.gateway.externalRevision()).not.toBe(revision);
    // A unit of both stores: heard once it commits.
    const before = b.heard.length;
    await a.resources.transaction(async () => {
      await a.resources.setStatus(fqnOf('x'), readyStatus(1));
      await a.gateway.delete(fqnOf('x'));
    });
    await waitFor(() => b.heard.slice(before).includes(fqnOf('x')) && b.heard.slice(before).includes('write'), { what: "b hears a's unit" });
  });

  it('a store object hears its own writes once (at its commit), and others\' by NOTIFY', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    const revision = a.gateway.externalRevision();
    await a.resources.create(newResource('x'));
    await a.gateway.apply(gatewayEntry('x'));
    expect(a.heard).toEqual(['write', fqnOf('x')]);
    // Notifications reach a listener in commit order: once a hears b's later write, it has had its own
    // notifications too, and ignored them.
    await b.gateway.apply(gatewayEntry('y'));
    await waitFor(() => a.heard.includes(fqnOf('y')), { what: "a hears b's write" });
    expect(a.heard).toEqual(['write', fqnOf('x'), fqnOf('y')]);
    expect(a.gateway.externalRevision()).toBe(revision + 1);
  });

  it('store objects of one replica hear each other (a leader\'s and the API\'s over one database)', async () => {
    const api = await replica('replica-a');
    const leader = await replica('replica-a', api.database);
    await leader.resources.setStatus(fqnOf('missing'), readyStatus(1));
    await leader.resources.create(newResource('x'));
    await leader.gateway.apply(gatewayEntry('x'));
    await waitFor(() => api.heard.includes('write') && api.heard.includes(fqnOf('x')), { what: "the API store hears the leader store's writes" });
  });

  it('a LISTEN connection ended by the server is replaced; meanwhile the counters are polled', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    const admin = a.database.pool;
    const listener = async () =>
      (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'replica-b (listen)'")).rows[0]?.pid;
    const first = await waitFor(listener, { what: "b's LISTEN connection" });
    await admin.query('SELECT pg_terminate_backend($1)', [first]);
    await waitFor(() => !b.database.notifications.listening || (b.errors.length > 0), { what: 'b notices the lost connection' });
    // Whether b hears a write now by the poll or by its new connection, it hears it.
    const revision = b.gateway.externalRevision();
    await a.resources.create(newResource('x'));
    await a.gateway.apply(gatewayEntry('x'));
    await waitFor(() => b.heard.includes('write') && b.gateway.externalRevision() !== revision, { what: "b hears a's writes while reconnecting" });
    // A new LISTEN connection, and by NOTIFY again: a gateway write by name (a poll cannot tell names).
    const second = await waitFor(async () => b.database.notifications.listening && (await listener()), { what: "b's new LISTEN connection" });
    expect(second).not.toBe(first);
    await a.gateway.apply(gatewayEntry('y'));
    await waitFor(() => b.heard.includes(fqnOf('y')), { what: "b hears a's gateway write by NOTIFY again" });
    expect(b.errors.length).toBeGreaterThan(0);
  });

  it('while no LISTEN connection can be had, the counters are polled, failures go to onError, and nothing throws', async () => {
    const a = await replica('replica-a');
    const errors: Error[] = [];
    const polled: number[] = [];
    const notifications = new Notifications({
      url: 'postgresql://postgres@127.0.0.1:1/postgres',
      pool: a.database.pool,
      channel: a.database.channel,
      applicationName: 'unreachable (listen)',
      pollMs: 20,
      connectTimeoutMs: 1000,
      onError: (err) => errors.push(err),
    });
    notifications.subscribe('observer', { notified: () => {}, polled: (counters) => polled.push(counters.get('resource_version')!) });
    try {
      await notifications.start();
      expect(notifications.listening).toBe(false);
      const created = await a.resources.create(newResource('x'));
      await waitFor(() => polled.includes(created.resourceVersion), { what: 'a poll that sees the write' });
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await notifications.close();
    }
  });

  it('after a PostgreSQL restart, both replicas write again and hear each other by NOTIFY', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    await (await testPostgres()).restart('fast');
    await waitFor(() => b.database.notifications.listening && a.database.notifications.listening, { what: 'both listening again', timeoutMs: 30_000 });
    // The pools drop the connections the restart ended; a write may need another try while they notice.
    await waitFor(async () => a.gateway.apply(gatewayEntry('x')).then(() => true, () => false), { what: "a's first write after the restart" });
    await waitFor(() => b.heard.includes(fqnOf('x')), { what: "b hears a's gateway write" });
    await b.resources.create(newResource('y'));
    await waitFor(() => a.heard.includes('write'), { what: "a hears b's write" });
  }, 60_000);
});
