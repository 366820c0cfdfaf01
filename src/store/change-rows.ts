// The changelog table's row and the change it is: the same columns on both engines.
import type { McpServerResource } from '../domain/resource.js';
import type { Change, ChangeType } from './types.js';

export interface ChangeRow {
  resource_version: number;
  type: ChangeType;
  fqn: string;
  object: string;
  at: string;
}

export function changeOfRow(r: ChangeRow): Change {
  return {
    resourceVersion: r.resource_version,
    type: r.type,
    fqn: r.fqn,
    object: JSON.parse(r.object) as McpServerResource,
    at: r.at,
  };
}
