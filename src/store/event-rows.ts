// The events table's row and the stored event it is: the same columns on both engines.
import type { StoredEvent } from './types.js';

export interface EventRow {
  id: number;
  fqn: string;
  resource_id: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  actor: string;
  count: number;
  first_ts: string;
  last_ts: string;
}

export function eventOfRow(r: EventRow): StoredEvent {
  return {
    id: r.id,
    fqn: r.fqn,
    resourceId: r.resource_id,
    type: r.type,
    reason: r.reason,
    message: r.message,
    actor: r.actor,
    count: r.count,
    firstTimestamp: r.first_ts,
    lastTimestamp: r.last_ts,
  };
}
