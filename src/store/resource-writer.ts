// Writing desired state: intake's port, and intake's only. Each write is one atomic unit: the row, a new
// resourceVersion, its changelog entry and the events given with it.
// Every write is a compare-and-swap: it rejects with WriteConflictError, writing nothing, when the stored
// resource is not the one it expects (another writer got there first), so no update is lost.
import type { McpServerResource } from '../domain/resource.js';
import type { EventRecorder } from './event-log.js';
import type { EventInput, NewResource, ResourceUpdate, RevisionNote } from './types.js';

export interface ResourceWriter extends EventRecorder {
  /** WriteConflictError when the name is taken. */
  create(input: NewResource, options?: WriteOptions): Promise<McpServerResource>;
  /**
   * WriteConflictError when there is no such resource, or (with `expect`) when its stored
   * resourceVersion is another: the caller planned the update against an older read.
   */
  update(fqn: string, update: ResourceUpdate, options?: WriteOptions): Promise<McpServerResource>;
  /**
   * Answers the removed resource (with the resourceVersion of its deletion), or undefined when there was
   * none (and nothing is written, its events neither). With `expect`, WriteConflictError when the stored
   * resourceVersion is another.
   */
  remove(fqn: string, options?: WriteOptions): Promise<McpServerResource | undefined>;
}

export interface WriteOptions {
  /** Compare-and-swap: the resourceVersion the write was planned against (create needs none: the name must be free). */
  expect?: ExpectedVersion;
  /** Recorded with the write, in the same unit, for the written resource (its fqn and id). */
  events?: readonly WriteEvent[];
  /**
   * For the revision a new generation records (a create, or an update whose generation is above the
   * stored one; see RevisionLog), in the same unit. Absent: recorded with an empty diff.
   */
  revision?: RevisionNote;
}

/** An event of a write: the store fills in the resource it is about. */
export type WriteEvent = Omit<EventInput, 'fqn' | 'resourceId'>;

/** The resourceVersion a write was planned against. */
export interface ExpectedVersion {
  resourceVersion: number;
}
