import type { Request } from 'express';
import type { AccessPolicy } from '../intake/index.js';
import { NotFoundError } from '../domain/errors.js';
import type { McpServerResource } from '../domain/resource.js';
import type { ResourceReader } from '../store/index.js';
import { principalOf } from './authenticate.js';

/**
 * The server a route names (`:name` or `:id`) if the caller may read and use it; otherwise a 404, the same as
 * for a missing one, so a route never tells a caller that a server they may not use exists.
 */
export function usableServer(
  store: Pick<ResourceReader, 'get' | 'getById'>,
  policy: AccessPolicy,
  fqnOf: (name: string) => string,
): (req: Request) => Promise<McpServerResource> {
  return async (req) => {
    const { name, id } = req.params as { name?: string; id?: string };
    const r = name !== undefined ? await store.get(fqnOf(name)) : await store.getById(id ?? '');
    const principal = principalOf(req);
    if (!r || !policy.canRead(principal, r) || !policy.canUse(principal, r.manifest.collaborators, r.accountId)) {
      throw new NotFoundError(`MCP server ${name !== undefined ? `"${name}"` : `with id "${id}"`} not found.`);
    }
    return r;
  };
}
