// The desired-state store: resources, their status, a changelog keyed by a global resourceVersion,
// and events. An interface, so another engine can stand behind it; SQLite is the embedded default.
import type { McpServerManifest } from '../domain/manifest.js';
import type { ConditionStatus, McpServerResource, ResourceStatus, SourceRef, Subject } from '../domain/resource.js';

export interface NewResource {
  id: string;
  tenant: string;
  name: string;
  fqn: string;
  manifest: McpServerManifest;
  specHash: string;
  source: SourceRef;
  metadata: Record<string, unknown>;
  accountId: string;
  createdBy: Subject;
  status: ResourceStatus;
}

export interface ResourceUpdate {
  manifest: McpServerManifest;
  specHash: string;
  /** Bumped by the caller's plan only when the spec hash changed. */
  generation: number;
  source: SourceRef;
  metadata: Record<string, unknown>;
  accountId: string;
  updatedBy: Subject;
  status: ResourceStatus;
}

export interface ListQuery {
  tenant: string;
  limit: number;
  offset: number;
  name?: string;
  tag?: { key: string; value: string };
  /** Restrict to resources a caller may read; undefined means no restriction. */
  filter?: (r: McpServerResource) => boolean;
  /**
   * Answer secret values masked (nothing is decrypted): for callers that answer or log the resources,
   * which mask them anyway. Default false.
   */
  masked?: boolean;
}

/** Who a resource is and who manages it, without its spec, secrets or status (cheap to list). */
export interface ResourceRef {
  fqn: string;
  id: string;
  tenant: string;
  name: string;
  generation: number;
  source: SourceRef;
}

/**
 * A manifest file of a watched directory as it was when its documents were last applied without an
 * error: its content hash, the names it declared, and the fingerprint of the pipeline (schemas) that
 * applied it. A full sync trusts a file whose hash, names and fingerprint still match, without parsing it.
 */
export interface SourceFileRecord {
  /** Relative to the root. */
  path: string;
  contentHash: string;
  /** Sorted. */
  names: string[];
  fingerprint: string;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One entry of the changelog; `object` is the resource as it was after the change (secrets masked). */
export interface Change {
  resourceVersion: number;
  type: ChangeType;
  fqn: string;
  object: McpServerResource;
  at: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  fqn: string;
  resourceId: string;
  type: EventType;
  reason: string;
  message: string;
  /** Who caused it: a subject id, or "reconciler". */
  actor: string;
}

export interface StoredEvent extends EventInput {
  id: number;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

export interface EventQuery {
  /** The events of one resource (by id: a name deleted and created again is another resource). */
  resourceId?: string;
  since?: string;
  /** At most this many events, the newest ones that pass `filter`. */
  limit: number;
  /** Only events this accepts (e.g. those of resources the reader may read); newest first, until `limit`. */
  filter?: (event: StoredEvent) => boolean;
}

/** A manifest the caller already holds, normalised, with its specHash. */
export interface KnownManifest {
  specHash: string;
  manifest: McpServerManifest;
}

export interface GetOptions {
  /**
   * When the stored spec has this hash, the stored manifest is this one: the answer carries it (the
   * same object) and the store decodes and decrypts nothing of its own. Any other hash reads as usual.
   */
  known?: KnownManifest;
}

/** What the API answers for a stored resource, as the store keeps it. */
export interface StoredAnswerTexts {
  /** The resource's view (src/store/resource-view.ts; its proxy path still relative, see viewAnswerer). */
  view: string;
  /** The JSON of its manifest with secrets masked (what the view holds as `manifest`). */
  maskedManifest: string;
}

export interface ResourceReadiness {
  fqn: string;
  /** The status of its Ready condition; undefined when it has none. */
  ready: ConditionStatus | undefined;
  source: SourceRef;
}

export interface ResourceStore {
  get(fqn: string, options?: GetOptions): McpServerResource | undefined;
  /**
   * get() with the texts the API answers for the resource, read in the same row: a write that turns out
   * unchanged answers them instead of presenting and serialising the resource again.
   */
  getWithAnswer(fqn: string, options?: GetOptions): { resource: McpServerResource; answer: StoredAnswerTexts } | undefined;
  getById(id: string): McpServerResource | undefined;
  list(query: ListQuery): { items: McpServerResource[]; total: number };
  /**
   * list() answering each resource's view instead (src/store/resource-view.ts: the JSON text the API
   * answers, secrets masked, rendered when the resource was written), so a page costs no decoding.
   * `masked` does not apply: views are always masked.
   */
  listViews(query: ListQuery): { views: string[]; total: number };
  /**
   * Every resource of a tenant as a ResourceRef, in no particular order. Cheap enough to call on every
   * batch of a watched directory: nothing is decoded. The answered objects are frozen.
   */
  listRefs(tenant: string): readonly ResourceRef[];
  /**
   * The refs of the resources a watched directory (absolute path) manages, by name. A live view, not a
   * copy: it follows the writes that come after (until a rolled-back transaction makes the store
   * rebuild its index, after which it stays as it was). Read-only.
   */
  fileRefs(tenant: string, root: string): ReadonlyMap<string, ResourceRef>;
  /** The refs of the resources one file (path relative to root) of a watched directory manages. */
  fileRefsAt(tenant: string, root: string, path: string): ResourceRef[];
  /**
   * The Ready status and managing source of every resource of a tenant, read by SQLite from the stored
   * status: nothing is decoded or decrypted (the metrics' Ready tally is seeded from it at startup).
   */
  listReadiness(tenant: string): ResourceReadiness[];
  /** Every reconcile key (fqn) in the store. */
  keys(): string[];
  count(): number;

  /** Each write below is one transaction: the row, a new resourceVersion and a changelog entry. */
  create(input: NewResource): McpServerResource;
  update(fqn: string, update: ResourceUpdate): McpServerResource;
  remove(fqn: string): McpServerResource | undefined;
  /**
   * Writes status only when it differs from the stored one; answers the resource's resourceVersion
   * afterwards (undefined: no such resource). With `expect`, writes only while the stored resource still
   * has that id and generation (else undefined). Answers no resource: a reconcile writes one status per
   * key and needs none, and decoding one (secrets decrypted) would cost more than the write.
   */
  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): number | undefined;

  /** The SourceFileRecords of a watched directory (its absolute path). */
  sourceFiles(root: string): SourceFileRecord[];
  /**
   * Records files of a watched directory (a record) or forgets them (null). A record equal to the
   * stored one is not written again.
   */
  recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): void;

  /** Runs fn in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;

  currentResourceVersion(): number;
  changesSince(resourceVersion: number, limit: number): Change[];
  /**
   * Calls listener after each write through this object, synchronously: possibly inside an outer
   * transaction() that has yet to commit, so a listener reads later, never from the call. Answers the
   * unsubscribe. A listener must not throw. (The watch feed wakes on it instead of waiting for a poll.)
   */
  onWrite(listener: () => void): () => void;
  /** The oldest resourceVersion a watch can still resume from. */
  oldestRetainedResourceVersion(): number;

  /** Folds an event into the last one of the same resource (id), type, reason and message (count + 1). */
  recordEvent(event: EventInput): void;
  listEvents(query: EventQuery): StoredEvent[];

  close(): void;
}
