// The GAIA-style API: /api/mcp/servers. An imperative, project-scoped surface over the same declarative
// core: every write is an Intake.apply / Intake.delete of the manifest the body maps to (gaia-mapping.ts),
// so a server created here is an ordinary resource everywhere else (same id at /api/svc/v1/mcp-servers/{id},
// watch, status, gateway). Answers use GAIA's envelope: { success: true, ... } or
// { success: false, message, errors? } with 400, 401, 403, 404, 409, 413 or 415.
import { isAdmissionPolicy } from '../../domain/policy.js';
import { setPolicyWarnings } from '../policy-warnings.js';
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Clock } from '../../domain/clock.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import type { Principal } from '../../domain/principal.js';
import type { McpServerResource } from '../../domain/resource.js';
import type { AccessPolicy, Intake } from '../../intake/index.js';
import { maskManifest, normaliseManifest, summariseErrors, tidyErrors, validateManifest } from '../../manifest/index.js';
import type { ResourceReader } from '../../store/index.js';
import { authenticate, principalOf } from '../authenticate.js';
import { refuseReservedKeys, verifyJsonDepth } from '../body-guards.js';
import { classifyError, requireJson } from '../errors.js';
import { stdioRefusal, type StdioGate } from '../../stdio/stdio-policy.js';
import type { PresentOptions } from '../present.js';
import {
  displayNameOf,
  manifestFromCreate,
  manifestFromPatch,
  manifestPointerToGaia,
  sameGaiaName,
  type ManifestDraft,
} from './gaia-mapping.js';
import { validateCreateBody, validatePatchBody, type GaiaServerFields } from './gaia-body.js';
import { gaiaErrorBody, presentGaiaServer, presentGaiaTools } from './gaia-present.js';
import type { CallerAuthViews } from '../caller-auth-views.js';
import type { TestConnection } from './test-connection.js';

export interface GaiaRouterOptions extends PresentOptions {
  intake: Intake;
  store: ResourceReader;
  policy: AccessPolicy;
  authenticator: Authenticator;
  tenant: string;
  logger: Logger;
  /** POST /validate: tests a connection to the server a body describes. */
  testConnection: TestConnection;
  /** Who may run stdio servers; absent: nobody (stdio creates answer 403). */
  stdio?: StdioGate;
  /** The one write limiter of the app, so a token has one budget across both APIs. */
  writeLimiter?: RequestHandler | undefined;
  clock?: Clock;
  /** authStatus for the caller on per-user servers; absent: the stored one. */
  callerAuth?: CallerAuthViews;
}

const API_SOURCE = { kind: 'api' } as const;
/** Revisions of its writes say they came through this API. */
const GAIA_ORIGIN = { via: 'gaia' } as const;
const MAX_BODY_BYTES = 1024 * 1024;

/** Errors found in the manifest are reported at the GAIA field they came from. */
function atGaiaFields(err: ValidationError): ValidationError {
  const details = err.details.map((d) => ({ ...d, path: manifestPointerToGaia(d.path) }));
  return new ValidationError(summariseErrors('The request is invalid', details), details);
}

/** A 400 for errors in a GAIA request body: tidied, summarised in the message. */
export function invalid(errors: readonly FieldError[]): ValidationError {
  const details = tidyErrors(errors);
  return new ValidationError(summariseErrors('The request is invalid', details), details);
}

/** Runs an Intake call, with manifest errors moved to GAIA fields. */
async function throughIntake<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof ValidationError ? atGaiaFields(err) : err;
  }
}

export function gaiaRouter(options: GaiaRouterOptions): Router {
  const { intake, store, policy } = options;
  const router = Router();

  router.use(authenticate(options.authenticator));
  if (options.writeLimiter) router.use(options.writeLimiter);
  router.use(express.json({ limit: MAX_BODY_BYTES, type: ['application/json', 'application/*+json'], verify: verifyJsonDepth }));
  router.use(refuseReservedKeys);

  /** A server as GAIA answers it, with the caller's authStatus. */
  const presentFor = async (req: Request, r: McpServerResource) => {
    const server = presentGaiaServer(r, options);
    return options.callerAuth ? options.callerAuth.object(r, server, principalOf(req)) : server;
  };

  const readable = async (req: Request, id: string): Promise<McpServerResource> => {
    const r = await store.getById(id);
    // An admission policy (found by its id) is not a server.
    if (!r || isAdmissionPolicy(r.manifest) || !policy.canRead(principalOf(req), r)) throw new NotFoundError(`MCP server "${id}" not found.`);
    return r;
  };

  const requireProject = (principal: Principal, projectId: string): void => {
    if (principal.role === 'admin' || principal.accounts.includes(projectId)) return;
    throw new ForbiddenError(`You are not a member of project "${projectId}"; your projects: ${principal.accounts.join(', ') || 'none'}.`);
  };

  const requireStdioAllowed = (command: string): void => {
    const refusal = stdioRefusal(options.stdio, command);
    if (refusal) throw new ForbiddenError(refusal);
  };

  /** The servers of a project the caller may read: from the indexes (the project's, the caller's read scope), never every server. */
  const projectServers = async (principal: Principal, projectId: string): Promise<McpServerResource[]> => {
    const readableBy = policy.readScope(principal);
    return (await store.list({ tenant: options.tenant, limit: Number.MAX_SAFE_INTEGER, offset: 0, account: projectId, ...(readableBy ? { readableBy } : {}) })).items;
  };

  /** 409 when another server of the project has this GAIA name (or one that maps to the same resource name). */
  const checkNameFree = async (projectId: string, name: string, resourceName: string, except?: string): Promise<void> => {
    const taken = await store.get(intake.fqnOf(resourceName));
    if (taken && taken.id !== except) {
      throw new ConflictError(
        taken.accountId === projectId
          ? `An MCP server named "${displayNameOf(taken.manifest)}" already exists in project "${projectId}" (serverId ${taken.id}); choose another name or PATCH that server.`
          : `The name "${name}" is taken; choose another name.`,
      );
    }
    const clash = (
      await store.list({ tenant: options.tenant, limit: 1, offset: 0, account: projectId, filter: (r) => r.id !== except && sameGaiaName(projectId, displayNameOf(r.manifest), name) })
    ).items[0];
    if (clash) {
      throw new ConflictError(
        `An MCP server named "${displayNameOf(clash.manifest)}" already exists in project "${projectId}" (serverId ${clash.id}); choose another name or PATCH that server.`,
      );
    }
  };

  router.post('/', requireJson, async (req, res) => {
    const principal = principalOf(req);
    policy.authorizeWrite(principal);
    const body = validateCreateBody(req.body);
    if (!body.ok) throw invalid(body.errors);
    const f: GaiaServerFields = body.value;
    requireProject(principal, f.projectId);
    if (f.transportType === 'stdio') requireStdioAllowed(f.command ?? '');
    const mapped = manifestFromCreate(f, { principal });
    if (!mapped.ok) throw invalid(mapped.errors);
    await checkNameFree(f.projectId, f.name, mapped.value.name);
    const result = await throughIntake(() =>
      intake.apply({ manifest: mapped.value, dryRun: false, force: false, metadata: undefined, source: API_SOURCE, principal, origin: GAIA_ORIGIN }),
    );
    setPolicyWarnings(res, result.admission);
    res.status(201).json({ success: true, message: 'MCP server created successfully', serverId: result.resource.id, ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}) });
  });

  router.get('/', async (req, res) => {
    const principal = principalOf(req);
    const projectId = typeof req.query.projectId === 'string' ? req.query.projectId : '';
    if (projectId === '') throw invalid([{ path: '/query/projectId', message: 'is required: list the servers of one project, ?projectId=<id>' }]);
    requireProject(principal, projectId);
    res.json({ success: true, servers: await Promise.all((await projectServers(principal, projectId)).map((r) => presentFor(req, r))) });
  });

  router.post('/validate', requireJson, async (req, res) => {
    const principal = principalOf(req);
    policy.authorizeWrite(principal);
    const body = validateCreateBody(req.body);
    if (!body.ok) throw invalid(body.errors);
    const f = body.value;
    requireProject(principal, f.projectId);
    if (f.transportType === 'stdio') requireStdioAllowed(f.command ?? '');
    const mapped = manifestFromCreate(f, { principal });
    if (!mapped.ok) throw invalid(mapped.errors);
    const checked = validateManifest(mapped.value);
    if (!checked.ok) throw atGaiaFields(new ValidationError('invalid', checked.errors));
    // Nothing is stored: the answer is the connection test alone, of the manifest as it would be stored (defaults filled).
    res.json(await options.testConnection(normaliseManifest(checked.manifest) as unknown as ManifestDraft, f.transportType));
  });

  router.get('/:serverId', async (req, res) => {
    res.json({ success: true, server: await presentFor(req, await readable(req, String(req.params.serverId))) });
  });

  router.get('/:serverId/tools', async (req, res) => {
    const r = await readable(req, String(req.params.serverId));
    res.json({ success: true, serverId: r.id, tools: presentGaiaTools(r.status.tools) });
  });

  router.patch('/:serverId', requireJson, async (req, res) => {
    const principal = principalOf(req);
    policy.authorizeWrite(principal);
    const r = await readable(req, String(req.params.serverId));
    // Its fields map onto remote and stdio manifests only (not, say, an mcp-server/virtual one).
    if (r.manifest.type !== 'mcp-server/remote' && r.manifest.type !== 'mcp-server/stdio') {
      const message = `MCP server "${r.name}" is an ${r.manifest.type} server, which this API does not change; use PUT /api/svc/v1/mcp-servers with its manifest`;
      throw invalid([{ path: '', message }]);
    }
    const body = validatePatchBody(req.body);
    if (!body.ok) throw invalid(body.errors);
    // The patch is laid over the stored manifest as a caller sees it: secrets masked. Intake restores the
    // ones the body does not send again and knows them as kept (Intake.apply's destination rule).
    const stored = maskManifest(r.manifest) as unknown as ManifestDraft;
    const mapped = manifestFromPatch(stored, r.accountId, body.value);
    if (!mapped.ok) throw invalid(mapped.errors);
    const command = (mapped.value as { command?: unknown }).command;
    if (mapped.value.type === 'mcp-server/stdio' && typeof command === 'string' && command !== (stored as { command?: unknown }).command) {
      requireStdioAllowed(command);
    }
    const newName = body.value.fields.name;
    if (newName !== undefined) await checkNameFree(r.accountId, newName, r.name, r.id);
    const result = await throughIntake(() =>
      intake.apply({ manifest: mapped.value, dryRun: false, force: false, metadata: undefined, source: API_SOURCE, principal, origin: GAIA_ORIGIN }),
    );
    setPolicyWarnings(res, result.admission);
    res.json({ success: true, message: 'MCP server updated successfully', server: await presentFor(req, result.resource), ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}) });
  });

  router.delete('/:serverId', async (req, res) => {
    const r = await readable(req, String(req.params.serverId));
    await intake.delete({ fqn: r.fqn, source: API_SOURCE, principal: principalOf(req) });
    res.json({ success: true, message: 'MCP server deleted successfully', serverId: r.id });
  });

  router.use(((req, res) => {
    res.status(404).json(gaiaErrorBody(`No route for ${req.method} ${req.baseUrl}${req.path}.`));
  }) satisfies RequestHandler);
  router.use(gaiaErrorHandler(options.logger));
  return router;
}

export function gaiaErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res: Response, _next) => {
    const known = classifyError(err);
    if (known) {
      res.status(known.status).json(gaiaErrorBody(known.error.message, known.error.details));
      return;
    }
    logger.error({ method: req.method, path: req.path, err: err instanceof Error ? err.stack : String(err) }, 'unhandled error');
    if (res.headersSent) return;
    res.status(500).json(gaiaErrorBody('An internal error occurred; it has been logged.'));
  };
}
