// The store conformance suite on the embedded engine: both SQLite stores in a temp directory, and a
// second pair of connections to the same files as another replica.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../../src/http/resource-view.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../../src/store/sqlite/index.js';
import type { StoreConnection, StoreEngineFactory } from './engine.js';
import { describeStoreConformance } from './suite.js';

const sqlite: StoreEngineFactory = {
  name: 'sqlite',
  async open(options) {
    const dir = mkdtempSync(join(tmpdir(), 'store-conformance-'));
    const connections: StoreConnection[] = [];
    const connect = async (): Promise<StoreConnection> => {
      const gateway = new SqliteGatewayStore({ path: join(dir, 'gateway.db'), clock: options.clock, ...(options.secretCodec ? { secretCodec: options.secretCodec } : {}) });
      const connection = {
        resources: new SqliteResourceStore({
          path: join(dir, 'control-plane.db'),
          views: resourceViews,
          ...options,
          ...(options.housekeepingEveryWrites ? { maintenanceEveryWrites: options.housekeepingEveryWrites } : {}),
        }),
        gateway,
        credentials: gateway.credentials,
      };
      connections.push(connection);
      return connection;
    };
    const first = await connect();
    return {
      ...first,
      connect,
      async rawRows(table) {
        // The table is in whichever of the two files has it.
        for (const file of ['gateway.db', 'control-plane.db']) {
          const db = new Database(join(dir, file), { readonly: true });
          try {
            if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) {
              return db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
            }
          } finally {
            db.close();
          }
        }
        throw new Error(`no table ${table} in either database`);
      },
      async dispose() {
        for (const c of connections) {
          await c.resources.close();
          await c.gateway.close();
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

describeStoreConformance(sqlite);
