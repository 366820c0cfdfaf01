// The express app: health, then authenticated API routers, then the one error handler.
import express, { type Express } from 'express';
import type { Authenticator } from '../auth/authenticator.js';
import type { RoleAccessPolicy } from '../auth/policy.js';
import type { Logger } from '../domain/logger.js';
import type { GatewayStore } from '../gateway/gateway-store.js';
import type { Intake } from '../intake/index.js';
import type { ResourceStore } from '../store/index.js';
import { authenticate } from './authenticate.js';
import { errorHandler, notFound } from './errors.js';
import { eventsRouter } from './events-router.js';
import { gatewayRouter } from './gateway-router.js';
import { mcpServersRouter } from './mcp-servers-router.js';
import { sourcesRouter, type SourcesView } from './sources-router.js';

export interface Readiness {
  /** undefined when ready; otherwise what is still missing. */
  notReadyReason(): string | undefined;
}

export interface AppOptions {
  intake: Intake;
  store: ResourceStore;
  gateway: GatewayStore;
  authenticator: Authenticator;
  policy: RoleAccessPolicy;
  tenant: string;
  publicUrl: string;
  readiness: Readiness;
  logger: Logger;
  /** The watched manifest directories, for GET /api/svc/v1/sources. */
  sources?: SourcesView;
}

export const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = options.readiness.notReadyReason();
    if (reason) res.status(503).json({ status: 'not ready', reason });
    else res.json({ status: 'ready' });
  });

  const api = express.Router();
  api.use(authenticate(options.authenticator));
  api.use(express.json({ limit: MAX_BODY_BYTES, type: ['application/json', 'application/*+json'] }));
  api.use('/svc/v1/mcp-servers', mcpServersRouter(options));
  api.use('/svc/v1/gateway', gatewayRouter(options));
  api.use('/svc/v1/events', eventsRouter(options));
  api.use('/svc/v1/sources', sourcesRouter(options));
  app.use('/api', api);

  app.use(notFound);
  app.use(errorHandler(options.logger));
  return app;
}
