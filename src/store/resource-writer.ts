// Writing desired state: intake's port, and intake's only. Each write is the row, a new resourceVersion
// and a changelog entry; the events intake records with it join the same unit (see Transactions).
import type { McpServerResource } from '../domain/resource.js';
import type { EventRecorder } from './event-log.js';
import type { NewResource, ResourceUpdate } from './types.js';

export interface ResourceWriter extends EventRecorder {
  create(input: NewResource): McpServerResource;
  update(fqn: string, update: ResourceUpdate): McpServerResource;
  /** Answers the removed resource (with the resourceVersion of its deletion), or undefined when there was none. */
  remove(fqn: string): McpServerResource | undefined;
}
