// The express app: health, then authenticated API routers, then the one error handler.
import { policiesRouter } from './policies-router.js';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { Authenticator } from '../auth/authenticator.js';
import type { JsonWebKeySet } from '../auth/caller-tokens.js';
import type { RoleAccessPolicy } from '../auth/policy.js';
import type { Logger } from '../domain/logger.js';
import type { Intake } from '../intake/index.js';
import type { RefreshServer } from '../reconcile/refresh-server.js';
import type { CredentialStore, EventLog, GatewayReader, ResourceReader, RevisionLog } from '../store/index.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { authenticate } from './authenticate.js';
import { refuseReservedKeys, verifyJsonDepth } from './body-guards.js';
import { errorHandler, notFound } from './errors.js';
import { eventsRouter } from './events-router.js';
import { gatewayRouter } from './gateway-router.js';
import { gaiaRouter } from './gaia/gaia-router.js';
import type { StdioGate } from '../stdio/stdio-policy.js';
import type { TestConnection } from './gaia/test-connection.js';
import type { DetectProbes } from './gaia/detect.js';
import { detectRouter } from './gaia/detect-router.js';
import { mcpServersRouter } from './mcp-servers-router.js';
import { credentialsRouter } from './credentials-router.js';
import { CallerAuthViews } from './caller-auth-views.js';
import { oauthCallbackRouter, oauthRouter } from './oauth-router.js';
import type { OAuthConnections } from '../credentials/oauth-connections.js';
import { oauthRefusalRouter } from './oauth-refusal.js';
import { revisionsRouter } from './revisions-router.js';
import type { ControlPlaneMetrics } from '../metrics/index.js';
import type { AnswersFirst } from './answers-first.js';
import { httpMetrics, metricsHandlers, timeResponse } from './metrics-router.js';
import { buildOpenApiDocument } from './openapi.js';
import { uiRouter } from './ui/router.js';
import type { WatchHub } from './watch-hub.js';
import { watchServers } from './watch-router.js';
import { writeRateLimit, type WriteBudget, type WriteRate } from './rate-limit.js';
import { sourcesRouter, type SourcesView } from './sources-router.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import { clusterRouter } from './cluster-router.js';
import { clusterInternalRouter, type ClusterInternalOptions } from './cluster-internal-router.js';

export interface Readiness {
  /** undefined when ready; otherwise what is still missing. */
  notReadyReason(): Promise<string | undefined>;
}

export interface AppOptions {
  /** Counts the API's writes in flight, so that reconciles give way to their answers (see answers-first.ts). */
  answersFirst?: AnswersFirst;
  intake: Intake;
  store: ResourceReader & EventLog & RevisionLog;
  gateway: GatewayReader;
  authenticator: Authenticator;
  policy: RoleAccessPolicy;
  tenant: string;
  publicUrl: string;
  readiness: Readiness;
  logger: Logger;
  /** The watched manifest directories, for GET /api/svc/v1/sources. */
  sources?: SourcesView;
  /** On-demand discovery, for POST /api/svc/v1/mcp-servers/{id}/refresh. */
  refreshServer?: RefreshServer;
  /**
   * The gateway data plane (src/gateway/data-plane), served at /mcp/{name}; it authenticates by itself,
   * and calls next() for a path that is not /{name}.
   */
  mcp?: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  /** The public keys of the tokens the gateway mints for callers, at GET /.well-known/jwks.json. */
  jwks?: JsonWebKeySet;
  /** GET /api/svc/v1/cluster (admins); absent: not served. */
  cluster?: ClusterView;
  /** What other replicas ask of this one (/internal/cluster/v1/*, internal tokens only); absent: not served. */
  clusterInternal?: ClusterInternalOptions;
  /** Writes per token (429 past it), in this process's buckets unless `budget` names shared ones; undefined: unlimited. */
  writeRateLimit?: WriteRate & { budget?: WriteBudget };
  clock?: Clock;
  /** The GAIA-style API at /api/mcp/servers; absent: not served. */
  gaia?: { testConnection: TestConnection; stdio?: StdioGate; detect?: DetectProbes };
  /** Watch streams of GET /api/svc/v1/mcp-servers?watch=true; without it that GET always lists. */
  watch?: WatchHub;
  /** GET /metrics and HTTP request timing; without it there is no /metrics. */
  metrics?: ControlPlaneMetrics;
  /** /metrics without a bearer token (--metrics-public); otherwise it needs an admin token. */
  metricsPublic?: boolean;
  /** Per-user credentials: .../{id}/credentials, and with `oauth` the OAuth routes; absent: not served. */
  credentials?: { store: CredentialStore; oauth?: OAuthConnections; onDisconnected?(fqn: string, subject: string): void; onConnected?(fqn: string): void };
}

export const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const writeLimiter = options.writeRateLimit
    ? writeRateLimit({ ...options.writeRateLimit, ...(options.clock ? { clock: options.clock } : {}) })
    : undefined;
  if (options.metrics) app.use(httpMetrics(options.metrics));
  if (options.answersFirst) app.use('/api', options.answersFirst.middleware);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const reason = await options.readiness.notReadyReason();
    if (reason) res.status(503).json({ status: 'not ready', reason });
    else res.json({ status: 'ready' });
  });
  if (options.metrics) {
    app.get('/metrics', ...metricsHandlers({ metrics: options.metrics, metricsPublic: options.metricsPublic === true, authenticator: options.authenticator }));
  }
  // Built when first asked for, not at every start.
  let openApi: string | undefined;
  app.get('/openapi.json', (_req, res) => {
    openApi ??= JSON.stringify(buildOpenApiDocument({ metricsPublic: options.metricsPublic === true }));
    res.type('application/json').send(openApi);
  });
  // Public, for upstreams that verify the caller tokens the gateway sends them; cached, so verifying costs
  // an upstream one fetch every few minutes (jose's createRemoteJWKSet also refetches for an unknown kid).
  if (options.jwks) {
    const jwks = JSON.stringify(options.jwks);
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=600').type('application/jwk-set+json').send(jwks);
    });
  }
  app.use(uiRouter());
  if (options.clusterInternal) app.use(clusterInternalRouter(options.clusterInternal));

  const api = express.Router();
  api.use(authenticate(options.authenticator));
  // Before the body is read: a refused write costs no parsing.
  if (writeLimiter) api.use(writeLimiter);
  api.use(express.json({ limit: MAX_BODY_BYTES, type: ['application/json', 'application/*+json'], verify: verifyJsonDepth }));
  api.use(refuseReservedKeys);
  const callerAuth = options.credentials
    ? new CallerAuthViews({ credentials: options.credentials.store, publicUrl: () => options.publicUrl, clock: options.clock ?? systemClock })
    : undefined;
  if (options.watch) api.get('/svc/v1/mcp-servers', watchServers({ hub: options.watch, policy: options.policy, store: options.store, ...(callerAuth ? { callerAuth } : {}) }));
  const servers = mcpServersRouter({ ...options, ...(callerAuth ? { callerAuth } : {}), get publicUrl() { return options.publicUrl; } });
  // The collection's PUT (every API create and update) goes to its router at once: the routers of the
  // subpaths below, which never answer it, are not walked for each write.
  api.use('/svc/v1/mcp-servers', (req, res, next) => (req.method === 'PUT' && req.path === '/' ? servers(req, res, next) : next()));
  api.use('/svc/v1/mcp-servers', revisionsRouter(options));
  if (options.credentials) {
    const { store: credentials, onDisconnected, onConnected } = options.credentials;
    api.use(
      '/svc/v1/mcp-servers',
      credentialsRouter({
        store: options.store,
        credentials,
        policy: options.policy,
        fqnOf: (name) => options.intake.fqnOf(name),
        get publicUrl() {
          return options.publicUrl;
        },
        clock: options.clock ?? systemClock,
        ...(onDisconnected ? { onDisconnected } : {}),
        ...(onConnected ? { onConnected } : {}),
      }),
    );
    const connections = options.credentials.oauth;
    if (connections) {
      api.use(
        '/svc/v1/mcp-servers',
        oauthRouter({
          store: options.store,
          gateway: options.gateway,
          credentials,
          connections,
          policy: options.policy,
          fqnOf: (name) => options.intake.fqnOf(name),
          get publicUrl() {
            return options.publicUrl;
          },
          clock: options.clock ?? systemClock,
          ...(onDisconnected ? { onDisconnected } : {}),
        }),
      );
      // Public: the authorization server sends the browser here; the state alone authenticates it.
      app.use(oauthCallbackRouter({ connections, gateway: options.gateway, ...(onConnected ? { onConnected } : {}) }));
    }
  }
  api.use('/svc/v1/mcp-servers', servers);
  api.use('/svc/v1/policies', policiesRouter(options));
  api.use('/svc/v1/gateway', gatewayRouter(options));
  api.use('/svc/v1/events', eventsRouter(options));
  api.use('/svc/v1/sources', sourcesRouter(options));
  if (options.cluster) api.use('/svc/v1/cluster', clusterRouter(options.cluster));
  // The GAIA-style API has its own error envelope, so it is mounted before /api, with its own auth and body parsing.
  if (options.gaia) {
    // publicUrl is a getter (known once listening), so it is read through, not copied.
    app.use('/api/mcp/servers', gaiaRouter({ ...options, ...options.gaia, writeLimiter, ...(callerAuth ? { callerAuth } : {}), get publicUrl() { return options.publicUrl; } }));
    if (options.gaia.detect) app.use('/api/mcp', detectRouter({ ...options, probes: options.gaia.detect, writeLimiter }));
  }
  app.use('/api', api);
  // The server's listener hands /mcp/ requests to the data plane before express (requestListener); this
  // route serves what reaches the app all the same (another letter case), and lists the route.
  if (options.mcp) app.use('/mcp', express.Router().all('/:name', options.mcp));

  app.use(oauthRefusalRouter(options.authenticator));

  app.use(notFound);
  app.use(errorHandler(options.logger));
  return app;
}

const MCP_PREFIX = '/mcp/';

/**
 * The HTTP server's request listener. A message to /mcp/{name} goes straight to the data plane, timed
 * as httpMetrics would: express re-prototypes each request and response and walks its router, which
 * cost a relayed MCP message more than the relay itself. Everything else goes to the app, and so does
 * an /mcp path the data plane does not serve (the app mounts the data plane too).
 */
export function requestListener(app: Express, options: Pick<AppOptions, 'mcp' | 'metrics'>): RequestListener {
  const { mcp, metrics } = options;
  if (!mcp) return app;
  return (req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(MCP_PREFIX)) return void app(req, res);
    const started = process.hrtime.bigint();
    req.url = url.slice(MCP_PREFIX.length - 1);
    let passed = false;
    mcp(req, res, () => {
      passed = true;
      req.url = url;
      app(req, res);
    });
    if (!passed && metrics) timeResponse(metrics, req.method ?? '', '/mcp/{name}', res, started);
  };
}
