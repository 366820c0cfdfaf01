// POST /api/mcp/detect-transport and POST /api/mcp/detect-auth: the GAIA-style probes of a URL before
// a server is created (detect.ts does the probing). Mounted at /api/mcp beside the GAIA router; other
// paths pass through. A caller needs a token that may create servers in some project (not a viewer,
// a member of a project, or an admin); each probe counts as a write for the rate limit, since it
// opens outbound connections. Answers use GAIA's envelope, errors included.
import express, { Router, type RequestHandler } from 'express';
import type { ErrorObject } from 'ajv';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Logger } from '../../domain/logger.js';
import type { AccessPolicy } from '../../intake/access-policy.js';
import { translateAjvErrors } from '../../manifest/messages.js';
import { isPlainObject } from '../../manifest/pointer.js';
import { gaiaDetectRequestSchema, validateGaiaDetectSchema } from '../../manifest/schemas.js';
import { authenticate, principalOf } from '../authenticate.js';
import { refuseReservedKeys, verifyJsonDepth } from '../body-guards.js';
import { requireJson } from '../errors.js';
import type { DetectProbes } from './detect.js';
import { gaiaErrorHandler, invalid } from './gaia-router.js';
import { gaiaErrorBody } from './gaia-present.js';

export interface DetectRouterOptions {
  authenticator: Authenticator;
  probes: DetectProbes;
  policy: AccessPolicy;
  logger: Logger;
  /** The one write limiter of the app: a probe spends a write of the token's budget. */
  writeLimiter?: RequestHandler | undefined;
}

/** As every API body (the schema bounds the URL itself). */
const MAX_BODY_BYTES = 1024 * 1024;

function urlOf(body: unknown): string {
  if (!isPlainObject(body)) throw invalid([{ path: '', message: 'must be a JSON object with url, e.g. { "url": "https://mcp.example.com/mcp" }' }]);
  if (!validateGaiaDetectSchema(body)) {
    throw invalid(translateAjvErrors(validateGaiaDetectSchema.errors as ErrorObject[], { root: gaiaDetectRequestSchema, isSecret: () => false }));
  }
  return (body as { url: string }).url;
}

export function detectRouter(options: DetectRouterOptions): Router {
  const { probes, policy } = options;
  const router = Router();
  const before: RequestHandler[] = [
    authenticate(options.authenticator),
    ...(options.writeLimiter ? [options.writeLimiter] : []),
    requireJson,
    express.json({ limit: MAX_BODY_BYTES, type: ['application/json', 'application/*+json'], verify: verifyJsonDepth }),
    refuseReservedKeys,
  ];

  router.post('/detect-transport', ...before, async (req, res) => {
    policy.authorizeCreateSomewhere(principalOf(req));
    res.json(await probes.detectTransport(urlOf(req.body)));
  });
  router.post('/detect-auth', ...before, async (req, res) => {
    policy.authorizeCreateSomewhere(principalOf(req));
    res.json(await probes.detectAuth(urlOf(req.body)));
  });
  const postOnly: RequestHandler = (req, res) => {
    res.setHeader('Allow', 'POST');
    res.status(405).json(gaiaErrorBody(`${req.method} is not allowed here; POST a JSON body { "url": ... }.`));
  };
  router.all('/detect-transport', postOnly);
  router.all('/detect-auth', postOnly);
  router.use(gaiaErrorHandler(options.logger));
  return router;
}
