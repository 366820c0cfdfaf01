// The data-plane host: the gateway's data plane with everything it needs built from serialisable options
// (its own connection to the gateway store, authenticator, caller tokens and credentials, stdio
// supervisor, egress policy, metrics registry), and the public HTTP listener, which it owns. It serves
// /mcp/{name} itself and passes every other request on to the control plane's internal listener
// (control-proxy.ts); a gateway-only replica, which has no control plane, answers /healthz, /readyz and
// /metrics itself and 404 elsewhere. It runs on a worker thread of the control plane's process
// (host-worker.ts), so no control-plane work delays a gateway call, or as the main thread of a
// gateway-only replica.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Histogram, Registry } from 'prom-client';
import { type Authenticator, bearerToken } from '../../auth/authenticator.js';
import { bearerAuthentication } from '../../auth/bearer-authentication.js';
import { CallerTokens } from '../../auth/caller-tokens.js';
import { collectProcessMetrics } from '../../metrics/process-metrics.js';
import { canUse } from '../../auth/use-policy.js';
import { TokensFileAuthenticator } from '../../auth/tokens-file.js';
import type { ReplicaHeartbeat } from '../../cluster/replicas.js';
import { CallerCredentials } from '../../credentials/caller-credentials.js';
import { OAuthConnections } from '../../credentials/oauth-connections.js';
import { systemClock } from '../../domain/clock.js';
import type { Logger } from '../../domain/logger.js';
import { createSecretResolver } from '../../reconcile/secret-refs.js';
import { StdioPolicy } from '../../stdio/stdio-policy.js';
import { StdioSupervisor } from '../../stdio/stdio-supervisor.js';
import type { CredentialStore, GatewayReader } from '../../store/index.js';
import { AesGcmSecretCodec } from '../../store/secret-codec.js';
import { SqliteGatewayStore } from '../../store/sqlite/sqlite-gateway-store.js';
import { EgressPolicy } from '../../upstream/egress.js';
import { DataPlane, PromDataPlaneMetrics, type DataPlaneMetrics } from '../data-plane/index.js';
import { LabelCache } from '../data-plane/metrics.js';
import type { UpstreamHealthReporter } from '../data-plane/upstream-health.js';
import type { SessionOwners } from '../data-plane/session-owners.js';
import { createControlProxy, PUBLIC_KEEP_ALIVE_MS, type ControlProxy } from './control-proxy.js';
import { HOST_SECRET_HEADER, type DataPlaneHostOptions } from './host-options.js';
import { PushedGatewayReader } from './pushed-changes.js';

export interface DataPlaneHostDeps {
  logger: Logger;
  /** Where the data plane's word about upstreams goes (the control plane's status, or nowhere). */
  upstreamHealth?: UpstreamHealthReporter;
  /** Told of each session opened (+1) and ended (-1), by server name. */
  onSession?(name: string, delta: 1 | -1): void;
}

export interface DataPlaneHost {
  port: number;
  dataPlane: DataPlane;
  /** The host's own registry: the data plane's metrics and its /mcp request timing. */
  registry: Registry;
  /** The control plane wrote these gateway entries. */
  changed(fqns: readonly string[]): void;
  setPublicUrl(url: string): void;
  /** Stops listening, ends the sessions and their upstreams, closes the store connections. */
  close(): Promise<void>;
}

const MCP_PREFIX = '/mcp/';
const MCP_PATH = /^\/mcp\//i;
/** As the control plane's mcp_cp_http_request_duration_seconds (its /metrics merges the two). */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
/** When a /mcp request began (performance.now()), on its response. */
const STARTED = Symbol('started');
type TimedResponse = ServerResponse & { [STARTED]?: number };

/** What a host has opened, closed in this order (every step, even after a failed one). */
interface Opened {
  server?: Server;
  dataPlane?: DataPlane;
  control?: ControlProxy;
  stdio?: StdioSupervisor;
  tokensFile?: TokensFileAuthenticator;
  stores?: GatewayStores;
}

async function closeOpened(opened: Opened, logger: Logger): Promise<void> {
  const { server } = opened;
  const steps: [string, () => unknown][] = [
    // No new connections; idle keep-alive ones end now.
    ['listener', () => server && (server.close(), server.closeIdleConnections())],
    // Ends the client sessions (their streams too) and their upstream sessions.
    ['data plane', () => opened.dataPlane?.close()],
    ['connections', () => server?.closeAllConnections()],
    ['control proxy', () => opened.control?.close()],
    ['stdio', () => opened.stdio?.close()],
    ['tokens file', () => opened.tokensFile?.stop()],
    ['stores', () => opened.stores?.close()],
  ];
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (err) {
      logger.error({ step, err: err instanceof Error ? err.message : String(err) }, 'data-plane host: shutdown step failed');
    }
  }
}

export async function startDataPlaneHost(options: DataPlaneHostOptions, deps: DataPlaneHostDeps): Promise<DataPlaneHost> {
  const opened: Opened = {};
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeOpened(opened, deps.logger));
  try {
    return await start(options, deps, opened, close);
  } catch (err) {
    await close();
    throw err;
  }
}

async function start(options: DataPlaneHostOptions, deps: DataPlaneHostDeps, opened: Opened, close: () => Promise<void>): Promise<DataPlaneHost> {
  const { logger } = deps;
  let publicUrl = options.publicUrl ?? '';
  const secretKey = Buffer.from(options.secretKey);
  const secretCodec = new AesGcmSecretCodec(secretKey);
  const stores = (opened.stores = await openGatewayStores(options, secretCodec, Buffer.from(options.hashKey), secretKey, logger));
  const reader = new PushedGatewayReader(stores.gateway);

  const { authenticator, tokensFile } = bearerAuthentication({ adminToken: options.adminToken, tenant: options.tenant, tokensFile: options.tokensFile, tokensFilePollIntervalMs: options.tokensFilePollIntervalMs, logger });
  if (tokensFile) (opened.tokensFile = tokensFile).start();
  const egress = new EgressPolicy({ deny: options.egress.deny, allow: options.egress.allow });
  const stdio = (opened.stdio = new StdioSupervisor({
    policy: new StdioPolicy({ enabled: options.stdio.enabled, allow: options.stdio.allow }),
    idleMs: options.stdio.idleMs,
    maxMessageBytes: options.upstreamLimits.maxMessageBytes,
    logger: logger.child({ component: 'stdio' }),
  }));
  const oauth = new OAuthConnections({
    store: stores.credentials,
    clock: systemClock,
    publicUrl: () => publicUrl,
    egress,
    timeoutMs: Math.min(10_000, options.discoveryTimeoutMs),
    maxResponseBytes: options.upstreamLimits.maxResponseBytes,
    logger: logger.child({ component: 'oauth' }),
  });
  const registry = new Registry();
  if (!options.controlPlane) collectProcessMetrics(registry);
  const httpDuration = new Histogram({
    name: 'mcp_cp_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code (watch streams excluded).',
    labelNames: ['method', 'route', 'code'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const prom = new PromDataPlaneMetrics(registry);
  const metrics: DataPlaneMetrics = deps.onSession
    ? {
        ...bind(prom),
        sessionOpened: (name) => {
          prom.sessionOpened(name);
          deps.onSession!(name, 1);
        },
        sessionClosed: (name) => {
          prom.sessionClosed(name);
          deps.onSession!(name, -1);
        },
      }
    : prom;
  const dataPlane = (opened.dataPlane = new DataPlane({
    gateway: reader,
    authenticator,
    policy: { canUse },
    tenant: options.tenant,
    metrics,
    egress,
    upstreamLimits: options.upstreamLimits,
    stdio,
    callerTokens: await CallerTokens.create({ key: options.signingKey, issuer: () => publicUrl }),
    callerCredentials: new CallerCredentials({ store: stores.credentials, publicUrl: () => publicUrl, secrets: createSecretResolver({ env: process.env, secretsDir: options.secretsDir }), oauth }),
    ...(deps.upstreamHealth ? { upstreamHealth: deps.upstreamHealth } : {}),
    ...(stores.sessionOwners ? { sessionOwners: stores.sessionOwners } : {}),
    logger: logger.child({ component: 'data-plane' }),
  }));

  const control: ControlProxy | undefined = options.controlPlane && createControlProxy({ ...options.controlPlane, logger: logger.child({ component: 'host' }) });
  opened.control = control;
  const passOn = control ? control.handle : gatewayOnly({ reader, registry, authenticator, metricsPublic: options.metricsPublic === true });

  const mcpLabels = new LabelCache((method: string, code: number) => ({ method, route: '/mcp/{name}', code: String(code) }));
  /** The 'close' listener of every /mcp response (one function, no closure per request); `this` is the response. */
  function observeMcp(this: TimedResponse): void {
    // Streams last as long as the client stays: not a latency.
    if (String(this.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
    const method = this.req.method ?? '';
    httpDuration.observe(mcpLabels.get(HTTP_METHODS.has(method) ? method : 'other', this.statusCode), (performance.now() - this[STARTED]!) / 1000);
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // Only the host sets it, on the hop to the control plane.
    delete req.headers[HOST_SECRET_HEADER];
    const url = req.url ?? '/';
    // In any letter case, as express routes it in the control plane's app.
    if (!MCP_PATH.test(url)) return passOn(req, res);
    (res as TimedResponse)[STARTED] = performance.now();
    req.url = url.slice(MCP_PREFIX.length - 1);
    if (dataPlane.serves(req, res)) return void res.on('close', observeMcp);
    req.url = url;
    passOn(req, res);
  };
  const server = (opened.server = await new Promise<Server>((resolveListen, rejectListen) => {
    const s = createServer({ keepAliveTimeout: PUBLIC_KEEP_ALIVE_MS }, listener).listen(options.listen.port, options.listen.host);
    s.once('listening', () => resolveListen(s));
    s.once('error', rejectListen);
  }));
  return {
    port: (server.address() as AddressInfo).port,
    dataPlane,
    registry,
    changed: (fqns) => reader.pushed(fqns),
    setPublicUrl: (url) => {
      publicUrl = url;
    },
    close,
  };
}

/** Binds every method of a metrics object, so it can be spread. */
function bind(metrics: DataPlaneMetrics): DataPlaneMetrics {
  return {
    sessionOpened: (s) => metrics.sessionOpened(s),
    sessionClosed: (s) => metrics.sessionClosed(s),
    request: (s, m, o) => metrics.request(s, m, o),
    upstreamLatency: (s, m, v) => metrics.upstreamLatency(s, m, v),
    error: (s, k) => metrics.error(s, k),
  };
}

interface GatewayStores {
  gateway: GatewayReader;
  credentials: CredentialStore;
  sessionOwners?: SessionOwners;
  close(): Promise<void>;
}

/**
 * The host's own connections: SQLite, a connection to gateway.db (its WAL lets it read while the control
 * plane writes; refreshed OAuth tokens are written through it); PostgreSQL, a small pool of its own with
 * its LISTEN connection, and the session owners over the replicas table.
 */
async function openGatewayStores(options: DataPlaneHostOptions, secretCodec: AesGcmSecretCodec, hashKey: Buffer, secretKey: Buffer, logger: Logger): Promise<GatewayStores> {
  if (options.store.kind === 'sqlite') {
    const gateway = new SqliteGatewayStore({ path: join(options.dataDir, 'gateway.db'), secretCodec, hashKey, checkpoints: { logger } });
    return { gateway, credentials: gateway.credentials, close: () => gateway.close() };
  }
  // The PostgreSQL client and the cluster's modules are loaded on a PostgreSQL store only (one after the
  // other: Jest's module loader fails concurrent imports that share a CommonJS dependency).
  const { checkSchemaVersion, PostgresCredentialStore, PostgresDatabase, PostgresGatewayStore } = await import('../../store/postgres/index.js');
  const { ReplicaSessionOwners } = await import('../../cluster/session-owners.js');
  const { InternalTokens } = await import('../../cluster/internal-token.js');
  const { listReplicas, ReplicaHeartbeat } = await import('../../cluster/replicas.js');
  const { checkSecretKeyCanary } = await import('../../cluster/key-check.js');
  const { packageVersion } = await import('../../http/openapi.js');
  const database = await PostgresDatabase.open(options.store.url, {
    applicationName: `mcp-control-plane gateway ${options.replicaId}`.slice(0, 63),
    max: 4,
    leaseDurationMs: options.leaseDurationMs,
  });
  let heartbeat: ReplicaHeartbeat | undefined;
  try {
    if (!options.controlPlane) {
      // A gateway-only replica migrates nothing: the control plane's replicas do. It refuses a schema of
      // another build, and a secret key that does not open the canary (exit 2 in serve, as a control plane).
      const client = await database.pool.connect();
      try {
        await checkSchemaVersion(client);
      } finally {
        client.release();
      }
      await checkSecretKeyCanary(database.pool, secretCodec);
    }
    const gateway = await PostgresGatewayStore.open({ database, secretCodec, hashKey });
    const credentials = new PostgresCredentialStore({ database, secretCodec });
    const sessionOwners = new ReplicaSessionOwners({
      selfId: options.replicaId,
      replicas: () => listReplicas(database.pool, options.leaseDurationMs),
      tokens: new InternalTokens(secretKey),
    });
    if (options.advertiseUrl) {
      heartbeat = new ReplicaHeartbeat({
        db: database.pool,
        replica: { id: options.replicaId, url: options.advertiseUrl, version: packageVersion() },
        intervalMs: Math.max(1000, Math.floor(options.leaseDurationMs / 3)),
        onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'a replica heartbeat failed'),
      });
      heartbeat.start();
    }
    return {
      gateway,
      credentials,
      sessionOwners,
      close: async () => {
        await heartbeat?.stop();
        await gateway.close();
        await database.close();
      },
    };
  } catch (err) {
    await heartbeat?.stop();
    await database.close();
    throw err;
  }
}

/** A gateway-only replica's answers to what is not /mcp: health, readiness, its own metrics, else 404. */
function gatewayOnly(options: { reader: GatewayReader; registry: Registry; authenticator: Authenticator; metricsPublic: boolean }) {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      options.reader.count().then(
        () => json(res, 200, { status: 'ready' }),
        (err: unknown) => json(res, 503, { status: 'not ready', reason: `the gateway store cannot be read: ${err instanceof Error ? err.message : String(err)}` }),
      );
      return;
    }
    if (path === '/metrics') {
      if (!options.metricsPublic) {
        const token = bearerToken(req.headers.authorization);
        const principal = token === undefined ? undefined : options.authenticator.authenticate(token);
        if (principal?.role !== 'admin') {
          return json(res, principal ? 403 : 401, { error: { code: principal ? 'Forbidden' : 'Unauthorized', message: 'Reading /metrics needs an admin token; or start the server with --metrics-public to let Prometheus scrape without one.' } });
        }
      }
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': options.registry.contentType, 'Cache-Control': 'no-store' }).end(text);
        },
        () => json(res, 500, { error: { code: 'InternalError', message: 'The metrics could not be collected.' } }),
      );
      return;
    }
    json(res, 404, {
      error: { code: 'NotFound', message: `This replica is a gateway only (serve --role gateway): it serves /mcp/{name}, /healthz, /readyz and /metrics. Send ${path} to the control plane.` },
    });
  };
}
