// GET /api/svc/v1/sources: the watched manifest directories, their files, the servers each file
// declares and every error in each file. A caller sees only the servers it may read; a non-admin sees
// only the files that declare one of those.
import { Router } from 'express';
import type { McpServerResource } from '../domain/resource.js';
import type { AccessPolicy } from '../intake/index.js';
import type { SourceStatus } from '../sources/index.js';
import { principalOf } from './authenticate.js';

/** What the router needs of the sources: their status, filtered by what the caller may read. */
export interface SourcesView {
  list(canRead: (r: McpServerResource) => boolean): Promise<SourceStatus[]>;
}

export function sourcesRouter(options: { sources?: SourcesView; policy: AccessPolicy }): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const principal = principalOf(req);
    const data = (await options.sources?.list((r) => options.policy.canRead(principal, r))) ?? [];
    if (principal.role === 'admin') return void res.json({ data });
    // Others see the files that declare a server they may read, and no content hash: the hash covers the
    // file's secret values too, and a file otherwise known could be used to test guesses of them.
    res.json({
      data: data.map((s) => ({
        ...s,
        files: s.files.filter((f) => f.resources.length > 0).map((f) => ({ ...f, contentHash: null })),
      })),
    });
  });
  return router;
}
