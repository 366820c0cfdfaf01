// The gateway store in its own SQLite file (<data-dir>/gateway.db). Header values are sealed by the
// injected codec in a column of their own (the row layout in ../gateway-rows.ts, shared with PostgreSQL).
import type Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.js';
import { isoTime, systemClock } from '../../domain/clock.js';
import { gatewayEntryHash, type GatewayEntry, type StoredGatewayEntry } from '../../gateway/gateway-entry.js';
import { entryOfRow, sealEntry, type EntryRow } from '../gateway-rows.js';
import type { GatewayStore } from '../gateway-store.js';
import type { EntrySyncState } from '../types.js';
import { plainSecretCodec, type SecretCodec } from '../secret-codec.js';
import { WalCheckpointer, type CheckpointerOptions } from './checkpointer.js';
import { openDatabase, type Migration } from './migrations.js';
import { resealColumn } from './sealed-columns.js';
import { outsideUnits, SqliteUnits, type UnitScope } from './units.js';
import { credentialsMigrationSql, SqliteCredentialStore } from './credentials.js';

const gatewayMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'gateway entries',
    sql: `CREATE TABLE gateway_entries (
      fqn TEXT PRIMARY KEY,
      config TEXT NOT NULL,
      headers TEXT NOT NULL,
      config_hash TEXT NOT NULL,
      generation INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    )`,
  },
  { version: 2, name: 'per-user credentials and OAuth states (secret values sealed)', sql: credentialsMigrationSql },
  {
    version: 3,
    name: 'gateway entry count: kept by triggers, so reading it costs no scan',
    sql: `
      CREATE TABLE gateway_counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO gateway_counts (name, value) SELECT 'entries', count(*) FROM gateway_entries;
      CREATE TRIGGER gateway_entries_counted_insert AFTER INSERT ON gateway_entries BEGIN
        UPDATE gateway_counts SET value = value + 1 WHERE name = 'entries';
      END;
      CREATE TRIGGER gateway_entries_counted_delete AFTER DELETE ON gateway_entries BEGIN
        UPDATE gateway_counts SET value = value - 1 WHERE name = 'entries';
      END;
    `,
  },
  {
    version: 4,
    name: 'gateway entries: what a resync compares (fqn, generation) in a covering index',
    sql: 'CREATE INDEX gateway_entries_sync_states ON gateway_entries (fqn, generation)',
  },
];

export interface SqliteGatewayStoreOptions {
  path: string;
  clock?: Clock;
  secretCodec?: SecretCodec;
  /** Keys the config hash (HMAC), so a stored or answered hash cannot test guesses of a header value. */
  hashKey?: Uint8Array;
  /** On a file, checkpoints run on a worker thread (see checkpointer.ts); tests make them due sooner. */
  checkpoints?: CheckpointerOptions;
}

export class SqliteGatewayStore implements GatewayStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly hashKey: Uint8Array | undefined;
  private readonly stmt;
  private readonly listeners = new Set<(fqn: string) => void>();
  /** Per-user credentials, in this file and on this connection (its units of work included). */
  readonly credentials: SqliteCredentialStore;
  /** Writes of the open unit, announced when it commits; undefined outside one. */
  private unannounced: Set<string> | undefined;
  /** The connection's writer and units of work (see units.ts). */
  private readonly units: SqliteUnits;
  /**
   * On a file: the WAL's checkpoints, off the event loop (checkpointer.ts), as the resource store's. SQLite's
   * automatic checkpoint would run inside the COMMIT of a reconcile batch that passes 1,000 frames: two fsyncs
   * and the copy, on the control plane's event loop. Told after each commit of this connection by its units
   * (entries and credentials alike). Each thread that opens gateway.db has its own (the control plane's and
   * the data plane's, see ARCHITECTURE).
   */
  readonly checkpointer: WalCheckpointer | undefined;
  /**
   * Each unit and savepoint collects its writes: a savepoint's join its parent's when it is released (none
   * when it rolls back), and the outermost unit announces its writes after its commit (none after a rollback).
   */
  private readonly unitScope: UnitScope<Set<string> | undefined> = {
    begin: () => {
      const parent = this.unannounced;
      this.unannounced = new Set();
      return parent;
    },
    end: (parent, ok, outermost) => {
      const written = this.unannounced;
      this.unannounced = parent;
      if (!ok || !written) return;
      if (!outermost) for (const fqn of written) parent?.add(fqn);
      else for (const fqn of written) this.announce(fqn);
    },
  };

  constructor(options: SqliteGatewayStoreOptions) {
    this.db = openDatabase(options.path, gatewayMigrations);
    this.units = new SqliteUnits(this.db, undefined, () => this.checkpointer?.committed());
    this.checkpointer = options.path !== ':memory:' && options.path !== '' ? new WalCheckpointer(this.db, options.path, options.checkpoints, (until) => this.units.holdWriter(until)) : undefined;
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.hashKey = options.hashKey;
    this.credentials = new SqliteCredentialStore(this.db, this.units, this.codec, this.clock);
    this.stmt = {
      get: this.db.prepare('SELECT * FROM gateway_entries WHERE fqn = ?'),
      list: this.db.prepare('SELECT * FROM gateway_entries ORDER BY fqn'),
      keys: this.db.prepare('SELECT fqn FROM gateway_entries ORDER BY fqn').pluck(),
      syncStates: this.db.prepare('SELECT fqn, generation FROM gateway_entries'),
      count: this.db.prepare("SELECT value FROM gateway_counts WHERE name = 'entries'").pluck(),
      upsert: this.db.prepare(`INSERT INTO gateway_entries (fqn, config, headers, config_hash, generation, updated_at)
        VALUES (@fqn, @config, @headers, @config_hash, @generation, @updated_at)
        ON CONFLICT (fqn) DO UPDATE SET config = excluded.config, headers = excluded.headers,
          config_hash = excluded.config_hash, generation = excluded.generation, updated_at = excluded.updated_at`),
      delete: this.db.prepare('DELETE FROM gateway_entries WHERE fqn = ?'),
    };
  }

  get(fqn: string): Promise<StoredGatewayEntry | undefined> {
    return this.units.call(() => this.read(fqn));
  }

  list(): Promise<StoredGatewayEntry[]> {
    return this.units.call(() => (this.stmt.list.all() as EntryRow[]).map((r) => this.fromRow(r)));
  }

  keys(): Promise<string[]> {
    return this.units.call(() => this.stmt.keys.all() as string[]);
  }

  syncStates(): Promise<EntrySyncState[]> {
    return this.units.call(() => this.stmt.syncStates.all() as EntrySyncState[]);
  }

  count(): Promise<number> {
    return this.units.call(() => this.stmt.count.get() as number);
  }

  apply(entry: GatewayEntry, known?: { hash: string; current: StoredGatewayEntry | undefined }): Promise<boolean> {
    return this.units.call(() => this.write(entry, known));
  }

  private read(fqn: string): StoredGatewayEntry | undefined {
    const row = this.stmt.get.get(fqn) as EntryRow | undefined;
    return row && this.fromRow(row);
  }

  private write(entry: GatewayEntry, known: { hash: string; current: StoredGatewayEntry | undefined } | undefined): boolean {
    const hash = known?.hash ?? gatewayEntryHash(entry, this.hashKey);
    const current = known ? known.current : this.read(entry.fqn);
    if (current && current.configHash === hash) return false;
    this.stmt.upsert.run({
      fqn: entry.fqn,
      ...sealEntry(entry, this.codec),
      config_hash: hash,
      generation: entry.generation,
      updated_at: isoTime(this.clock.now()),
    });
    this.announce(entry.fqn);
    return true;
  }

  delete(fqn: string): Promise<boolean> {
    return this.units.call(() => {
      const deleted = this.stmt.delete.run(fqn).changes > 0;
      if (deleted) this.announce(fqn);
      return deleted;
    });
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.units.transaction(fn, this.unitScope);
  }

  watch(listener: (fqn: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  externalRevision(): number {
    // data_version changes when another connection commits, never for this connection's own writes.
    return this.db.open ? (this.db.pragma('data_version', { simple: true }) as number) : 0;
  }

  private announce(fqn: string): void {
    if (this.unannounced) {
      this.unannounced.add(fqn);
      return;
    }
    outsideUnits(() => {
      for (const listener of [...this.listeners]) {
        try {
          listener(fqn);
        } catch {
          // A listener's failure is its own; the write has committed.
        }
      }
    });
  }

  /** Seals header values and credentials stored before encryption; checks the key against the rest (see resealColumn). */
  resealSecrets(): Promise<number> {
    return this.units.call(() => resealColumn(this.db, 'gateway_entries', 'fqn', 'headers', this.codec) + this.credentials.resealNow());
  }

  /** After the open unit, if any: its commit comes first. */
  async close(): Promise<void> {
    await this.units.call(() => undefined);
    // The worker's connection closes first: the store's, the last one, checkpoints what is left as it closes.
    await this.checkpointer?.close();
    return this.units.call(() => {
      if (this.db.open) this.db.close();
    });
  }

  private fromRow(row: EntryRow): StoredGatewayEntry {
    return entryOfRow(row, this.codec, this.hashKey);
  }
}
