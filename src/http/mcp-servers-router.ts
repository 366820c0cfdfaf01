// The TrueFoundry-style API: /api/svc/v1/mcp-servers.
import { Router, type Request, type Response } from 'express';
import { NotFoundError, ValidationError, type FieldError } from '../domain/errors.js';
import { single, wholeNumberParam } from './query-params.js';
import type { McpServerResource } from '../domain/resource.js';
import { generationETag, GENERATION_ETAG_HEADER, resourceVersionETag, type AccessPolicy, type Intake } from '../intake/index.js';
import { maskManifest, summariseErrors, validateApplyRequest } from '../manifest/index.js';
import type { RefreshServer } from '../reconcile/refresh-server.js';
import type { EventLog, ResourceReader } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { errorBody, requireJson } from './errors.js';
import { presentEvent, presentServer, type PresentOptions } from './present.js';
import { viewAnswerer } from './resource-view.js';
import { PAGE_BATCH, sendStreamedPage } from './streamed-page.js';
import { isAdmissionPolicy } from '../domain/policy.js';
import { presentPolicy } from './present-policy.js';
import { setPolicyWarnings } from './policy-warnings.js';
import type { CallerAuthViews } from './caller-auth-views.js';

export interface McpServersRouterOptions extends PresentOptions {
  intake: Intake;
  store: ResourceReader & EventLog;
  policy: AccessPolicy;
  tenant: string;
  /** Forces a discovery and waits for the status it leads to; without it there is no refresh route. */
  refreshServer?: RefreshServer;
  /** authStatus for the caller on per-user servers; absent: every answer carries the stored one. */
  callerAuth?: CallerAuthViews;
}

const API_SOURCE = { kind: 'api' } as const;

/** Answers JSON text made here (as res.json would answer the value it stands for). */
function sendJson(res: Response, text: string): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.send(text);
}

export function mcpServersRouter(options: McpServersRouterOptions): Router {
  const { intake, store, policy } = options;
  const router = Router();
  const present = (r: McpServerResource) => presentServer(r, options);

  const readable = (req: Request, r: McpServerResource | undefined, what: string): McpServerResource => {
    // A resource of another scope (an admission policy, found by its id) is not a server.
    if (!r || r.tenant !== options.tenant || !policy.canRead(principalOf(req), r)) throw new NotFoundError(`MCP server ${what} not found.`);
    return r;
  };

  /** Both validators of a resource (see intake/preconditions.ts): If-Match takes either. */
  const setValidators = (res: Response, r: McpServerResource) => {
    res.setHeader('ETag', resourceVersionETag(r));
    res.setHeader(GENERATION_ETAG_HEADER, generationETag(r));
  };

  const callerAuth = options.callerAuth;
  /** The presented server, with the caller's authStatus. */
  const presentFor = async (req: Request, r: McpServerResource) => (callerAuth ? callerAuth.object(r, present(r), principalOf(req)) : present(r));
  /** A stored view's text, with the caller's authStatus. */
  const viewFor = (req: Request, view: string) => (callerAuth ? callerAuth.text(view, principalOf(req), (fqn) => store.get(fqn)) : Promise.resolve(view));

  const answerOne = async (req: Request, res: Response, r: McpServerResource) => {
    setValidators(res, r);
    res.json({ data: await presentFor(req, r) });
  };

  router.put('/', requireJson, async (req, res) => {
    // Authorised before the body is validated: a caller who may not write gets no validation work done.
    intake.authorizeWrite(principalOf(req));
    const body = validateApplyRequest(req.body);
    if (!body.ok) {
      throw new ValidationError(summariseErrors('The request body is invalid', body.errors), body.errors);
    }
    const { manifest, dryRun, force, metadata } = body.request;
    const result = await intake.apply({
      manifest,
      dryRun,
      force,
      metadata: (req.body as { metadata?: unknown }).metadata === undefined ? undefined : metadata,
      source: API_SOURCE,
      principal: principalOf(req),
      ifMatch: single(req.headers['if-match']),
      errorPathPrefix: '/manifest',
    });
    if (!result.dryRun) setValidators(res, result.resource);
    setPolicyWarnings(res, result.admission);
    const admission = result.admission.length > 0 ? `,"admission":${JSON.stringify(result.admission)}` : '';
    if (isAdmissionPolicy(result.resource.manifest)) {
      const existingPolicy = result.existing ? JSON.stringify(result.existing.manifest) : 'null';
      sendJson(
        res,
        `{"data":${JSON.stringify(presentPolicy(result.resource))},"action":${JSON.stringify(result.action)},"dryRun":${result.dryRun},` +
          `"existingManifest":${existingPolicy},"diff":${JSON.stringify(result.diff)}${result.warnings.length > 0 ? `,"warnings":${JSON.stringify(result.warnings)}` : ''}}`,
      );
      return;
    }
    // Put together as text: what is answered of the stored resource is stored as text already, and an
    // unchanged write (the GitOps steady state) is answered from those texts alone.
    const stored = result.existingAnswer;
    const data =
      result.resource === result.existing && stored
        ? await viewFor(req, viewAnswerer(options.publicUrl)(stored.view))
        : JSON.stringify(await presentFor(req, result.resource));
    const existingManifest = !result.existing ? 'null' : (stored?.maskedManifest ?? JSON.stringify(maskManifest(result.existing.manifest)));
    const warnings = result.warnings.length > 0 ? `,"warnings":${JSON.stringify(result.warnings)}` : '';
    sendJson(
      res,
      `{"data":${data},"action":${JSON.stringify(result.action)},"dryRun":${result.dryRun},` +
        `"existingManifest":${existingManifest},"diff":${JSON.stringify(result.diff)}${warnings}${admission}}`,
    );
  });

  router.get('/', async (req, res) => {
    const errors: FieldError[] = [];
    const limit = wholeNumberParam(req.query.limit, 'limit', 1, 1000, 100, errors);
    const offset = wholeNumberParam(req.query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0, errors);
    const name = single(req.query.name);
    const tagParam = single(req.query.tag);
    let tag: { key: string; value: string } | undefined;
    if (tagParam !== undefined) {
      const i = tagParam.indexOf(':');
      if (i <= 0) errors.push({ path: '/query/tag', message: `must be key:value, got "${tagParam}"` });
      else tag = { key: tagParam.slice(0, i), value: tagParam.slice(i + 1) };
    }
    if (errors.length > 0) throw new ValidationError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    const readableBy = policy.readScope(principalOf(req));
    const query = {
      tenant: options.tenant,
      limit,
      offset,
      ...(name !== undefined ? { name } : {}),
      ...(tag ? { tag } : {}),
      ...(readableBy ? { readableBy } : {}),
    };
    // The stored views are the answer's items already: the page is their texts, streamed a batch at a time.
    // A page of one batch is read in one statement; a longer one as its keys, then their views batch by batch.
    const answer = viewAnswerer(options.publicUrl);
    const items = async (views: readonly string[]) => Promise.all(views.map((view) => viewFor(req, answer(view))));
    const pagination = (total: number) => `],"pagination":${JSON.stringify({ total, offset, limit })}}`;
    if (limit <= PAGE_BATCH) {
      const { views, total } = await store.listViews(query);
      await sendStreamedPage(res, { head: '{"data":[', tail: pagination(total), size: views.length, read: (from, count) => items(views.slice(from, from + count)) });
      return;
    }
    const { fqns, total } = await store.listKeys(query);
    await sendStreamedPage(res, {
      head: '{"data":[',
      tail: pagination(total),
      size: fqns.length,
      read: async (from, count) => items(await store.viewsOf(fqns.slice(from, from + count))),
    });
  });

  router.get('/name/:name', async (req, res) => {
    const name = req.params.name;
    await answerOne(req, res, readable(req, await store.get(intake.fqnOf(name)), `"${name}"`));
  });

  /** The resource a route names: by name under /name/:name, else by id. */
  const named = async (req: Request): Promise<{ r: McpServerResource; what: string }> => {
    const { name, id } = req.params as { name?: string; id?: string };
    if (name !== undefined) return { r: readable(req, await store.get(intake.fqnOf(name)), `"${name}"`), what: `"${name}"` };
    return { r: readable(req, await store.getById(id ?? ''), `with id "${id}"`), what: `with id "${id}"` };
  };

  const events = async (req: Request, res: Response) => {
    const { r } = await named(req);
    res.json({ data: (await store.listEvents({ resourceId: r.id, limit: 100 })).map(presentEvent) });
  };
  router.get('/name/:name/events', events);
  router.get('/:id/events', events);

  // Forces a discovery; answers the resource once that discovery finished and the reconcile after it
  // wrote status, or 504 saying why not (waiting for a slot, still running) after one discovery timeout
  // and a margin. Reading is enough: a refresh changes no desired state.
  const refreshServer = options.refreshServer;
  if (refreshServer) {
    const refresh = async (req: Request, res: Response) => {
      const { r, what } = await named(req);
      const callerGone = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) callerGone.abort();
      });
      const answer = await refreshServer(r.fqn, callerGone.signal);
      if (!answer.ok) {
        if (answer.reason === 'NotFound') throw new NotFoundError(answer.message);
        if (res.destroyed) return;
        res.status(answer.reason === 'Timeout' ? 504 : 503).json(errorBody(answer.reason, answer.message));
        return;
      }
      await answerOne(req, res, readable(req, await store.get(r.fqn), what));
    };
    router.post('/name/:name/refresh', refresh);
    router.post('/:id/refresh', refresh);
  }

  router.get('/:id', async (req, res) => {
    await answerOne(req, res, readable(req, await store.getById(req.params.id), `with id "${req.params.id}"`));
  });

  const remove = async (req: Request, res: Response, r: McpServerResource) => {
    const removed = await intake.delete({
      fqn: r.fqn,
      source: API_SOURCE,
      // ?force=true deletes a server a watched file declares (e.g. one whose file is gone while the prune is held back).
      force: single(req.query.force) === 'true',
      principal: principalOf(req),
      ifMatch: single(req.headers['if-match']),
    });
    res.json({ data: present(removed) });
  };

  router.delete('/name/:name', async (req, res) => {
    const name = req.params.name;
    await remove(req, res, readable(req, await store.get(intake.fqnOf(name)), `"${name}"`));
  });

  router.delete('/:id', async (req, res) => {
    await remove(req, res, readable(req, await store.getById(req.params.id), `with id "${req.params.id}"`));
  });

  return router;
}
