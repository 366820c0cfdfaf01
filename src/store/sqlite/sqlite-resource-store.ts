// The SQLite engine of the resource store (better-sqlite3, WAL): every resource port, composed from the
// areas beside it (rows, reads, writes, status, changelog, events, source files, ref index, views and
// references shown at open). This class owns only what spans them: units of work (units.ts: every port call answers a promise,
// at once when no unit of another context is open), write listeners, housekeeping, the clean close and
// resealing secrets.
import type Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.js';
import { isoTime, systemClock } from '../../domain/clock.js';
import type { McpServerResource, ResourceStatus, SourceRef } from '../../domain/resource.js';
import type { ResourceStore } from '../resource-store.js';
import type { WriteOptions } from '../resource-writer.js';
import { plainSecretCodec, type SecretCodec } from '../secret-codec.js';
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
import type { UnitOptions } from '../transactions.js';
import { SqliteChangelog } from './changelog.js';
import { SqliteEvents } from './events.js';
import { IsoNow } from '../iso-now.js';
import { openDatabase } from './migrations.js';
import type { Durability } from '../durability.js';
import { RefIndex, refOf } from './ref-index.js';
import { controlPlaneMigrations } from './resource-migrations.js';
import { SqliteResourceReads } from './resource-reads.js';
import { SqliteResourceWrites } from './resource-writes.js';
import { RowCodec, type ResourceRow } from '../resource-rows.js';
import { checkColumnKey, resealColumn } from './sealed-columns.js';
import { SqliteSourceFiles } from './source-files.js';
import { showMaskedReferences } from './shown-references.js';
import { renderStaleViews } from './stale-views.js';
import { SqliteStatusWrites } from './status-writes.js';
import { revisionRetention } from '../revision-rows.js';
import { SqliteRevisions } from './revisions.js';
import { outsideUnits, SqliteUnits, type UnitScope } from './units.js';
import { openWalFsync, WalSync, type SyncWal } from './wal-sync.js';
import { WalCheckpointer, type CheckpointerOptions } from './checkpointer.js';

export interface SqliteResourceStoreOptions {
  /** A file path or ":memory:". */
  path: string;
  /** What an acknowledged write survives (see Durability); default full: power loss. */
  durability?: Durability;
  /**
   * With durability full on a file: makes the commits made so far durable (see wal-sync.ts); default the
   * fsync of the -wal file on the thread pool. Tests inject one they can hold.
   */
  syncWal?: SyncWal;
  /** On a file, checkpoints run on a worker thread (see checkpointer.ts); tests make them due sooner. */
  checkpoints?: CheckpointerOptions;
  /** Renders the text the API answers for each resource, kept beside its row (see ViewRenderer). */
  views: ViewRenderer;
  clock?: Clock;
  secretCodec?: SecretCodec;
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
  /** Housekeeping (changelog, events and revisions pruned) runs after every this many writes (default 500). */
  maintenanceEveryWrites?: number;
}

export class SqliteResourceStore implements ResourceStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly changelogMinEntries: number;
  private readonly changelogMinAgeMs: number;
  private readonly eventMaxAgeMs: number;
  private readonly maintenanceEveryWrites: number;
  private readonly reads: SqliteResourceReads;
  private readonly writes: SqliteResourceWrites;
  private readonly statusWrites: SqliteStatusWrites;
  private readonly changelog: SqliteChangelog;
  private readonly events: SqliteEvents;
  private readonly files: SqliteSourceFiles;
  private readonly revisions: SqliteRevisions;
  private readonly isoNow: IsoNow;
  private writesSinceMaintenance = 0;
  private readonly chosenDurability: Durability;
  /** Closes the descriptor the WAL is fsynced through (durability full on a file). */
  private readonly closeWalFsync: (() => void) | undefined;
  /** Runs the WAL's checkpoints off the event loop (on a file). */
  readonly checkpointer: WalCheckpointer | undefined;
  /**
   * Runs fn in a transaction, or in a savepoint inside one. Made once: better-sqlite3's transaction()
   * builds four wrapper functions per call, which the per-key write path cannot afford.
   */
  private readonly inTransaction: <T>(fn: () => T) => T;
  /**
   * fqn → ResourceRef of every resource, loaded on first use and kept in step with each write, so a
   * watched directory's inventory costs no decoding. When SQLite rolls a write back, so does the index
   * (see atomically). Another connection's commit (another replica or process) makes it stale: it is
   * loaded again when SQLite's data_version says one happened since (see refs).
   */
  private refIndex: RefIndex | undefined;
  /** data_version when the ref index was loaded: another connection's commit changes it, ours never. */
  private refIndexRevision = 0;
  private readonly refsStmt;
  private readonly dataVersionStmt;
  /**
   * This build closed the store last and nothing wrote since (close() records the resourceVersion): every
   * view was current and every secret sealed then, so the checks at open can be skipped.
   */
  private readonly closedCleanly: boolean;
  /** resealSecrets succeeded: from here on every secret is sealed under this key. */
  private secretsSealed = false;
  private readonly writeListeners = new Set<() => void>();
  private readonly closedCleanlyAt;
  /** The connection's writer and units of work (see units.ts). */
  private readonly units: SqliteUnits;
  /** Writes of the open unit or savepoint, heard of when the outermost unit commits; undefined outside one. */
  private unheard: number | undefined;
  /**
   * A unit or savepoint: the ref index rolls back with it, and so do its writes not yet heard of (a
   * released savepoint's join its parent's); the outermost commit has the listeners hear of them, then
   * runs housekeeping.
   */
  private readonly unitScope: UnitScope<{ index: RefIndex | undefined; mark: number; unheard: number | undefined }> = {
    begin: () => {
      const index = this.refIndex;
      const state = { index, mark: index?.journal() ?? 0, unheard: this.unheard };
      this.unheard = 0;
      return state;
    },
    end: (state, ok, outermost) => {
      const written = this.unheard ?? 0;
      this.unheard = state.unheard;
      if (!ok) this.rollBackIndex(state.index, state.mark);
      else if (!outermost) this.unheard = (this.unheard ?? 0) + written;
      if (!outermost) return;
      this.refIndex?.settle();
      if (ok && written > 0) this.units.whenDurable(() => this.hear());
      if (ok) this.maintainWhenDue();
    },
  };

  constructor(options: SqliteResourceStoreOptions) {
    this.chosenDurability = options.durability ?? 'full';
    // Every commit runs at synchronous=NORMAL; with durability full on a file, WalSync fsyncs the WAL off the
    // event loop before a write is acknowledged (see wal-sync.ts).
    const db = (this.db = openDatabase(options.path, controlPlaneMigrations));
    const onDisk = options.path !== ':memory:' && options.path !== '';
    let walFsync: ReturnType<typeof openWalFsync> | undefined;
    try {
      walFsync = this.chosenDurability === 'full' && onDisk && !options.syncWal ? openWalFsync(options.path) : undefined;
    } catch (err) {
      db.close();
      throw err;
    }
    this.closeWalFsync = walFsync?.close;
    const syncWal = this.chosenDurability === 'full' ? (options.syncWal ?? walFsync?.sync) : undefined;
    const walSync = syncWal && new WalSync(syncWal);
    // A checkpoint's I/O error ends durability as a failed fsync does (see checkpointer.ts).
    const checkpoints = { ...options.checkpoints, ioFailed: walSync && ((reason: string) => walSync.fail(reason)) };
    this.checkpointer = onDisk ? new WalCheckpointer(db, options.path, checkpoints, (until) => this.units.holdWriter(until)) : undefined;
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.changelogMinEntries = options.changelogMinEntries ?? 10_000;
    this.changelogMinAgeMs = options.changelogMinAgeMs ?? 3_600_000;
    this.eventMaxAgeMs = options.eventMaxAgeMs ?? 24 * 3_600_000;
    this.maintenanceEveryWrites = options.maintenanceEveryWrites ?? 500;
    this.isoNow = new IsoNow(this.clock);
    this.inTransaction = db.transaction((fn: () => unknown) => fn()) as <T>(fn: () => T) => T;
    const rows = new RowCodec(this.codec);
    this.reads = new SqliteResourceReads(db, rows);
    this.changelog = new SqliteChangelog(db);
    this.events = new SqliteEvents(db, options.eventMaxPerResource ?? 100);
    this.files = new SqliteSourceFiles(db);
    this.revisions = new SqliteRevisions(db, rows, revisionRetention(options), this.clock);
    this.writes = new SqliteResourceWrites({
      db,
      rows,
      reads: this.reads,
      changelog: this.changelog,
      views: options.views,
      clock: this.isoNow,
      refs: () => this.refIndex,
      revisions: this.revisions,
    });
    this.statusWrites = new SqliteStatusWrites(db, this.reads, this.changelog, options.views, this.isoNow);
    this.refsStmt = db.prepare('SELECT fqn, id, tenant, name, generation, source FROM resources');
    this.dataVersionStmt = db.prepare('PRAGMA data_version').pluck();
    // The resourceVersion at which this build last closed the store (see closedCleanly).
    this.closedCleanlyAt = {
      get: db.prepare("SELECT value FROM counters WHERE name = 'closed_cleanly_at'").pluck(),
      set: db.prepare("INSERT INTO counters (name, value) VALUES ('closed_cleanly_at', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
    };
    this.closedCleanly = this.closedCleanlyAt.get.get() === this.changelog.currentResourceVersion();
    this.units = new SqliteUnits(db, walSync, () => this.checkpointer?.committed());
    const referencesShown = showMaskedReferences(db, this.codec);
    renderStaleViews(db, options.views, this.closedCleanly && referencesShown === 0);
  }

  // ResourceReader

  get(fqn: string, options?: GetOptions): Promise<McpServerResource | undefined> {
    return this.units.call(() => this.reads.get(fqn, options));
  }

  getWithAnswer(fqn: string, options?: GetOptions): Promise<{ resource: McpServerResource; answer: StoredAnswerTexts } | undefined> {
    return this.units.call(() => this.reads.getWithAnswer(fqn, options));
  }

  getById(id: string): Promise<McpServerResource | undefined> {
    return this.units.call(() => this.reads.getById(id));
  }

  list(query: ListQuery): Promise<{ items: McpServerResource[]; total: number }> {
    return this.units.call(() => this.reads.list(query));
  }

  listViews(query: ListQuery): Promise<{ views: string[]; total: number }> {
    return this.units.call(() => this.reads.listViews(query));
  }

  listKeys(query: ListQuery): Promise<{ fqns: string[]; total: number }> {
    return this.units.call(() => this.reads.listKeys(query));
  }

  viewsOf(fqns: readonly string[]): Promise<string[]> {
    return this.units.call(() => this.reads.viewsOf(fqns));
  }

  listRefs(tenant: string): Promise<readonly ResourceRef[]> {
    return this.units.call(() => this.refs().ofTenant(tenant));
  }

  readinessCounts(tenant: string): Promise<ReadinessCount[]> {
    return this.units.call(() => this.reads.readinessCounts(tenant));
  }

  sourcesOf(fqns: readonly string[]): Promise<Map<string, SourceRef>> {
    return this.units.call(() => this.reads.sourcesOf(fqns));
  }

  syncStates(): Promise<ResourceSyncState[]> {
    return this.units.call(() => this.reads.syncStates());
  }

  keys(): Promise<string[]> {
    return this.units.call(() => this.reads.keys());
  }

  count(): Promise<number> {
    return this.units.call(() => this.reads.count());
  }

  // ResourceWriter

  create(input: NewResource, options?: WriteOptions): Promise<McpServerResource> {
    return this.units.write(() => this.write(() => this.withEvents(this.writes.create(input, options?.revision), options)), this.unitScope);
  }

  update(fqn: string, update: ResourceUpdate, options?: WriteOptions): Promise<McpServerResource> {
    return this.units.write(() => this.write(() => this.withEvents(this.writes.update(fqn, update, options?.expect, options?.revision), options)), this.unitScope);
  }

  remove(fqn: string, options?: WriteOptions): Promise<McpServerResource | undefined> {
    return this.units.write(
      () =>
        this.write(() => {
          const removed = this.writes.remove(fqn, options?.expect);
          return removed && this.withEvents(removed, options);
        }),
      this.unitScope,
    );
  }

  /** Records the events of a write in its transaction. */
  private withEvents(written: McpServerResource, options: WriteOptions | undefined): McpServerResource {
    const events = options?.events;
    if (events) for (const e of events) this.events.record({ ...e, fqn: written.fqn, resourceId: written.id }, this.isoNow.now());
    return written;
  }

  // StatusWriter

  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): Promise<number | undefined> {
    return this.units.write(() => this.statusWrites.setStatus(fqn, status, expect, (fn) => this.write(fn)), this.unitScope);
  }

  /** One statement writes (a bump or an insert), atomic by itself: no savepoint around it. */
  recordEvent(event: EventInput): Promise<void> {
    return this.units.write(() => {
      this.events.record(event, this.isoNow.now());
      this.written();
    }, this.unitScope);
  }

  // RevisionLog

  listRevisions(resourceId: string, page: Page): Promise<{ items: Revision[]; total: number }> {
    return this.units.call(() => this.revisions.list(resourceId, page));
  }

  getRevision(resourceId: string, generation: number): Promise<Revision | undefined> {
    return this.units.call(() => this.revisions.get(resourceId, generation));
  }

  revisedIdOf(fqn: string): Promise<string | undefined> {
    return this.units.call(() => this.revisions.idOf(fqn));
  }

  // EventLog

  listEvents(query: EventQuery): Promise<StoredEvent[]> {
    return this.units.call(() => this.events.list(query));
  }

  // SourceInventory

  fileRefs(tenant: string, root: string): Promise<ReadonlyMap<string, ResourceRef>> {
    return this.units.call(() => this.refs().ofRoot(tenant, root));
  }

  fileRefsAt(tenant: string, root: string, path: string): Promise<ResourceRef[]> {
    return this.units.call(() => this.refs().ofPath(tenant, root, path));
  }

  sourceFiles(root: string): Promise<SourceFileRecord[]> {
    return this.units.call(() => this.files.list(root));
  }

  recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): Promise<void> {
    return this.units.write(() => {
      if (files.size > 0) this.atomically(() => this.files.record(root, files));
    }, this.unitScope);
  }

  // ChangeLog

  currentResourceVersion(): Promise<number> {
    return this.units.call(() => this.changelog.currentResourceVersion());
  }

  async changesSince(resourceVersion: number, limit: number): Promise<Change[]> {
    const changes = await this.units.call(() => this.changelog.changesSince(resourceVersion, limit));
    // What a watcher is handed is durable: a commit it read may still wait for its fsync (a power loss would
    // take it back and give its resourceVersion to another write), and an fsync started after the read covers it.
    if (changes.length > 0) await this.units.durableNow();
    return changes;
  }

  snapshot<T>(fn: () => Promise<T>): Promise<T> {
    // A unit holds the one writer: nothing commits while fn reads.
    return this.transaction(fn);
  }

  onWrite(listener: () => void): () => void {
    this.writeListeners.add(listener);
    return () => void this.writeListeners.delete(listener);
  }

  oldestRetainedResourceVersion(): Promise<number> {
    return this.units.call(() => this.changelog.oldestRetainedResourceVersion());
  }

  // Transactions

  transaction<T>(fn: () => Promise<T>, options?: UnitOptions): Promise<T> {
    return this.units.transaction(fn, this.unitScope, options);
  }

  // Life cycle

  /** What an acknowledged write survives (see Durability). */
  durability(): Durability {
    return this.chosenDurability;
  }

  /**
   * See resealColumn: seals secrets stored before encryption and checks the key against the rest. After a
   * clean close with nothing written since, every value was sealed then: only the key is checked.
   */
  resealSecrets(): Promise<number> {
    return this.units.call(() => this.resealSecretsNow());
  }

  private resealSecretsNow(): number {
    // Revisions keep their secrets sealed as the rows do, so they are sealed (and checked) alike.
    const resealed =
      this.closedCleanly && checkColumnKey(this.db, 'resources', 'secrets', this.codec)
        ? 0
        : resealColumn(this.db, 'resources', 'fqn', 'secrets', this.codec) + resealColumn(this.db, 'revisions', 'rowid', 'secrets', this.codec);
    this.secretsSealed = true;
    return resealed;
  }

  /** After the open unit and the writes made so far, if any: their commits come first. */
  async close(): Promise<void> {
    await this.units.settled();
    await this.units.durableIdle();
    await this.checkpointer?.close();
    return this.units.call(() => {
      if (!this.db.open) return;
      // A clean close vouches for the secrets only once resealSecrets has sealed them all (not after it failed).
      if (this.secretsSealed) this.closedCleanlyAt.set.run(this.changelog.currentResourceVersion());
      // Closing checkpoints the WAL into the database file and fsyncs both (synchronous=NORMAL in WAL mode).
      this.db.close();
      this.closeWalFsync?.();
    });
  }

  private refs(): RefIndex {
    if (this.refIndex && this.dataVersion() !== this.refIndexRevision) this.refIndex = undefined;
    if (!this.refIndex) {
      this.refIndexRevision = this.dataVersion();
      const rows = this.refsStmt.all() as Pick<ResourceRow, 'fqn' | 'id' | 'tenant' | 'name' | 'generation' | 'source'>[];
      this.refIndex = new RefIndex(rows.map((r) => refOf(r.fqn, r.id, r.tenant, r.name, r.generation, JSON.parse(r.source) as SourceRef)));
    }
    return this.refIndex;
  }

  private dataVersion(): number {
    return this.dataVersionStmt.get() as number;
  }

  /**
   * fn in a transaction (a savepoint inside one), and the ref index rolled back with it. A group member's
   * write runs as it is: the member's savepoint and scope are exactly that (units.ts).
   */
  private atomically<T>(fn: () => T): T {
    if (this.units.inGroupMember()) return fn();
    const outermost = !this.db.inTransaction;
    const index = this.refIndex;
    const mark = index?.journal() ?? 0;
    let result: T;
    try {
      result = this.inTransaction(fn);
    } catch (err) {
      this.rollBackIndex(index, mark);
      throw err;
    } finally {
      if (outermost) this.refIndex?.settle();
    }
    if (outermost) this.maintainWhenDue();
    return result;
  }

  /** The transaction or savepoint that began when the index was `index` at `mark` rolled back. */
  private rollBackIndex(index: RefIndex | undefined, mark: number): void {
    // An index loaded inside the rolled-back transaction may hold rows SQLite no longer has.
    if (this.refIndex !== index) this.refIndex = undefined;
    else index?.rollback(mark);
  }

  /** One transaction per write, plus bounded housekeeping of the changelog and events now and then. */
  private write<T>(fn: () => T): T {
    const result = this.atomically(fn);
    this.written();
    return result;
  }

  /** After every write: the listeners hear of it (inside a unit: once it committed), and housekeeping runs when due. */
  private written(): void {
    if (this.unheard !== undefined) this.unheard++;
    else this.hear();
    this.writesSinceMaintenance++;
    this.maintainWhenDue();
  }

  private hear(): void {
    if (this.writeListeners.size > 0) outsideUnits(() => this.writeListeners.forEach((listener) => listener()));
  }

  /**
   * Housekeeping runs outside any transaction (after the outermost one commits, see atomically): a
   * rollback would undo its deletes but not what the events area remembers of them.
   */
  private maintainWhenDue(): void {
    if (this.writesSinceMaintenance < this.maintenanceEveryWrites || this.db.inTransaction) return;
    this.writesSinceMaintenance = 0;
    this.inTransaction(() => {
      const now = this.clock.now();
      this.changelog.prune(this.changelog.currentResourceVersion() - this.changelogMinEntries, isoTime(now - this.changelogMinAgeMs));
      this.events.prune(isoTime(now - this.eventMaxAgeMs));
      this.revisions.prune();
    });
  }
}
