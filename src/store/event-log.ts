// Events, keyed by resource id: recorded by intake, the reconciler and GitOps; listed by the API.
import type { EventInput, EventQuery, StoredEvent } from './types.js';

export interface EventRecorder {
  /** Folds an event into the last one of the same resource (id), type, reason and message (count + 1). */
  recordEvent(event: EventInput): Promise<void>;
}

export interface EventLog {
  listEvents(query: EventQuery): Promise<StoredEvent[]>;
}
