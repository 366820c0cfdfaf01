// The gateway store on PostgreSQL: the gateway_entries table of the one database (so a reconcile's
// status and gateway entry commit in one unit), the same row layout as SQLite's (gateway-rows.ts).
//
// Word of changes: writes through this object are announced to watch() listeners after their commit.
// Other processes' (and other store objects') writes arrive by NOTIFY (notifications.ts): their fqn goes
// to the watch() listeners and externalRevision() moves. Every gateway write bumps the gateway revision
// counter in its statement; a read outside a unit brings the counter along, so externalRevision() also
// moves as soon as any read of this object sees another's write, and while the LISTEN connection is down
// the polled counter moves it (its listeners then hear of nothing: the data plane polls externalRevision).
//
// apply() is a compare-and-swap on the entry the caller read (GatewayWriter): each entry this object answers
// carries, out of sight, the row version it was read at (PostgreSQL's xmin, which every write of the row
// changes), and the write names it; an entry changed or removed since (an out-of-band edit, which takes
// no writer lock) makes the write match no row, and apply() throws WriteConflictError having written nothing.
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import { isoTime, systemClock } from '../../domain/clock.js';
import { gatewayEntryHash, type GatewayEntry, type StoredGatewayEntry } from '../../gateway/gateway-entry.js';
import type { GatewayStore } from '../gateway-store.js';
import type { EntrySyncState } from '../types.js';
import { plainSecretCodec, type SecretCodec } from '../secret-codec.js';
import { PostgresDatabase } from './database.js';
import { entryOfRow, sealEntry, type EntryRow } from '../gateway-rows.js';
import { prepared } from './prepared.js';
import { resealColumn } from './sealed-columns.js';
import { WriteConflictError } from '../write-conflict.js';
import type { Fence, Units } from './units.js';

export interface PostgresGatewayStoreOptions {
  database: PostgresDatabase;
  clock?: Clock;
  secretCodec?: SecretCodec;
  /** Keys the config hash (HMAC), so a stored or answered hash cannot test guesses of a header value. */
  hashKey?: Uint8Array;
  /** Run at the start of every transaction of this object that writes (see units.ts). */
  fence?: Fence;
}

const ENTRY_COLUMNS = 'g.fqn, g.config, g.headers, g.config_hash, g.generation, g.updated_at, g.xmin::text AS row_version';

/** The rows of a read, each with the gateway revision it was read at (one row of nulls when there are none). */
const withRevision = (name: string, columns: string, on: string) =>
  prepared(name, `SELECT c.value AS revision, ${columns} FROM counters c LEFT JOIN gateway_entries g ON ${on}
    WHERE c.name = 'gateway_revision' ORDER BY g.fqn COLLATE "C"`);
const GET = withRevision('gateway_get', ENTRY_COLUMNS, 'g.fqn = $1');
const LIST = withRevision('gateway_list', ENTRY_COLUMNS, 'true');
const KEYS = withRevision('gateway_keys', 'g.fqn', 'true');
const SYNC_STATES = prepared('gateway_sync_states', 'SELECT fqn, generation FROM gateway_entries');
const COUNT = prepared('gateway_count', "SELECT value FROM counters WHERE name = 'gateway_entries'");

/** The fqn in a NOTIFY payload (below its 8000-byte limit; a longer one is left out: the revision still moves). */
const NAMED = (fqn: string) => `CASE WHEN octet_length(${fqn}) < 7000 THEN ' ' || ${fqn} ELSE '' END`;

/** A write of `up` (RETURNING fqn): the revision bumped and announced when it wrote a row; no row when it did not. */
const bumped = (name: string, up: string) => prepared(name, `WITH up AS (${up} RETURNING fqn),
    rev AS (UPDATE counters SET value = value + 1 WHERE name = 'gateway_revision' AND EXISTS (SELECT 1 FROM up) RETURNING value)
  SELECT rev.value AS revision, pg_notify($7, $8 || rev.value || ${NAMED('$1')}) FROM rev`);
/** An entry read as absent: written unless one appeared since. */
const INSERT_NEW = bumped('gateway_insert_new', `INSERT INTO gateway_entries (fqn, config, headers, config_hash, generation, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fqn) DO NOTHING`);
/** An entry read at row version $9: rewritten unless it changed or went since. */
const UPDATE_SEEN = bumped('gateway_update_seen', `UPDATE gateway_entries SET config = $2, headers = $3, config_hash = $4, generation = $5, updated_at = $6
      WHERE fqn = $1 AND xmin::text = $9`);

const DELETE = prepared('gateway_delete', `WITH gone AS (DELETE FROM gateway_entries WHERE fqn = $1 RETURNING fqn),
    rev AS (UPDATE counters SET value = value + 1 WHERE name = 'gateway_revision' AND EXISTS (SELECT 1 FROM gone) RETURNING value)
  SELECT rev.value AS revision, pg_notify($2, $3 || rev.value || ${NAMED('$1')}) FROM rev`);

/** A row of gateway_entries with its row version (xmin, as text). */
type VersionedRow = EntryRow & { row_version: string };

export class PostgresGatewayStore implements GatewayStore {
  private readonly units: Units;
  private readonly channel: string;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly hashKey: Uint8Array | undefined;
  private readonly fence: Fence | undefined;
  private readonly writer = PostgresDatabase.writerId();
  private readonly listeners = new Set<(fqn: string) => void>();
  /** The row version each entry this object answered was read at: what apply() compares (see the header). */
  private readonly readAt = new WeakMap<StoredGatewayEntry, string>();
  private readonly unsubscribe: () => void;
  /** The gateway revision as far as this object knows. */
  private known: number;
  private external = 0;

  private constructor(options: PostgresGatewayStoreOptions, revision: number) {
    this.units = options.database.units;
    this.channel = options.database.channel;
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.hashKey = options.hashKey;
    this.fence = options.fence;
    this.known = revision;
    this.unsubscribe = options.database.notifications.subscribe(this.writer, {
      notified: (kind, detail) => {
        if (kind !== 'g') return;
        const space = detail.indexOf(' ');
        const fqn = space < 0 ? '' : detail.slice(space + 1);
        this.known = Math.max(this.known, Number(space < 0 ? detail : detail.slice(0, space)));
        this.external++;
        if (fqn) this.announce(fqn);
      },
      polled: (counters) => this.seen(counters.get('gateway_revision') ?? 0),
    });
  }

  static async open(options: PostgresGatewayStoreOptions): Promise<PostgresGatewayStore> {
    const { rows } = await options.database.pool.query<{ value: number }>("SELECT value FROM counters WHERE name = 'gateway_revision'");
    if (!rows[0]) throw new Error("The counters table has no 'gateway_revision' row: the schema was not migrated");
    return new PostgresGatewayStore(options, rows[0].value);
  }

  async get(fqn: string): Promise<StoredGatewayEntry | undefined> {
    const rows = await this.read(GET([fqn]));
    return rows[0] && this.entryOf(rows[0]);
  }

  async list(): Promise<StoredGatewayEntry[]> {
    return (await this.read(LIST())).map((r) => this.entryOf(r));
  }

  async keys(): Promise<string[]> {
    return (await this.read(KEYS())).map((r) => r.fqn);
  }

  async syncStates(): Promise<EntrySyncState[]> {
    const { rows } = await this.units.reader().query<{ fqn: string; generation: string }>(SYNC_STATES());
    return rows.map((r) => ({ fqn: r.fqn, generation: Number(r.generation) }));
  }

  async count(): Promise<number> {
    return Number((await this.units.reader().query<{ value: string }>(COUNT())).rows[0]?.value ?? 0);
  }

  apply(entry: GatewayEntry, known?: { hash: string; current: StoredGatewayEntry | undefined }): Promise<boolean> {
    // A read, then a write: one call of the caller's unit (units.ts).
    return this.units.call(async () => {
      const hash = known?.hash ?? gatewayEntryHash(entry, this.hashKey);
      const current = known ? known.current : await this.get(entry.fqn);
      if (current && current.configHash === hash) return false;
      const version = current && (await this.versionOf(current));
      const { config, headers } = sealEntry(entry, this.codec);
      await this.units.write(this.fence, async (client) => {
        const values = [entry.fqn, config, headers, hash, entry.generation, isoTime(this.clock.now()), this.channel, `${this.writer} g `];
        const { rows } = await client.query<{ revision: number }>(version === undefined ? INSERT_NEW(values) : UPDATE_SEEN([...values, version]));
        if (!rows[0]) throw new WriteConflictError(entry.fqn, current ? 'the gateway entry was changed or removed since it was read' : 'a gateway entry was written since it was read as absent');
        this.committedLater(rows[0].revision, entry.fqn);
      });
      return true;
    });
  }

  async delete(fqn: string): Promise<boolean> {
    return this.units.write(this.fence, async (client) => {
      const { rows } = await client.query<{ revision: number }>(DELETE([fqn, this.channel, `${this.writer} g `]));
      if (!rows[0]) return false;
      this.committedLater(rows[0].revision, fqn);
      return true;
    });
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.units.transaction(fn, this.fence);
  }

  watch(listener: (fqn: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  externalRevision(): number {
    return this.external;
  }

  /** Seals header values and credentials stored before encryption; checks the key against the rest (see resealColumn). */
  resealSecrets(): Promise<number> {
    return this.units.write(this.fence, async (client) => {
      let resealed = 0;
      for (const table of ['gateway_entries', 'credentials', 'oauth_states'] as const) resealed += await resealColumn(client, table, table === 'gateway_entries' ? 'headers' : 'secrets', this.codec);
      return resealed;
    });
  }

  /** Stops hearing of other processes' writes. The database is closed by its owner. */
  async close(): Promise<void> {
    this.unsubscribe();
    this.listeners.clear();
  }

  private entryOf(row: VersionedRow): StoredGatewayEntry {
    const entry = entryOfRow(row, this.codec, this.hashKey);
    this.readAt.set(entry, row.row_version);
    return entry;
  }

  /**
   * The row version `current` was read at. An entry this object did not answer (a copy, or another store
   * object's) is compared with the stored one as it is now: the same content, written hash and write time.
   */
  private async versionOf(current: StoredGatewayEntry): Promise<string> {
    const version = this.readAt.get(current);
    if (version !== undefined) return version;
    const row = (await this.read(GET([current.fqn])))[0];
    const now = row && this.entryOf(row);
    if (!now || now.configHash !== current.configHash || now.writtenHash !== current.writtenHash || now.updatedAt !== current.updatedAt) {
      throw new WriteConflictError(current.fqn, 'the gateway entry was changed or removed since it was read');
    }
    return row.row_version;
  }

  /** Rows of gateway_entries (a read of withRevision), noting the gateway revision they were read at. */
  private async read(query: pg.QueryConfig): Promise<VersionedRow[]> {
    const inUnit = this.units.current() !== undefined;
    const { rows } = await this.units.reader().query<VersionedRow & { revision: number }>(query);
    // Inside a unit the counter may hold the unit's own uncommitted writes.
    if (!inUnit && rows[0]) this.seen(rows[0].revision);
    return rows.filter((r) => r.fqn !== null);
  }

  /** A revision read or told: one beyond what this object knows is another's write. */
  private seen(revision: number): void {
    if (revision <= this.known) return;
    this.known = revision;
    this.external++;
  }

  /** A write of this object at `revision`: announced, and known, once its unit commits. */
  private committedLater(revision: number, fqn: string): void {
    this.units.afterCommit(() => {
      // The revision right after the known one is this write; a greater one means others wrote meanwhile.
      if (revision === this.known + 1) this.known = revision;
      else this.seen(revision);
      this.announce(fqn);
    });
  }

  private announce(fqn: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(fqn);
      } catch {
        // A listener's failure is its own; the write has committed.
      }
    }
  }
}
