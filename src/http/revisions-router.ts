// The revision history of an MCP server and its rollback, under /api/svc/v1/mcp-servers:
//   GET  /{id}/revisions[?limit&offset]   newest first, paginated (masked spec left out: see the next)
//   GET  /{id}/revisions/{generation}     one revision: the masked spec and the masked diff
//   POST /{id}/rollback                   { toGeneration, dryRun? }: intake.rollback, answered like a PUT
// and the same under /name/{name}. A removed server's revisions stay readable by its id, and by its name
// while no live server has that name, for the retention (--revision-retention). Who may read them: who
// may read the server (a removed one: as it was at its newest revision); anyone else gets 404.
import { setPolicyWarnings } from './policy-warnings.js';
import { Router, type Request, type Response } from 'express';
import { NotFoundError, ValidationError, type FieldError } from '../domain/errors.js';
import type { Collaborator } from '../domain/manifest.js';
import { generationETag, GENERATION_ETAG_HEADER, resourceVersionETag, type AccessPolicy, type Intake } from '../intake/index.js';
import { maskManifest } from '../manifest/index.js';
import type { ResourceReader, Revision, RevisionLog } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { requireJson } from './errors.js';
import { presentServer, type PresentOptions } from './present.js';
import { presentRevision } from './present-revision.js';
import { single } from './query-params.js';

export interface RevisionsRouterOptions extends PresentOptions {
  intake: Intake;
  store: ResourceReader & RevisionLog;
  policy: AccessPolicy;
}

const MAX_PAGE = 1000;

function wholeNumber(value: unknown, path: string, min: number, max: number, errors: FieldError[]): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    errors.push({ path, message: `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}` });
    return undefined;
  }
  return n;
}

function refuse(errors: FieldError[]): never {
  throw new ValidationError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
}

export function revisionsRouter(options: RevisionsRouterOptions): Router {
  const { intake, store, policy } = options;
  const router = Router();

  /** The resource id a route names and its fqn: a live server the caller may read, else a removed one's kept revisions. */
  const named = async (req: Request): Promise<{ id: string; fqn: string; what: string }> => {
    const { name, id } = req.params as { name?: string; id?: string };
    const principal = principalOf(req);
    const what = name !== undefined ? `"${name}"` : `with id "${id}"`;
    const live = name !== undefined ? await store.get(intake.fqnOf(name)) : await store.getById(id ?? '');
    if (live) {
      if (!policy.canRead(principal, live)) throw new NotFoundError(`MCP server ${what} not found.`);
      return { id: live.id, fqn: live.fqn, what };
    }
    const removedId = name !== undefined ? await store.revisedIdOf(intake.fqnOf(name)) : id;
    const newest = removedId === undefined ? undefined : (await store.listRevisions(removedId, { limit: 1, offset: 0 })).items[0];
    // A removed server is readable by whoever could read it as its newest revision left it.
    if (!newest || !policy.canUse(principal, newest.manifest.collaborators as readonly Collaborator[], newest.accountId)) {
      throw new NotFoundError(`MCP server ${what} not found (nor the revisions of a deleted one).`);
    }
    return { id: newest.resourceId, fqn: newest.fqn, what };
  };

  const list = async (req: Request, res: Response) => {
    const errors: FieldError[] = [];
    const limit = req.query.limit === undefined ? 100 : wholeNumber(req.query.limit, '/query/limit', 1, MAX_PAGE, errors);
    const offset = req.query.offset === undefined ? 0 : wholeNumber(req.query.offset, '/query/offset', 0, Number.MAX_SAFE_INTEGER, errors);
    if (errors.length > 0) refuse(errors);
    const { id } = await named(req);
    const page = await store.listRevisions(id, { limit: limit!, offset: offset! });
    res.json({ data: page.items.map((r: Revision) => presentRevision(r, false)), pagination: { total: page.total, offset, limit } });
  };
  router.get('/name/:name/revisions', list);
  router.get('/:id/revisions', list);

  const one = async (req: Request, res: Response) => {
    const errors: FieldError[] = [];
    const generation = wholeNumber(req.params.generation, '/path/generation', 1, Number.MAX_SAFE_INTEGER, errors);
    if (errors.length > 0) refuse(errors);
    const { id, what } = await named(req);
    const revision = await store.getRevision(id, generation!);
    if (!revision) throw new NotFoundError(`MCP server ${what} has no revision ${generation} (the kept ones: GET .../revisions).`);
    res.json({ data: presentRevision(revision, true) });
  };
  router.get('/name/:name/revisions/:generation', one);
  router.get('/:id/revisions/:generation', one);

  const rollback = async (req: Request, res: Response) => {
    const principal = principalOf(req);
    // Authorised before the body is looked at, as every write.
    intake.authorizeWrite(principal);
    const body = req.body as unknown;
    const errors: FieldError[] = [];
    if (typeof body !== 'object' || body === null || Array.isArray(body)) refuse([{ path: '', message: 'must be an object: { "toGeneration": N, "dryRun": false }' }]);
    const fields = body as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (key !== 'toGeneration' && key !== 'dryRun') errors.push({ path: `/${key}`, message: 'is not a field of a rollback; the fields are toGeneration and dryRun' });
    }
    const toGeneration = wholeNumber(fields.toGeneration, '/toGeneration', 1, Number.MAX_SAFE_INTEGER, errors);
    if (fields.dryRun !== undefined && typeof fields.dryRun !== 'boolean') errors.push({ path: '/dryRun', message: `must be true or false, got ${JSON.stringify(fields.dryRun)}` });
    if (errors.length > 0) refuse(errors);
    const { id, fqn } = await named(req);
    const ifMatch = single(req.headers['if-match']);
    const result = await intake.rollback({
      resourceId: id,
      fqn,
      toGeneration: toGeneration!,
      dryRun: fields.dryRun === true,
      principal,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    if (!result.dryRun) {
      res.setHeader('ETag', resourceVersionETag(result.resource));
      res.setHeader(GENERATION_ETAG_HEADER, generationETag(result.resource));
    }
    setPolicyWarnings(res, result.admission);
    res.json({
      data: presentServer(result.resource, options),
      action: result.action,
      dryRun: result.dryRun,
      rolledBackTo: toGeneration,
      existingManifest: result.existing ? maskManifest(result.existing.manifest) : null,
      diff: result.diff,
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
      ...(result.admission.length > 0 ? { admission: result.admission } : {}),
    });
  };
  router.post('/name/:name/rollback', requireJson, rollback);
  router.post('/:id/rollback', requireJson, rollback);

  return router;
}
