// Writing desired state: intake's port, and intake's only. Each write is the row, a new resourceVersion
// and a changelog entry; the events intake records with it join the same unit (see Transactions).
// Every write is a compare-and-swap: it throws WriteConflictError, writing nothing, when the stored
// resource is not the one it expects (another writer got there first), so no update is lost.
import type { McpServerResource } from '../domain/resource.js';
import type { EventRecorder } from './event-log.js';
import type { NewResource, ResourceUpdate } from './types.js';

export interface ResourceWriter extends EventRecorder {
  /** WriteConflictError when the name is taken. */
  create(input: NewResource): McpServerResource;
  /**
   * WriteConflictError when there is no such resource, or (with `expect`) when its stored
   * resourceVersion is another: the caller planned the update against an older read.
   */
  update(fqn: string, update: ResourceUpdate, expect?: ExpectedVersion): McpServerResource;
  /**
   * Answers the removed resource (with the resourceVersion of its deletion), or undefined when there was
   * none. With `expect`, WriteConflictError when the stored resourceVersion is another.
   */
  remove(fqn: string, expect?: ExpectedVersion): McpServerResource | undefined;
}

/** The resourceVersion a write was planned against. */
export interface ExpectedVersion {
  resourceVersion: number;
}
