// mcp-server/virtual rules the schema cannot state. Pure; on unvalidated input too. Whether a source
// exists, is itself virtual, or may be used by the writer needs the store: intake checks that.
import type { FieldError } from '../domain/errors.js';
import { isPlainObject } from './pointer.js';

/** A virtual server may not list itself among its sources. */
export function checkVirtualManifest(value: Record<string, unknown>): FieldError[] {
  const servers = value.servers;
  if (!Array.isArray(servers) || typeof value.name !== 'string') return [];
  const errors: FieldError[] = [];
  servers.forEach((source, index) => {
    if (isPlainObject(source) && source.name === value.name) {
      errors.push({
        path: `/servers/${index}/name`,
        message: `a virtual server cannot include itself; name a registered mcp-server/remote, mcp-server/stdio or mcp-server/openapi server`,
      });
    }
  });
  return errors;
}
