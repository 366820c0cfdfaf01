// Raw SQL on a test control plane's own tables, whichever engine it runs on (see control-plane.ts): for a
// test that inspects or edits rows behind the control plane's back. SQLite: its files under the data dir;
// PostgreSQL: its schema, where both databases' tables live side by side. Placeholders are written `?`
// on both engines.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../../src/config.js';

/** Which of SQLite's two files a statement is for (on PostgreSQL, one schema holds both). */
export type StoreDatabase = 'control-plane' | 'gateway';

export interface StoreSql {
  all<T = Record<string, unknown>>(db: StoreDatabase, sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openStoreSql(config: Config, options: { readonly?: boolean } = {}): Promise<StoreSql> {
  if (config.store.kind === 'postgres') {
    const client = new pg.Client({ connectionString: config.store.url });
    await client.connect();
    return {
      async all<T>(_db: StoreDatabase, sql: string, params: unknown[] = []) {
        let n = 0;
        return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
      },
      close: () => client.end(),
    };
  }
  const files = {
    'control-plane': new Database(join(config.dataDir, 'control-plane.db'), { readonly: options.readonly ?? false }),
    gateway: new Database(join(config.dataDir, 'gateway.db'), { readonly: options.readonly ?? false }),
  };
  return {
    async all<T>(db: StoreDatabase, sql: string, params: unknown[] = []) {
      const statement = files[db].prepare(sql);
      return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
    },
    async close() {
      files['control-plane'].close();
      files.gateway.close();
    },
  };
}
