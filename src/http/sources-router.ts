// GET /api/svc/v1/sources: the watched manifest directories, their files, the servers each file
// declares and every error in each file. A caller sees only the servers it may read.
import { Router } from 'express';
import type { McpServerResource } from '../domain/resource.js';
import type { AccessPolicy } from '../intake/index.js';
import type { SourceStatus } from '../sources/index.js';
import { principalOf } from './authenticate.js';

/** What the router needs of the sources: their status, filtered by what the caller may read. */
export interface SourcesView {
  list(canRead: (r: McpServerResource) => boolean): SourceStatus[];
}

export function sourcesRouter(options: { sources?: SourcesView; policy: AccessPolicy }): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const principal = principalOf(req);
    const data = options.sources?.list((r) => options.policy.canRead(principal, r)) ?? [];
    res.json({ data });
  });
  return router;
}
