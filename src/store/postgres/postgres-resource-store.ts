// The resource store on PostgreSQL: every resource port, composed from the areas beside it (reads,
// writes, status, changelog, events, source files, views at open) over one PostgresDatabase. This class
// owns only what spans them: units of work and the fence, write listeners (this object's commits and, by
// NOTIFY, everybody else's), housekeeping and resealing secrets.
//
// The source inventory is read from the table at every call (an index serves it): no in-memory copy can
// go stale when another replica writes.
import type { Clock } from '../../domain/clock.js';
import { isoTime, systemClock } from '../../domain/clock.js';
import type { McpServerResource, ResourceStatus, SourceRef } from '../../domain/resource.js';
import type { ResourceStore } from '../resource-store.js';
import type { WriteOptions } from '../resource-writer.js';
import { plainSecretCodec, type SecretCodec } from '../secret-codec.js';
import { IsoNow } from '../iso-now.js';
import { RowCodec } from '../resource-rows.js';
import type {
  Change,
  EventInput,
  EventQuery,
  GetOptions,
  ListQuery,
  NewResource,
  Page,
  ReadinessCount,
  ResourceSyncState,
  ResourceRef,
  ResourceUpdate,
  Revision,
  SourceFileRecord,
  StoredAnswerTexts,
  StoredEvent,
} from '../types.js';
import type { ViewRenderer } from '../view-renderer.js';
import { PgChangelog } from './changelog.js';
import type { Queryable } from './connection.js';
import { PostgresDatabase } from './database.js';
import { PgEvents } from './events.js';
import { PgResourceReads } from './resource-reads.js';
import { currentResourceVersion } from './resource-version.js';
import { PgResourceWrites, type Notice } from './resource-writes.js';
import { resealColumn } from './sealed-columns.js';
import { PgSourceFiles } from './source-files.js';
import { showMaskedReferences } from './shown-references.js';
import { renderStaleViews } from './stale-views.js';
import { PgStatusWrites } from './status-writes.js';
import { revisionRetention } from '../revision-rows.js';
import { PgRevisions } from './revisions.js';
import type { Fence, Unit, Units } from './units.js';

export interface PostgresResourceStoreOptions {
  database: PostgresDatabase;
  /** Renders the text the API answers for each resource, kept beside its row (see ViewRenderer). */
  views: ViewRenderer;
  clock?: Clock;
  secretCodec?: SecretCodec;
  /** Run at the start of every transaction of this object that writes (see units.ts): a leader's store object. */
  fence?: Fence;
  /** The changelog keeps at least this many entries... */
  changelogMinEntries?: number;
  /** ...and every entry younger than this. */
  changelogMinAgeMs?: number;
  /** Events older than this are dropped. */
  eventMaxAgeMs?: number;
  /** At most this many events are kept per resource. */
  eventMaxPerResource?: number;
  /** Generations kept per resource (default 20). */
  revisionHistory?: number;
  /** How long the revisions of a removed resource are kept (default 7 days). */
  revisionRetentionMs?: number;
  /**
   * Hears a failure of housekeeping, which runs after a commit with no caller to answer (the next round
   * tries again). Default: ignored.
   */
  onError?: (err: Error) => void;
  /**
   * This object prunes the changelog and events after every `housekeepingEveryWrites` of its writes:
   * leader work, so the composition root sets it on the leader's (fenced) store object only. Default false.
   */
  housekeeping?: boolean;
  /** How many of this object's writes make a round of housekeeping due. Default 500. */
  housekeepingEveryWrites?: number;
  /**
   * Runs in each housekeeping round's transaction before anything is pruned; when it throws, the round
   * prunes nothing (onError hears why). The composition root's: the schema is still one this build knows.
   */
  beforeHousekeeping?: (client: Queryable) => Promise<void>;
}

const MAINTENANCE_EVERY_WRITES = 500;

export class PostgresResourceStore implements ResourceStore {
  private readonly units: Units;
  private readonly pool: Queryable;
  private readonly fence: Fence | undefined;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly isoNow: IsoNow;
  private readonly changelogMinEntries: number;
  private readonly changelogMinAgeMs: number;
  private readonly eventMaxAgeMs: number;
  private readonly onError: (err: Error) => void;
  private readonly reads: PgResourceReads;
  private readonly writes: PgResourceWrites;
  private readonly statusWrites: PgStatusWrites;
  private readonly changelog: PgChangelog;
  private readonly events: PgEvents;
  private readonly files: PgSourceFiles;
  private readonly revisions: PgRevisions;
  private readonly notice: Notice;
  private readonly writeListeners = new Set<() => void>();
  private readonly unsubscribe: () => void;
  /** The resourceVersion at the last poll while the LISTEN connection was down. */
  private polledVersion: number | undefined;
  private writesSinceMaintenance = 0;
  private maintaining: Promise<void> | undefined;
  private readonly housekeeping: boolean;
  private readonly housekeepingEveryWrites: number;
  private readonly beforeHousekeeping: ((client: Queryable) => Promise<void>) | undefined;

  private constructor(options: PostgresResourceStoreOptions) {
    const database = options.database;
    this.units = database.units;
    this.pool = database.pool;
    this.fence = options.fence;
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.isoNow = new IsoNow(this.clock);
    this.changelogMinEntries = options.changelogMinEntries ?? 10_000;
    this.changelogMinAgeMs = options.changelogMinAgeMs ?? 3_600_000;
    this.eventMaxAgeMs = options.eventMaxAgeMs ?? 24 * 3_600_000;
    this.onError = options.onError ?? (() => {});
    this.housekeeping = options.housekeeping ?? false;
    this.housekeepingEveryWrites = options.housekeepingEveryWrites ?? MAINTENANCE_EVERY_WRITES;
    this.beforeHousekeeping = options.beforeHousekeeping;
    const rows = new RowCodec(this.codec);
    const db = () => this.units.reader();
    this.reads = new PgResourceReads(db, rows);
    this.revisions = new PgRevisions(db, rows, revisionRetention(options), this.clock);
    this.writes = new PgResourceWrites(rows, options.views, this.revisions);
    this.statusWrites = new PgStatusWrites(this.reads, options.views);
    this.changelog = new PgChangelog(this.units);
    this.events = new PgEvents(db, options.eventMaxPerResource ?? 100);
    this.files = new PgSourceFiles(db);
    const writer = PostgresDatabase.writerId();
    this.notice = { channel: database.channel, payload: `${writer} r` };
    this.unsubscribe = database.notifications.subscribe(writer, {
      notified: (kind) => {
        if (kind === 'r') this.wake();
      },
      polled: (counters) => {
        const rv = counters.get('resource_version');
        if (rv === this.polledVersion) return;
        this.polledVersion = rv;
        this.wake();
      },
    });
  }

  /**
   * A store object over the database; shows the secret references older builds masked (once per database,
   * see shown-references.ts), then renders the views that are stale (see stale-views.ts).
   */
  static async open(options: PostgresResourceStoreOptions): Promise<PostgresResourceStore> {
    const store = new PostgresResourceStore(options);
    try {
      await store.units.write(undefined, async (client) => {
        await showMaskedReferences(client, store.codec);
        await renderStaleViews(client, options.views);
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  // ResourceReader

  get(fqn: string, options?: GetOptions): Promise<McpServerResource | undefined> {
    return this.reads.get(fqn, options);
  }

  getWithAnswer(fqn: string, options?: GetOptions): Promise<{ resource: McpServerResource; answer: StoredAnswerTexts } | undefined> {
    return this.reads.getWithAnswer(fqn, options);
  }

  getById(id: string): Promise<McpServerResource | undefined> {
    return this.reads.getById(id);
  }

  list(query: ListQuery): Promise<{ items: McpServerResource[]; total: number }> {
    return this.reads.list(query);
  }

  listViews(query: ListQuery): Promise<{ views: string[]; total: number }> {
    return this.reads.listViews(query);
  }

  listKeys(query: ListQuery): Promise<{ fqns: string[]; total: number }> {
    return this.reads.listKeys(query);
  }

  viewsOf(fqns: readonly string[]): Promise<string[]> {
    return this.reads.viewsOf(fqns);
  }

  listRefs(tenant: string): Promise<readonly ResourceRef[]> {
    return this.reads.refs(tenant);
  }

  readinessCounts(tenant: string): Promise<ReadinessCount[]> {
    return this.reads.readinessCounts(tenant);
  }

  sourcesOf(fqns: readonly string[]): Promise<Map<string, SourceRef>> {
    return this.reads.sourcesOf(fqns);
  }

  syncStates(): Promise<ResourceSyncState[]> {
    return this.reads.syncStates();
  }

  keys(): Promise<string[]> {
    return this.reads.keys();
  }

  count(): Promise<number> {
    return this.reads.count();
  }

  // ResourceWriter

  create(input: NewResource, options?: WriteOptions): Promise<McpServerResource> {
    return this.write(async (unit) => this.withEvents(unit.client, await this.writes.create(unit, input, this.isoNow.now(), this.notice, options?.revision), options));
  }

  update(fqn: string, update: ResourceUpdate, options?: WriteOptions): Promise<McpServerResource> {
    return this.write(async (unit) =>
      this.withEvents(unit.client, await this.writes.update(unit, fqn, update, options?.expect, this.isoNow.now(), this.notice, options?.revision), options),
    );
  }

  remove(fqn: string, options?: WriteOptions): Promise<McpServerResource | undefined> {
    return this.write(async (unit) => {
      const removed = await this.writes.remove(unit, fqn, options?.expect, this.isoNow.now(), this.notice);
      return removed && this.withEvents(unit.client, removed, options);
    });
  }

  /** Records the events of a write in its transaction. */
  private async withEvents(client: Queryable, written: McpServerResource, options: WriteOptions | undefined): Promise<McpServerResource> {
    for (const e of options?.events ?? []) await this.events.record(client, { ...e, fqn: written.fqn, resourceId: written.id }, this.isoNow.now());
    return written;
  }

  // StatusWriter

  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): Promise<number | undefined> {
    return this.statusWrites.setStatus(fqn, status, expect, (fn) => this.write(fn), () => this.isoNow.now(), this.notice);
  }

  async recordEvent(event: EventInput): Promise<void> {
    // One statement that waits for one row lock at most: outside a unit and unfenced it needs no
    // transaction (nor the writer lock, which only orders transactions that lock several rows).
    if (this.fence || this.units.current()) {
      await this.write((unit) => this.events.record(unit.client, event, this.isoNow.now()));
      return;
    }
    await this.events.record(this.pool, event, this.isoNow.now());
    this.written();
  }

  // RevisionLog

  listRevisions(resourceId: string, page: Page): Promise<{ items: Revision[]; total: number }> {
    return this.revisions.list(resourceId, page);
  }

  getRevision(resourceId: string, generation: number): Promise<Revision | undefined> {
    return this.revisions.get(resourceId, generation);
  }

  revisedIdOf(fqn: string): Promise<string | undefined> {
    return this.revisions.idOf(fqn);
  }

  // EventLog

  listEvents(query: EventQuery): Promise<StoredEvent[]> {
    return this.events.list(query);
  }

  // SourceInventory

  async fileRefs(tenant: string, root: string): Promise<ReadonlyMap<string, ResourceRef>> {
    return new Map((await this.reads.refs(tenant, root)).map((r) => [r.name, r]));
  }

  fileRefsAt(tenant: string, root: string, path: string): Promise<ResourceRef[]> {
    return this.reads.refs(tenant, root, path);
  }

  sourceFiles(root: string): Promise<SourceFileRecord[]> {
    return this.files.list(root);
  }

  async recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): Promise<void> {
    if (files.size === 0) return;
    await this.units.write(this.fence, (client) => this.files.record(client, root, files));
  }

  // ChangeLog

  currentResourceVersion(): Promise<number> {
    return this.changelog.currentResourceVersion();
  }

  changesSince(resourceVersion: number, limit: number): Promise<Change[]> {
    return this.changelog.changesSince(resourceVersion, limit);
  }

  onWrite(listener: () => void): () => void {
    this.writeListeners.add(listener);
    return () => void this.writeListeners.delete(listener);
  }

  oldestRetainedResourceVersion(): Promise<number> {
    return this.changelog.oldestRetainedResourceVersion();
  }

  // Transactions

  snapshot<T>(fn: () => Promise<T>): Promise<T> {
    return this.units.snapshot(fn);
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.units.transaction(fn, this.fence);
  }

  // Life cycle

  /** Seals secrets stored before encryption and checks the key against the rest (see resealColumn). */
  resealSecrets(): Promise<number> {
    // Revisions keep their secrets sealed as the rows do, so they are sealed (and checked) alike.
    return this.units.write(this.fence, async (client) => (await resealColumn(client, 'resources', 'secrets', this.codec)) + (await resealColumn(client, 'revisions', 'secrets', this.codec)));
  }

  /** Stops hearing of other processes' writes and waits for housekeeping. The database is closed by its owner. */
  async close(): Promise<void> {
    this.unsubscribe();
    this.writeListeners.clear();
    await this.maintaining;
  }

  /** A write in the caller's unit (or a unit of its own); the listeners hear of it after the commit. */
  private write<T>(fn: (unit: Unit) => Promise<T>): Promise<T> {
    return this.units.write(this.fence, async (_client, unit) => {
      const result = await fn(unit);
      this.units.afterCommit(() => this.written());
      return result;
    });
  }

  /** After every commit of this object's writes: the listeners hear of it, and housekeeping (if this object does it) runs when due. */
  private written(): void {
    this.wake();
    if (this.housekeeping && ++this.writesSinceMaintenance >= this.housekeepingEveryWrites && !this.maintaining) {
      this.writesSinceMaintenance = 0;
      this.maintaining = this.maintain()
        .catch((err: unknown) => this.reportError(err))
        .finally(() => (this.maintaining = undefined));
    }
  }

  private reportError(err: unknown): void {
    try {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // The callback's own failure is its own.
    }
  }

  private wake(): void {
    for (const listener of [...this.writeListeners]) {
      try {
        listener();
      } catch {
        // A listener must not throw; if one does, the others still hear.
      }
    }
  }

  /**
   * Prunes the changelog and events in a transaction of its own, after the unit that made it due
   * committed: a rollback would undo its deletes but not what the events area remembers of them.
   */
  private async maintain(): Promise<void> {
    const committed = await this.units.write(this.fence, async (client) => {
      await this.beforeHousekeeping?.(client);
      const now = this.clock.now();
      await this.changelog.prune(client, (await currentResourceVersion(client)) - this.changelogMinEntries, isoTime(now - this.changelogMinAgeMs));
      await this.revisions.prune(client);
      return this.events.prune(client, isoTime(now - this.eventMaxAgeMs));
    });
    committed();
  }
}
