// One watched directory's desired state: a batch of changed files → a plan (batch-plan.ts: pure; which
// files apply, in which order, which are refused, what is pruned or held back) → carried out in one unit
// of work: intake.applyValidated() for every document of the files it applies, intake.delete() for what
// it prunes.
//
// Contracts (the decisions themselves are listed in batch-plan.ts):
// - The inventory (file → resources) is read from the store (resources whose source is a file under
//   this root), so it survives restarts. A batch reads what it needs of it (its files, their names),
//   never the whole directory.
// - A file is applied as a whole or not at all. A file with any error (syntax, schema, a name another
//   file already declares, a name the API owns) keeps its resources exactly as they were and reports
//   every error at once; other files are unaffected. A refused file changes no stored state: it still
//   declares what it declared before it was refused (while the store holds it), until it reads cleanly
//   or is gone, as Flux keeps a failed build's inventory.
// - A file that would prune is held first (prune-hold.ts): not applied, its servers kept, until it has
//   read the same for the quiet period; the read after that prunes. A name it dropped may meanwhile move
//   to another file of this root, or of another root (handover), keeping its id.
// - A name moving between files of this root in one batch is adopted (same id, createdAt).
// - A full sync (at start, or asked for) does not parse a file applied cleanly before whose bytes, the
//   names the store holds for it and the schemas are unchanged (SourceFileRecord); it only hashes it.
// - Bounded memory: a batch of more files (or bytes) than a part (PART_FILES, PART_BYTES) is read and
//   committed a part at a time, in path order, each part in its own unit of work (the next part read while
//   one commits), so no more than two parts' readings are held at once (see syncInParts). A file whose
//   outcome depends on a file not committed yet (it would prune or hold a name, or claims a name such a
//   file holds or declares) waits, as a path only,
//   for the last unit, which reads it again and carries out every prune: a sync prunes only after every
//   file of it was read and committed, and a failure midway prunes nothing (the parts before it stay
//   committed, recorded and reported). Each file is applied once per sync (one generation per server).
import { policyScope } from '../domain/policy.js';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import { READY, setCondition } from '../domain/conditions.js';
import { ControlPlaneError, ValidationError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { listShown } from '../domain/list-shown.js';
import { gitopsPrincipal, type Principal } from '../domain/principal.js';
import type { Condition, McpServerResource, SourceRef } from '../domain/resource.js';
import type { FileTakeover, Intake } from '../intake/index.js';
import { stableStringify } from '../manifest/index.js';
import { MANIFEST_KINDS } from '../manifest/schemas.js';
import type { EventRecorder, ResourceReader, ResourceRef, SourceFileRecord, SourceInventory, Transactions } from '../store/index.js';
import { sharedParsePool, type ParsePool } from '../manifest/parse-pool.js';
import { comparePaths, isManifestPath, listManifestFiles, toAbsolute } from './manifest-files.js';
import { planBatch, type BatchInput, type PlanInventory, type PlannedFile } from './batch-plan.js';
import type { PruneHold } from './prune-hold.js';
import {
  readManifestFile,
  stillHashesTo,
  toFileError,
  type DeclaredDocument,
  type FileReading,
  type SourceFileError,
} from './read-manifest-file.js';
import { MAX_NAMES_SHOWN, sourceConditions } from './source-conditions.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import { EventReason } from '../domain/event-reasons.js';

/** Batches of at most this many files are read synchronously (see syncBatch). */
const SYNC_READ_MAX_FILES = 8;
/** A part of a large batch (see syncInParts): at most this many files... */
export const PART_FILES = 100;
/** ...and this many bytes of text (a part holds at least one file). */
export const PART_BYTES = 2 * 1024 * 1024;

/**
 * Changes whenever what turns a file into desired state may have changed (the schemas: defaults,
 * rules), so files recorded under another one are read and applied again.
 */
const PIPELINE_FINGERPRINT = createHash('sha256')
  .update(stableStringify(['source-files v1', ...[...MANIFEST_KINDS.values()].map((k) => k.schema)]))
  .digest('hex')
  .slice(0, 32);

export interface DirectorySyncOptions {
  /** The watched directory as configured; resolved to an absolute path. */
  root: string;
  intake: Intake;
  store: ResourceReader & SourceInventory & EventRecorder & Transactions;
  tenant: string;
  allowEmptyPrune: boolean;
  clock?: Clock;
  logger: Logger;
  /** Files read at once. */
  readConcurrency?: number;
  /** How long a file that would prune must read the same first (see prune-hold.ts); 0 (default): no wait. */
  pruneQuietMs?: number;
  /** The other watched roots: a name may move between them (see RootHandover). */
  handover?: RootHandover;
  /** Where files are parsed. Default: the shared pool (sharedParsePool). */
  parsePool?: ParsePool;
  /** A part of a large batch: at most this many files (default PART_FILES) and bytes (PART_BYTES). */
  part?: { files?: number; bytes?: number };
}

/** How the watched roots of one control plane hand names to each other. */
export interface RootHandover {
  /** Whether the file `path` of `root` lets go of `name`: it is held and no longer declares it. */
  releases(root: string, path: string, name: string): boolean;
  /** `root` no longer declares these names (held or pruned): files of other roots refused over them try again. */
  released(root: string, names: string[]): void;
  /** Another root took a name from the file `path` of `root`: that file is read again (its hold may be over). */
  taken(root: string, path: string): void;
}

/** What a file of the source looks like after the last batch that read it. */
interface FileState {
  contentHash: string | null;
  /** Names the file declares as far as they could be read (valid or not). */
  names: Set<string>;
  errors: SourceFileError[];
}

interface Owned {
  fqn: string;
  /** The resource's id (events name it). */
  id: string;
  name: string;
  path: string;
  document: number;
  generation: number;
}

/** name → Owned, as the store says now (see inventory()). */
type Inventory = Pick<ReadonlyMap<string, Owned>, 'get' | 'values' | 'size'>;

export interface SourceFileStatus {
  path: string;
  contentHash: string | null;
  resources: string[];
  errors: { line: number; col: number; pointer: string; message: string }[];
}

export interface SourceStatus {
  /** The watched directory (absolute). */
  path: string;
  lastSyncTime: string | null;
  conditions: Condition[];
  files: SourceFileStatus[];
}

/** What one batch did, in documents and servers. */
export interface BatchResult {
  /** Documents that went through intake.apply without an error (UNCHANGED included). */
  applied: number;
  /** Servers deleted because no file declares them any more. */
  pruned: number;
  /** Servers a prune would have deleted, kept because the directory would have been left empty. */
  heldBack: number;
  /** Files of the batch that were refused (their servers kept as they were). */
  failedFiles: number;
}

export class DirectorySync {
  readonly root: string;
  private readonly intake: Intake;
  private readonly store: ResourceReader & SourceInventory & EventRecorder & Transactions;
  private readonly tenant: string;
  private readonly allowEmptyPrune: boolean;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly principal: Principal;
  private readonly readConcurrency: number;
  private readonly pruneQuietMs: number;
  private readonly handover: RootHandover | undefined;
  private readonly parsePool: ParsePool;
  private readonly part: { files: number; bytes: number };

  /** Files held back from pruning (see prune-hold.ts), by path. */
  private readonly holds = new Map<string, PruneHold>();
  private readonly files = new Map<string, FileState>();
  /** The files of `files` that have errors (few), so a batch never walks every file to find them. */
  private readonly failing = new Set<string>();
  /** Files whose resources wait for a prune after the last batch (see syncBatch); before the first, unknown. */
  private awaitingPrune: Set<string> | undefined;
  /** Owned entries made from the store's (immutable) refs, made once per ref: a batch allocates nothing per resource. */
  private readonly ownedByRef = new WeakMap<ResourceRef, Owned>();
  /** Files of other roots this batch took names from (see RootHandover.taken): root → paths. */
  private readonly takenFrom = new Map<string, Set<string>>();
  /**
   * Names deleted through the API with force from a file of this root (see taken): name → the file and who.
   * In memory, like holds: a restart lets the file create the name again.
   */
  private readonly forcedDeletes = new Map<string, { path: string; by: string }>();
  private conditions: Condition[];
  private lastSyncTime: string | null = null;
  private syncs = 0;

  constructor(options: DirectorySyncOptions) {
    this.root = resolve(options.root);
    this.intake = options.intake;
    this.store = options.store;
    this.tenant = options.tenant;
    this.allowEmptyPrune = options.allowEmptyPrune;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.principal = gitopsPrincipal(options.tenant);
    this.readConcurrency = options.readConcurrency ?? 32;
    this.pruneQuietMs = options.pruneQuietMs ?? 0;
    this.handover = options.handover;
    this.parsePool = options.parsePool ?? sharedParsePool();
    this.part = { files: Math.max(1, options.part?.files ?? PART_FILES), bytes: options.part?.bytes ?? PART_BYTES };
    this.conditions = setCondition(
      [],
      { type: READY, status: 'Unknown', reason: ConditionReason.Syncing, message: 'The first sync of this directory has not finished yet.', observedGeneration: 0 },
      this.now(),
    );
  }

  /** Paths (relative to root) this source has read and that still exist. */
  knownPaths(): string[] {
    return [...this.files.keys()];
  }

  /** When the earliest held file is due to be read again, and every held file (read together then). */
  nextDue(): { at: number; paths: string[] } | undefined {
    if (this.holds.size === 0) return undefined;
    let at = Infinity;
    for (const hold of this.holds.values()) at = Math.min(at, hold.since + this.pruneQuietMs);
    return { at, paths: [...this.holds.keys()] };
  }

  /** See RootHandover.releases. */
  releases(path: string, name: string): boolean {
    return this.holds.get(path)?.dropped.includes(name) ?? false;
  }

  /**
   * A forced API write or delete took `taken.name` from the file `path`. A write leaves the name with the
   * API (the file's next read meets the ownership conflict); a delete is remembered, so that the file, the
   * source of truth, is refused for the name instead of creating it again, until it stops declaring it.
   */
  taken(path: string, taken: FileTakeover): void {
    if (taken.deleted) this.forcedDeletes.set(taken.name, { path, by: taken.by });
  }

  /** Every file refused (with errors). */
  refusedFiles(): string[] {
    return [...this.failing];
  }

  /** Files refused (with errors) that declare one of these names. */
  refusedDeclaring(names: readonly string[]): string[] {
    return [...this.failing].filter((path) => names.some((n) => this.files.get(path)!.names.has(n)));
  }

  /**
   * Reads the changed files (or, for a full sync, every file) and converges the store on them.
   * Callers serialise batches; this method does not.
   */
  async syncBatch(changed: Iterable<string>, full: boolean): Promise<BatchResult> {
    const paths = new Set<string>();
    let directoryMissing = false;
    if (full) {
      const listed = await listManifestFiles(this.root);
      directoryMissing = listed === undefined;
      for (const p of listed ?? []) paths.add(p);
      for (const p of this.files.keys()) paths.add(p);
    } else {
      for (const p of changed) if (isManifestPath(p)) paths.add(p);
      directoryMissing = isMissingDirectory(this.root);
    }
    // Files whose resources wait for a prune (a held-back prune, or a file that vanished while the
    // server was down) are read again every batch until they are settled. A full sync reads every file
    // the store knows; any other batch the files the last batch left waiting (see awaitingPrune), so a
    // batch costs what its files hold, not what the directory holds.
    if (full || !this.awaitingPrune) {
      for (const r of (await this.fileRefs()).values()) {
        const path = filePathOf(r);
        if (full || this.awaitsPrune(path, r.name)) paths.add(path);
      }
    } else {
      for (const p of this.awaitingPrune) paths.add(p);
    }
    // A file refused over a name that a file of this batch may now release gets another chance here,
    // so the name moves to it (keeping its id) instead of being pruned.
    const released = new Set<string>();
    for (const p of paths) {
      this.files.get(p)?.names.forEach((n) => released.add(n));
      for (const r of await this.fileRefsAt(p)) released.add(r.name);
    }
    for (const path of this.failing) {
      if ([...this.files.get(path)!.names].some((n) => released.has(n))) paths.add(path);
    }
    // A full sync trusts a file applied cleanly before whose bytes, names and pipeline are unchanged: it
    // is hashed, not parsed or applied again, so a restart on an unchanged directory writes nothing.
    const trusted = full ? await this.trustedFiles(await this.inventory()) : new Map<string, SourceFileRecord>();
    const toRead: string[] = [];
    for (const p of [...paths].sort(comparePaths)) {
      const record = trusted.get(p);
      if (record && stillHashesTo(this.root, p, record.contentHash)) {
        this.setFile(p, { contentHash: record.contentHash, names: new Set(record.names), errors: [] });
      } else {
        toRead.push(p);
      }
    }
    const parts = partsOf(this.root, toRead, this.part);
    if (parts.length > 1) return this.syncInParts(parts, directoryMissing);
    // An edit touches a file or a few: read at once, not queued behind other work in the thread pool.
    const readings =
      toRead.length <= SYNC_READ_MAX_FILES
        ? await Promise.all(toRead.map((p) => readManifestFile(this.root, p, this.parsePool, { syncRead: true })))
        : await this.read(toRead);
    // One unit: the conditions change in it, with the files' errors, so no reader sees one without the other.
    const done = await this.commit(readings, (d) => this.finish(directoryMissing, d.heldBack, d.awaiting));
    return done.batch;
  }

  /**
   * A batch of several parts: each part read and committed in its own unit of work, in path order; the
   * files that must wait (see waiting) are read again and committed last, in one unit with every prune.
   * Until that last unit has committed, the files that wait for a prune are unknown (a failure midway
   * leaves the next batch to look at every file's servers).
   */
  private async syncInParts(parts: string[][], directoryMissing: boolean): Promise<BatchResult> {
    this.awaitingPrune = undefined;
    const uncommitted = new Set(parts.flat());
    const waiting = { paths: [] as string[], names: new Set<string>() };
    const total: BatchResult = { applied: 0, pruned: 0, heldBack: 0, failedFiles: 0 };
    const awaiting = new Set<string>();
    const add = (done: Committed) => {
      for (const key of Object.keys(total) as (keyof BatchResult)[]) total[key] += done.batch[key];
      done.awaiting.forEach((p) => awaiting.add(p));
    };
    // The next part is read while this one commits, so the parse workers never wait for a commit (and the
    // reconciles the committed parts started): two parts' readings at most.
    let next: Promise<FileReading[]> | undefined = this.read(parts[0]!);
    for (let i = 0; i < parts.length; i++) {
      const readings = await next!;
      next = i + 1 < parts.length ? this.read(parts[i + 1]!) : undefined;
      // A failed commit leaves the read ahead unawaited: it settles (never rejects) and is dropped.
      next?.catch(() => undefined);
      const later = await this.waiting(readings, uncommitted, waiting.names);
      for (const r of readings) {
        if (!later.has(r.path)) continue;
        waiting.paths.push(r.path);
        if (r.kind === 'read') r.names.forEach((n) => waiting.names.add(n));
      }
      const now = readings.filter((r) => !later.has(r.path));
      if (now.length > 0) add(await this.commit(now));
      for (const r of now) uncommitted.delete(r.path);
    }
    let heldBack: string[] = [];
    if (waiting.paths.length > 0) {
      const last = await this.commit(await this.read(waiting.paths));
      add(last);
      heldBack = last.heldBack;
    }
    this.finish(directoryMissing, heldBack, awaiting);
    return total;
  }

  /**
   * The files of a part that must wait for the last unit: committed now, each could decide differently
   * than in one batch of the whole. A file waits when it would prune or hold a name (it no longer declares
   * a name the store holds for it: another file may declare it), or declares a name the store gives to a
   * file not committed yet, or a name a waiting file declares (the first path would no longer win). A
   * refused file keeps what it declared (see batch-plan.ts): it never waits.
   */
  private async waiting(readings: readonly FileReading[], uncommitted: ReadonlySet<string>, waitingNames: ReadonlySet<string>): Promise<Set<string>> {
    const refs = await this.fileRefs();
    const later = new Set<string>();
    const clean = readings.filter((r): r is Extract<FileReading, { kind: 'read' }> => r.kind === 'read' && r.errors.length === 0);
    for (const r of readings) {
      if (r.kind === 'read' && r.errors.length > 0) continue;
      const declares = new Set(r.kind === 'read' ? r.names : []);
      if ((await this.fileRefsAt(r.path)).some((ref) => !declares.has(ref.name))) later.add(r.path);
    }
    const inPart = new Set(readings.map((r) => r.path));
    for (let more = true; more; ) {
      more = false;
      const names = new Set(waitingNames);
      for (const r of clean) if (later.has(r.path)) r.names.forEach((n) => names.add(n));
      for (const r of clean) {
        if (later.has(r.path)) continue;
        const waits = r.names.some((name) => {
          if (names.has(name)) return true;
          const ref = refs.get(name);
          const owner = ref && filePathOf(ref);
          return owner !== undefined && owner !== r.path && uncommitted.has(owner) && (!inPart.has(owner) || later.has(owner));
        });
        if (waits) {
          later.add(r.path);
          more = true;
        }
      }
    }
    return later;
  }

  private read(paths: readonly string[]): Promise<FileReading[]> {
    return mapLimit([...paths], this.readConcurrency, (p) => readManifestFile(this.root, p, this.parsePool));
  }

  /** Recorded files (see SourceFileRecord) that still stand for exactly what the store holds for them. */
  private async trustedFiles(inventory: Inventory): Promise<Map<string, SourceFileRecord>> {
    const namesByPath = new Map<string, string[]>();
    for (const owned of inventory.values()) namesByPath.set(owned.path, [...(namesByPath.get(owned.path) ?? []), owned.name]);
    const trusted = new Map<string, SourceFileRecord>();
    for (const record of await this.store.sourceFiles(this.root)) {
      if (record.fingerprint !== PIPELINE_FINGERPRINT || (this.files.get(record.path)?.errors.length ?? 0) > 0) continue;
      const names = (namesByPath.get(record.path) ?? []).sort(comparePaths);
      if (names.length !== record.names.length || names.some((n, i) => n !== record.names[i])) continue;
      trusted.set(record.path, record);
    }
    return trusted;
  }

  /** A batch failed as a whole; nothing of it was committed beyond what it finished. */
  reportFailure(message: string): void {
    this.conditions = setCondition(
      this.conditions,
      { type: READY, status: 'False', reason: ConditionReason.SyncFailed, message: `Syncing ${this.root} failed: ${message}; retrying.`, observedGeneration: this.syncs },
      this.now(),
    );
  }

  /** The source as an API answers it; `canRead` filters the resources a caller may see. */
  async status(canRead: (r: McpServerResource) => boolean = () => true): Promise<SourceStatus> {
    const byPath = new Map<string, string[]>();
    const { items } = await this.store.list({
      tenant: this.tenant,
      limit: Number.MAX_SAFE_INTEGER,
      offset: 0,
      filter: (r) => r.source.kind === 'file' && r.source.root === this.root && canRead(r),
    });
    for (const r of items) {
      if (r.source.kind !== 'file') continue;
      const owned = { name: r.name, path: r.source.path };
      const list = byPath.get(owned.path) ?? [];
      list.push(owned.name);
      byPath.set(owned.path, list);
    }
    const paths = new Set([...this.files.keys(), ...byPath.keys()]);
    const files = [...paths].sort(comparePaths).map((path): SourceFileStatus => {
      const state = this.files.get(path);
      const errors = (state?.errors ?? []).map(({ line, col, pointer, message }) => ({ line, col, pointer, message }));
      const hold = this.holds.get(path);
      if (hold) errors.push({ line: 1, col: 1, pointer: '', message: this.holdMessage(hold) });
      return { path, contentHash: state?.contentHash ?? null, resources: (byPath.get(path) ?? []).sort(comparePaths), errors };
    });
    return { path: this.root, lastSyncTime: this.lastSyncTime, conditions: this.conditions, files };
  }

  /**
   * name → the resource of this root that declares it, as the store says: possibly a live view of the
   * store's index (see SourceInventory.fileRefs), so a batch neither decodes nor copies anything per
   * server of the directory. It may follow later writes: it is read before the batch writes, or for
   * files the batch refuses (which it never writes). In no particular order: whatever is reported per
   * resource is sorted by name.
   */
  /**
   * The refs of every resource this root's files manage: servers, and admission policies (their own scope,
   * see domain/policy.ts). One name per root: a server and a policy of one name in one root collide.
   */
  private async fileRefs(): Promise<ReadonlyMap<string, ResourceRef>> {
    const servers = await this.store.fileRefs(this.tenant, this.root);
    const policies = await this.store.fileRefs(policyScope(this.tenant), this.root);
    if (policies.size === 0) return servers;
    const all = new Map(servers);
    for (const [name, ref] of policies) if (!all.has(name)) all.set(name, ref);
    return all;
  }

  /** fileRefs of one file (path relative to root). */
  private async fileRefsAt(path: string): Promise<ResourceRef[]> {
    const servers = await this.store.fileRefsAt(this.tenant, this.root, path);
    const policies = await this.store.fileRefsAt(policyScope(this.tenant), this.root, path);
    return policies.length === 0 ? servers : [...servers, ...policies];
  }

  private async inventory(): Promise<Inventory> {
    const refs = await this.fileRefs();
    const ownedOf = (r: ResourceRef): Owned => {
      let owned = this.ownedByRef.get(r);
      if (!owned) {
        const source = r.source as Extract<SourceRef, { kind: 'file' }>;
        owned = { fqn: r.fqn, id: r.id, name: r.name, path: source.path, document: source.document, generation: r.generation };
        this.ownedByRef.set(r, owned);
      }
      return owned;
    };
    return {
      get size() {
        return refs.size;
      },
      get: (name) => {
        const r = refs.get(name);
        return r && ownedOf(r);
      },
      *values() {
        for (const r of refs.values()) yield ownedOf(r);
      },
    } as Inventory;
  }

  /** undefined: the file is gone. */
  private setFile(path: string, state: FileState | undefined): void {
    if (state) this.files.set(path, state);
    else this.files.delete(path);
    if (state && state.errors.length > 0) this.failing.add(path);
    else this.failing.delete(path);
  }

  private awaitsPrune(path: string, name: string): boolean {
    const state = this.files.get(path);
    if (!state) return true;
    return state.errors.length === 0 && !state.names.has(name);
  }

  private ref(path: string, document: number): SourceRef {
    return { kind: 'file', root: this.root, path, document };
  }

  /**
   * The batch is one unit of work from here on: its reads and writes commit together, and no other write
   * interleaves with them. Other roots hear of it after the commit.
   */
  private async commit(readings: FileReading[], inUnit?: (done: Committed) => void): Promise<Committed> {
    const result = await this.store.transaction(async () => {
      const done = await this.commitInUnit(readings);
      inUnit?.(done);
      return done;
    });
    if (result.released.length > 0) this.handover?.released(this.root, result.released);
    // A savepoint rolled back may have undone some takeovers, and a needless read costs little.
    for (const [root, paths] of this.takenFrom) for (const path of paths) this.handover?.taken(root, path);
    this.takenFrom.clear();
    this.logger.debug({ root: this.root, files: readings.length, ...result.batch }, 'manifest directory synced');
    return result;
  }

  /** A batch is over (every unit of it committed): the source's conditions say so. */
  private finish(directoryMissing: boolean, heldBack: string[], awaiting: Set<string>): void {
    // Only files of this batch can hold resources waiting for a prune now: every file that held one
    // before was in it, and no other file's resources changed.
    this.awaitingPrune = awaiting;
    this.syncs++;
    const now = this.now();
    this.lastSyncTime = now;
    this.conditions = sourceConditions(this.conditions, {
      root: this.root,
      generation: this.syncs,
      heldBack,
      pendingPrune: [...this.holds].map(([path, hold]) => ({ path, names: hold.dropped })),
      quietMs: this.pruneQuietMs,
      directoryMissing,
      files: this.files.size,
      failedFiles: [...this.failing].sort(comparePaths).map((path) => ({ path, first: this.files.get(path)!.errors[0]! })),
      now,
    });
  }

  /**
   * Carries out the plan (batch-plan.ts): every group applied in order, each in a savepoint; when intake
   * refuses a file of a group, the group is undone and the batch planned again knowing it (a file taking
   * a name from it is then refused too), until a pass refuses nothing; then the prune.
   */
  private async commitInUnit(readings: FileReading[]): Promise<Committed> {
    this.takenFrom.clear();
    const input: BatchInput = {
      inventory: await this.planInventory(readings),
      readings,
      known: this.files,
      refusedBefore: this.failing,
      holds: this.holds,
      now: this.clock.now(),
      quietMs: this.pruneQuietMs,
      allowEmptyPrune: this.allowEmptyPrune,
      forcedDeletes: this.forcedDeletes,
    };
    const refusedAtApply = new Map<string, SourceFileError[]>();
    const done = new Set<string>();
    let applied = 0;
    let plan = planBatch(input);
    for (;;) {
      const refusedNow = new Set<string>();
      for (const group of plan.apply) {
        if (group.files.every((f) => done.has(f.path)) || group.takesFrom.some((p) => refusedNow.has(p))) continue;
        const refusals = await this.applyGroup(group.files);
        for (const [path, errors] of refusals) {
          refusedAtApply.set(path, errors);
          refusedNow.add(path);
        }
        if (refusals.size > 0) continue;
        for (const f of group.files) done.add(f.path);
        for (const f of group.files) applied += f.documents.length;
      }
      if (refusedNow.size === 0) break;
      plan = planBatch({ ...input, refusedAtApply });
    }

    const live = await this.inventory();
    const prunedNames: string[] = [];
    for (const entry of plan.prune) {
      const owned = live.get(entry.name);
      if (owned && (await this.prune(owned))) prunedNames.push(entry.name);
    }
    const heldBack = plan.heldBack.map((e) => live.get(e.name)).filter((o): o is Owned => o !== undefined);
    // What each file of the batch now stands for (a later full sync trusts it); a refused, held or vanished file is forgotten.
    const records = new Map<string, Omit<SourceFileRecord, 'path'> | null>();
    for (const r of readings) {
      const clean = r.kind === 'read' && r.contentHash !== null && !plan.refused.has(r.path) && !plan.holds.has(r.path);
      records.set(r.path, clean ? { contentHash: r.contentHash!, names: [...r.names].sort(comparePaths), fingerprint: PIPELINE_FINGERPRINT } : null);
    }
    await this.store.recordSourceFiles(this.root, records);

    // A refused file's servers are as they were: the inventory after the batch names them.
    await this.recordFileErrors(readings, plan.refused, await this.inventory());
    if (heldBack.length > 0) await this.recordHeldBack(heldBack);
    const released = [...prunedNames, ...(await this.updateHolds(readings.map((r) => r.path), plan.holds))];
    // A forced delete is over once the file it was taken from no longer declares the name.
    const inBatch = new Set(readings.map((r) => r.path));
    for (const [name, { path }] of this.forcedDeletes) if (inBatch.has(path) && !plan.declared.get(path)?.has(name)) this.forcedDeletes.delete(name);
    for (const r of readings) {
      const names = plan.declared.get(r.path);
      this.setFile(r.path, r.kind === 'missing' || !names ? undefined : { contentHash: r.contentHash, names, errors: plan.refused.get(r.path) ?? [] });
    }
    const awaiting = new Set<string>();
    for (const r of readings) {
      for (const ref of await this.fileRefsAt(r.path)) if (this.awaitsPrune(r.path, ref.name)) awaiting.add(r.path);
    }
    return {
      batch: { applied, pruned: prunedNames.length, heldBack: heldBack.length, failedFiles: plan.refused.size },
      released,
      heldBack: heldBack.map((o) => o.name),
      awaiting,
    };
  }

  /**
   * The inventory the plan reads, as the store holds it before the batch writes: its size, the files of
   * the batch, and the names those files declare (now or before): O(batch), never the whole directory.
   */
  private async planInventory(readings: readonly FileReading[]): Promise<PlanInventory> {
    const refs = await this.fileRefs();
    const size = refs.size;
    const pathOf = new Map<string, string>();
    const note = (name: string) => {
      const ref = refs.get(name);
      if (ref) pathOf.set(name, filePathOf(ref));
    };
    const namesAt = new Map<string, string[]>();
    for (const r of readings) {
      namesAt.set(r.path, (await this.fileRefsAt(r.path)).map((ref) => ref.name));
      if (r.kind === 'read') r.names.forEach(note);
      if (r.kind === 'read') for (const d of r.documents) note(d.name);
      this.files.get(r.path)?.names.forEach(note);
    }
    return { size, pathOf: (name) => pathOf.get(name), namesAt: (path) => namesAt.get(path) ?? [] };
  }

  /** Keeps the holds of the batch's files; answers the names newly held (other roots may take them). */
  private async updateHolds(paths: string[], holds: ReadonlyMap<string, PruneHold>): Promise<string[]> {
    const released: string[] = [];
    for (const path of paths) {
      const hold = holds.get(path);
      const previous = this.holds.get(path);
      if (!hold) {
        this.holds.delete(path);
        continue;
      }
      const fresh = hold.dropped.filter((n) => !previous?.dropped.includes(n));
      if (fresh.length > 0) {
        released.push(...fresh);
        this.logger.info(
          { root: this.root, path, resources: fresh.length, quietMs: this.pruneQuietMs },
          'a file no longer declares some servers; holding them until it has read the same for the quiet period',
        );
        const message = `${path} no longer declares this server; it is pruned if that lasts ${this.pruneQuietMs} ms. Declare it again to keep it.`;
        for (const ref of await this.fileRefsAt(path)) if (fresh.includes(ref.name)) await this.event(ref, EventReason.PrunePending, message);
      }
      this.holds.set(path, hold);
    }
    return released;
  }

  /**
   * Applies the files of a group in a nested unit of work (a savepoint), undone as a whole when intake
   * refuses any document of any of them: a file is applied whole or not at all, and so is a swap.
   * Answers the refused files with every error of each (none: the group was applied).
   */
  private async applyGroup(files: readonly PlannedFile[]): Promise<Map<string, SourceFileError[]>> {
    const conflicts: [name: string, path: string, message: string][] = [];
    let refusals = new Map<string, SourceFileError[]>();
    try {
      await this.store.transaction(async () => {
        const refused = new Map<string, SourceFileError[]>();
        for (const f of files) {
          const errors: SourceFileError[] = [];
          for (const d of f.documents) errors.push(...(await this.applyDocument(f.path, d, (name, message) => conflicts.push([name, f.path, message]))));
          if (errors.length > 0) refused.set(f.path, errors);
        }
        if (refused.size > 0) throw new GroupRefused(refused);
      });
    } catch (err) {
      if (!(err instanceof GroupRefused)) throw err;
      refusals = err.refusals;
    }
    // Recorded after the savepoint, whose rollback would have taken them along.
    for (const [name, path, message] of conflicts) await this.conflictEvent(name, path, message);
    return refusals;
  }

  /** intake.applyValidated for one document; answers its errors (none: applied). */
  private async applyDocument(path: string, doc: DeclaredDocument, onConflict: (name: string, message: string) => void): Promise<SourceFileError[]> {
    try {
      await this.intake.applyValidated({
        manifest: doc.manifest,
        dryRun: false,
        force: false,
        metadata: undefined,
        source: this.ref(path, doc.document),
        principal: this.principal,
        // The revision a new generation records names the document's line.
        origin: { line: doc.locate('')?.line ?? 1 },
        // Within this root the plan already decided who may hold a name; another root must let go of it.
        mayAdopt: (current) => {
          if (current.kind !== 'file') return false;
          if (current.root === this.root) return true;
          const released = this.handover?.releases(current.root, current.path, doc.name) ?? false;
          if (released) this.takenFrom.set(current.root, (this.takenFrom.get(current.root) ?? new Set()).add(current.path));
          return released;
        },
      });
      return [];
    } catch (err) {
      if (err instanceof ValidationError && err.details.length > 0) return err.details.map((e) => toFileError(path, e, doc.locate));
      if (err instanceof ControlPlaneError) {
        onConflict(doc.name, err.message);
        return [toFileError(path, { path: '/name', message: err.message }, doc.locate)];
      }
      this.logger.error({ root: this.root, path, err: err instanceof Error ? err.stack : String(err) }, 'applying a manifest file failed');
      return [toFileError(path, { path: '', message: `internal error while applying this document: ${(err as Error).message}` }, doc.locate)];
    }
  }

  private async prune(owned: Owned): Promise<boolean> {
    try {
      await this.intake.delete({ fqn: owned.fqn, source: this.ref(owned.path, owned.document), principal: this.principal });
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn({ root: this.root, fqn: owned.fqn, err: message }, 'prune failed');
      await this.event(owned, EventReason.PruneFailed, `${owned.path} no longer declares this server, but deleting it failed: ${message}`);
      return false;
    }
  }

  /** The resource another manager owns hears that a file tried to declare it. */
  private async conflictEvent(name: string, path: string, message: string): Promise<void> {
    const existing = await this.store.get(this.intake.fqnOf(name));
    if (existing && !(existing.source.kind === 'file' && existing.source.root === this.root && existing.source.path === path)) {
      await this.event(existing, EventReason.FileConflict, `File ${path} in ${this.root} declares this server and was refused: ${message}`);
    }
  }

  /** A file that fails keeps its resources; each of them hears why it is not being updated. */
  private async recordFileErrors(readings: FileReading[], failed: Map<string, SourceFileError[]>, inventory: Inventory): Promise<void> {
    for (const r of readings) {
      const errors = failed.get(r.path);
      if (!errors) continue;
      const previous = this.files.get(r.path)?.errors ?? [];
      if (JSON.stringify(previous) === JSON.stringify(errors)) continue;
      const first = errors[0]!;
      const summary = `${r.path}:${first.line}:${first.col}: ${first.message}` + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : '');
      this.logger.warn({ root: this.root, path: r.path, errors: errors.length }, `manifest file refused: ${summary}`);
      const declared = (await this.fileRefsAt(r.path))
        .map((ref) => inventory.get(ref.name)!)
        .sort((a, b) => comparePaths(a.name, b.name));
      for (const owned of declared) {
        await this.event(
          owned,
          EventReason.SourceFileInvalid,
          `The file declaring this server has ${errors.length} error(s), so generation ${owned.generation} is kept as it was: ${summary}`,
        );
      }
    }
  }

  /** A held file as its status reports it (like an error: its servers are kept as they were). */
  private holdMessage(hold: PruneHold): string {
    const shown = listShown(hold.dropped, MAX_NAMES_SHOWN);
    const until = `(since ${isoTime(hold.since)}), then pruned`;
    return hold.content === null
      ? `the file is gone; the ${hold.dropped.length} server(s) it declared (${shown}) are kept until it has stayed gone for ` +
          `${this.pruneQuietMs} ms ${until}. Restore it, or declare them in another file, to keep them.`
      : `the file no longer declares ${hold.dropped.length} server(s) it held (${shown}); it is not applied and they are kept until ` +
          `it has read the same for ${this.pruneQuietMs} ms ${until}. Declare them again to keep them.`;
  }

  private async recordHeldBack(heldBack: Owned[]): Promise<void> {
    this.logger.warn({ root: this.root, resources: heldBack.length }, 'holding back a prune that would empty the directory');
    for (const owned of heldBack) {
      await this.event(
        owned,
        EventReason.PruneHeldBack,
        `${owned.path} no longer declares this server, but pruning it would leave ${this.root} with no servers; kept. ` +
          'Start the server with --allow-empty-prune to allow it.',
      );
    }
  }

  private event(resource: { fqn: string; id: string }, reason: string, message: string): Promise<void> {
    return this.store.recordEvent({
      fqn: resource.fqn,
      resourceId: resource.id,
      type: 'Warning',
      reason,
      message,
      actor: this.principal.subject.subjectId,
    });
  }

  private now(): string {
    return isoTime(this.clock.now());
  }
}

/** What one unit of work of a batch did. */
interface Committed {
  batch: BatchResult;
  /** Names this root no longer declares (pruned, or newly held): other roots may take them. */
  released: string[];
  /** Servers a prune would have deleted, kept because the directory would have been left empty. */
  heldBack: string[];
  /** Files of the unit whose servers wait for a prune. */
  awaiting: Set<string>;
}

/**
 * `paths` (in order) cut into parts of at most `limit.files` files and `limit.bytes` bytes (by their size
 * now; a file that cannot be sized counts as empty: reading it reports what is wrong with it).
 */
function partsOf(root: string, paths: readonly string[], limit: { files: number; bytes: number }): string[][] {
  const parts: string[][] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    const size = sizeOf(root, path);
    if (part.length > 0 && (part.length >= limit.files || bytes + size > limit.bytes)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(path);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

function sizeOf(root: string, path: string): number {
  try {
    return statSync(toAbsolute(root, path)).size;
  } catch {
    return 0;
  }
}

/** Undoes a group's savepoint (see applyGroup), carrying why each refused file was refused. */
class GroupRefused extends Error {
  constructor(readonly refusals: Map<string, SourceFileError[]>) {
    super('a file of the group was refused');
  }
}

/** The path of a resource a file of this root manages (fileRefs answers no other). */
function filePathOf(ref: ResourceRef): string {
  return (ref.source as Extract<SourceRef, { kind: 'file' }>).path;
}

/** Synchronous, like the reads of a small batch (see syncBatch). */
function isMissingDirectory(root: string): boolean {
  try {
    return !statSync(root).isDirectory();
  } catch {
    return true;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
