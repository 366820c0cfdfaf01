// The data the store ports (resource-reader.ts, resource-writer.ts, …) take and answer. Engine-neutral:
// plain objects, no wire format (the API's JSON is src/http/resource-view.ts).
import type { McpServerManifest } from '../domain/manifest.js';
import type { ConditionStatus, McpServerResource, ResourceStatus, SourceRef, Subject } from '../domain/resource.js';
import type { DiffOp } from '../plan/diff.js';
import type { ReadScope } from '../domain/read-scope.js';

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
  /**
   * Only resources in this scope (a non-admin reader's: see domain/read-scope.ts); undefined means no
   * restriction. Answered from an index: the cost follows the resources in scope, not the store's size.
   */
  readableBy?: ReadScope;
  /** Only the resources of this account (a GAIA project). Answered from an index (tenant, account, name). */
  account?: string;
  /** Restrict to the resources this accepts (read and decoded one by one: prefer tag and readableBy); undefined means no restriction. */
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

/** What the API answers for a stored resource, as the store keeps it (opaque texts, see ViewRenderer). */
export interface StoredAnswerTexts {
  /** The resource's view, as the ViewRenderer rendered it at its last write. */
  view: string;
  /** The JSON of its manifest with secrets masked (what the view holds as `manifest`). */
  maskedManifest: string;
}

/** What a resync compares of a resource (nothing decoded): see reconcile/resync-plan.ts. */
export interface ResourceSyncState {
  fqn: string;
  generation: number;
  /** status.observedGeneration: the generation the reconciler last wrote status for. */
  observedGeneration: number;
}

/** What a resync compares of a gateway entry (nothing decoded or opened). */
export interface EntrySyncState {
  fqn: string;
  generation: number;
}

/**
 * How many servers (admission policies not counted) of one managing source have one Ready status: the
 * database keeps these counts as rows change (triggers), so reading them costs no scan. `source` is
 * "api" or the watched directory's root; a server without a Ready condition counts as Unknown.
 */
export interface ReadinessCount {
  source: string;
  ready: ConditionStatus;
  count: number;
}

/** A page of a newest-first listing. */
export interface Page {
  limit: number;
  offset: number;
}

/** How a revision's write came in, besides its SourceRef: the GAIA-style API, a rollback, a file's line. */
export interface RevisionOrigin {
  /** The route the write came through when it is not told by `source` alone. */
  via?: 'gaia' | 'rollback';
  /** A rollback: the generation whose spec it applied again. */
  rolledBackTo?: number;
  /** A file: the line its document starts at (1-based). */
  line?: number;
}

/** What a write gives the revision it records (a new generation only). */
export interface RevisionNote {
  /** The masked diff from the previous generation (a create lists its fields). */
  diff: readonly DiffOp[];
  origin?: RevisionOrigin;
}

export interface Revision {
  resourceId: string;
  fqn: string;
  name: string;
  generation: number;
  /** Normalised; secrets masked in listings, opened by getRevision. */
  manifest: McpServerManifest;
  diff: DiffOp[];
  source: SourceRef;
  origin: RevisionOrigin;
  subject: Subject;
  accountId: string;
  createdAt: string;
  /** When its resource was removed; undefined while it lives. */
  deletedAt?: string;
}
