// The store conformance suite on PostgreSQL: both stores over one database in a fresh schema per engine
// (migrated), and a second PostgresDatabase (another pool and LISTEN connection) as another replica.
import { resourceViews } from '../../../src/http/resource-view.js';
import { migrate, PostgresCredentialStore, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../../src/store/postgres/index.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../../support/postgres.js';
import type { StoreConnection, StoreEngineFactory } from './engine.js';
import { describeStoreConformance } from './suite.js';

const postgres: StoreEngineFactory = {
  name: 'postgres',
  async open(options) {
    const { url } = await (await testPostgres()).freshSchema();
    const databases: PostgresDatabase[] = [];
    const connections: StoreConnection[] = [];
    const connect = async (): Promise<StoreConnection> => {
      const database = await PostgresDatabase.open(url, { max: 4 });
      databases.push(database);
      if (databases.length === 1) await migrate(database.pool);
      const connection = {
        resources: await PostgresResourceStore.open({
          database,
          views: resourceViews,
          ...options,
          // Housekeeping is leader work: the first connection does it when a case asks for it.
          ...(options.housekeepingEveryWrites && databases.length === 1 ? { housekeeping: true } : {}),
        }),
        gateway: await PostgresGatewayStore.open({ database, clock: options.clock, ...(options.secretCodec ? { secretCodec: options.secretCodec } : {}) }),
        credentials: new PostgresCredentialStore({ database, clock: options.clock, ...(options.secretCodec ? { secretCodec: options.secretCodec } : {}) }),
      };
      connections.push(connection);
      return connection;
    };
    const first = await connect();
    return {
      ...first,
      connect,
      async rawRows(table) {
        return (await databases[0]!.pool.query(`SELECT * FROM ${table}`)).rows as Record<string, unknown>[];
      },
      async dispose() {
        for (const c of connections) {
          await c.resources.close();
          await c.gateway.close();
        }
        for (const d of databases) await d.close();
      },
    };
  },
};

const { describe: whenPostgres } = requirePostgres();

whenPostgres('PostgreSQL engine', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  describeStoreConformance(postgres);
});
