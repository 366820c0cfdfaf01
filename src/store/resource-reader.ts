// Reading desired state: the port of every reader of resources (the HTTP API, the reconciler's read,
// metrics at startup). Every call is async: an engine may answer from another process (PostgreSQL). Answers data; the API's JSON is rendered outside the store (ViewRenderer).
import type { McpServerResource, SourceRef } from '../domain/resource.js';
import type { GetOptions, ListQuery, ReadinessCount, ResourceRef, ResourceSyncState, StoredAnswerTexts } from './types.js';

export interface ResourceReader {
  get(fqn: string, options?: GetOptions): Promise<McpServerResource | undefined>;
  /**
   * get() with the texts the API answers for the resource, read in the same row: a write that turns out
   * unchanged answers them instead of presenting and serialising the resource again.
   */
  getWithAnswer(fqn: string, options?: GetOptions): Promise<{ resource: McpServerResource; answer: StoredAnswerTexts } | undefined>;
  getById(id: string): Promise<McpServerResource | undefined>;
  list(query: ListQuery): Promise<{ items: McpServerResource[]; total: number }>;
  /**
   * list() answering each resource's view instead (the opaque text the ViewRenderer made at its last
   * write), so a page costs no decoding. `masked` does not apply: views are always masked.
   */
  listViews(query: ListQuery): Promise<{ views: string[]; total: number }>;
  /**
   * list()'s page as the keys (fqn) of its members, in its order, and the count of all of them, read
   * together: nothing else is read or decoded. A page answered in batches reads their views with viewsOf.
   */
  listKeys(query: ListQuery): Promise<{ fqns: string[]; total: number }>;
  /** The views of these resources (see listViews), in this order; a resource removed since is left out. */
  viewsOf(fqns: readonly string[]): Promise<string[]>;
  /**
   * Every resource of a tenant as a ResourceRef, in no particular order. Nothing is decoded. The
   * answered objects are frozen.
   */
  listRefs(tenant: string): Promise<readonly ResourceRef[]>;
  /** A tenant's servers by managing source and Ready status, from counts the database keeps (no scan); only counts above 0. */
  readinessCounts(tenant: string): Promise<ReadinessCount[]>;
  /** The managing source of each of these resources that exists (one indexed read per key, nothing decoded). */
  sourcesOf(fqns: readonly string[]): Promise<Map<string, SourceRef>>;
  /** Every resource's generation and observed generation, read in one query: nothing is decoded (resync compares them). */
  syncStates(): Promise<ResourceSyncState[]>;
  /** Every reconcile key (fqn) in the store. */
  keys(): Promise<string[]>;
  count(): Promise<number>;
}
