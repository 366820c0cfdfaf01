// One PostgreSQL database as the stores use it: the pool, the ambient units of work over it (units.ts),
// and the one LISTEN connection that tells of other processes' commits (notifications.ts). The resource
// store and the gateway store of a replica (and a leader's fenced store objects beside the API's) are
// made over one PostgresDatabase, so they join one unit; it outlives them: close() it after them.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, type PostgresConnectOptions } from './connection.js';
import { channelOf, Notifications } from './notifications.js';
import { Units } from './units.js';

export interface PostgresDatabaseOptions extends PostgresConnectOptions {
  /**
   * While the LISTEN connection is down: how often the counters are polled for other processes' commits,
   * and how often it is tried again. Default 1 s.
   */
  fallbackPollMs?: number;
}

export class PostgresDatabase {
  readonly units: Units;
  readonly notifications: Notifications;
  /** The NOTIFY channel of this database's schema. */
  readonly channel: string;

  private constructor(
    readonly pool: pg.Pool,
    url: string,
    schema: string,
    options: PostgresDatabaseOptions,
  ) {
    this.units = new Units(pool);
    this.channel = channelOf(schema);
    this.notifications = new Notifications({
      url,
      pool,
      channel: this.channel,
      applicationName: `${options.applicationName ?? 'mcp-control-plane'} (listen)`,
      pollMs: options.fallbackPollMs ?? 1_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      onError: options.onError ?? (() => {}),
    });
  }

  /**
   * Connects (the schema is the URL's search_path) and starts listening. Throws when the database cannot
   * be reached; a LISTEN connection that fails later is retried, never fatal. Migrate first (migrations.ts).
   */
  static async open(url: string, options: PostgresDatabaseOptions = {}): Promise<PostgresDatabase> {
    const pool = connect(url, options);
    try {
      const schema = (await pool.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema;
      if (!schema) throw new Error('The store URL selects no existing schema (check search_path in its options)');
      const database = new PostgresDatabase(pool, url, schema, options);
      await database.notifications.start();
      return database;
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
  }

  /** A new writer id: NOTIFY payloads name it, so a store object does not hear its own commits back. */
  static writerId(): string {
    return randomBytes(9).toString('base64url');
  }

  /** Ends the LISTEN connection and the pool. */
  async close(): Promise<void> {
    await this.notifications.close();
    await this.pool.end();
  }
}
