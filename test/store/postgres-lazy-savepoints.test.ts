// A nested unit's savepoint on PostgreSQL is sent with the first write inside it: a nested unit that only
// reads (a reconcile of an unchanged server, each in a nested unit of its batch) costs no round trip, and
// one that writes is still undone alone when it fails.
import pg from 'pg';
import { resourceViews } from '../../src/http/resource-view.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, readyStatus } from './conformance/fixtures.js';

const { describe } = requirePostgres();

/** Every statement text sent by a client of this process while `fn` runs. */
async function statementsOf(fn: () => Promise<void>): Promise<string[]> {
  const sent: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as string | { text?: string };
    sent.push(typeof q === 'string' ? q : (q?.text ?? ''));
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return sent;
}

const savepointStatements = (sent: string[]) => sent.filter((s) => /SAVEPOINT/.test(s));

describe('PostgreSQL: a nested unit sends its savepoint with its first write', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let database: PostgresDatabase;
  let resources: PostgresResourceStore;
  let gateway: PostgresGatewayStore;
  beforeEach(async () => {
    database = await PostgresDatabase.open((await (await testPostgres()).freshSchema()).url, { max: 2 });
    await migrate(database.pool);
    resources = await PostgresResourceStore.open({ database, views: resourceViews });
    gateway = await PostgresGatewayStore.open({ database });
    for (const name of ['a', 'b']) {
      await resources.create(newResource(name));
      await gateway.apply(gatewayEntry(name));
    }
  });
  afterEach(async () => {
    await resources.close();
    await gateway.close();
    await database.close();
  });

  it('nested units that only read send no savepoint', async () => {
    const sent = await statementsOf(() =>
      resources.transaction(async () => {
        for (const name of ['a', 'b']) {
          await resources.transaction(() =>
            gateway.transaction(async () => {
              await resources.get(fqnOf(name));
              await gateway.get(fqnOf(name));
            }),
          );
        }
      }),
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(savepointStatements(sent)).toEqual([]);
  });

  it('a nested unit that writes sends its savepoints (outer first) before the write, and releases them', async () => {
    const sent = await statementsOf(() =>
      resources.transaction(async () => {
        await resources.transaction(async () => {
          await resources.get(fqnOf('a'));
          await gateway.transaction(async () => {
            await resources.setStatus(fqnOf('a'), readyStatus(1));
          });
        });
      }),
    );
    const savepoints = savepointStatements(sent);
    expect(savepoints).toHaveLength(3);
    expect(savepoints[0]).toMatch(/^SAVEPOINT (unit_\d+); SAVEPOINT (unit_\d+)$/);
    const [, outer, inner] = /^SAVEPOINT (unit_\d+); SAVEPOINT (unit_\d+)$/.exec(savepoints[0]!)!;
    expect(savepoints.slice(1)).toEqual([`RELEASE SAVEPOINT ${inner}`, `RELEASE SAVEPOINT ${outer}`]);
    expect((await resources.get(fqnOf('a')))!.status).toEqual(readyStatus(1));
  });

  it('a nested unit that wrote and failed is undone alone; one that only read and failed undoes nothing', async () => {
    await resources.transaction(async () => {
      await expect(
        resources.transaction(async () => {
          await resources.setStatus(fqnOf('a'), readyStatus(1));
          throw new Error('this reconcile failed');
        }),
      ).rejects.toThrow('this reconcile failed');
      await expect(
        resources.transaction(async () => {
          await resources.get(fqnOf('b'));
          throw new Error('this one failed before writing');
        }),
      ).rejects.toThrow('this one failed before writing');
      await resources.setStatus(fqnOf('b'), readyStatus(1));
    });
    expect((await resources.get(fqnOf('a')))!.status).not.toEqual(readyStatus(1));
    expect((await resources.get(fqnOf('b')))!.status).toEqual(readyStatus(1));
  });
});
