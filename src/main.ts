// Composition root: builds the pieces from a Config and starts them. The only file that picks
// concrete classes.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { ChainAuthenticator, StaticTokenAuthenticator, type Authenticator } from './auth/authenticator.js';
import { CallerTokens } from './auth/caller-tokens.js';
import { RoleAccessPolicy } from './auth/policy.js';
import { loadSigningKeyFile } from './auth/signing-key.js';
import { TokensFileAuthenticator } from './auth/tokens-file.js';
import type { Config } from './config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import type { Clock } from './domain/clock.js';
import { systemClock } from './domain/clock.js';
import type { Logger } from './domain/logger.js';
import { adminPrincipal } from './domain/principal.js';
import { DataPlane, PromDataPlaneMetrics } from './gateway/data-plane/index.js';
import { createApp, requestListener, type AppOptions } from './http/app.js';
import { createTestConnection, type DiscoverStdio } from './http/gaia/test-connection.js';
import { createDetectProbes } from './http/gaia/detect.js';
import { ForbiddenError } from './domain/errors.js';
import { isStdioManifest, stdioEnv } from './domain/manifest.js';
import { StdioPolicy } from './stdio/stdio-policy.js';
import { StdioSupervisor } from './stdio/stdio-supervisor.js';
import { presentServer } from './http/present.js';
import { ChangeFeed } from './http/watch-feed.js';
import { WatchHub } from './http/watch-hub.js';
import { ControlPlaneMetrics } from './metrics/index.js';
import { Intake } from './intake/index.js';
import { createLogger, ReconcileLogContext } from './logger.js';
import { discover, OAuthClientCredentials, type DiscoverDeps, type DiscoveryTarget } from './discovery/index.js';
import { EgressPolicy } from './discovery/egress.js';
import { Controller } from './reconcile/controller.js';
import { DiscoveryManager } from './reconcile/discovery-manager.js';
import { createRefreshServer } from './reconcile/refresh-server.js';
import { createSecretResolver } from './reconcile/secret-refs.js';
import { ParsePool } from './manifest/parse-pool.js';
import { createServerReconciler } from './reconcile/server-reconciler.js';
import { UpstreamHealth } from './reconcile/upstream-health.js';
import { WorkQueue } from './reconcile/workqueue.js';
import { ManifestSources, type WatchTiming } from './sources/index.js';
import { resourceViews } from './http/resource-view.js';
import type { GatewayStore, ResourceStore } from './store/index.js';
import { SqliteGatewayStore, SqliteResourceStore } from './store/sqlite/index.js';
import { AesGcmSecretCodec, deriveKey, loadSecretKeyFile } from './store/secret-codec.js';

export interface ControlPlane {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  publicUrl: string;
  /** Where the admin token came from: "flag or environment" or the file path. */
  adminTokenSource: string;
  store: ResourceStore;
  gateway: GatewayStore;
  controller: Controller;
  discovery: DiscoveryManager;
  intake: Intake;
  /** The watched manifest directories (none when config.manifestDirs is empty). */
  sources: ManifestSources;
  /** The worker threads that parse the watched files. */
  parsePool: ParsePool;
  /** The gateway data plane at /mcp/{name}. */
  dataPlane: DataPlane;
  /** prom-client registry holding the data plane's metrics (mcp_gateway_*); the control plane's (mcp_cp_*) are on it too. */
  metricsRegistry: Registry;
  /** The control plane's metrics (GET /metrics). */
  metrics: ControlPlaneMetrics;
  /** The watch streams of GET /api/svc/v1/mcp-servers?watch=true. */
  watch: WatchHub;
  /** The express app (its routes are what /openapi.json must describe). */
  app: Express;
  /** The mcp-server/stdio processes (issue 8); runs nothing unless --allow-stdio and --stdio-allow say so. */
  stdio: StdioSupervisor;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Watcher timing (tests shorten it). */
  manifestWatch?: Partial<WatchTiming>;
  /** More bearer-token subjects, asked after the admin token (embedders and tests). */
  authenticators?: readonly Authenticator[];
  /** How often --tokens-file is checked for changes (tests shorten it). Default 1 s. */
  tokensFilePollIntervalMs?: number;
}

const ADMIN_TOKEN_FILE = 'admin-token';

/** --admin-token / MCP_CP_ADMIN_TOKEN, else <data-dir>/admin-token, generated (mode 0600) when missing. */
export function loadAdminToken(config: Config): { token: string; source: string } {
  if (config.adminToken !== undefined) return { token: config.adminToken, source: 'flag or environment' };
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < 16) throw new Error(`${file} holds a token shorter than 16 characters; delete the file to generate a new one.`);
    return { token, source: file };
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, source: file };
}

/**
 * Starts a control plane on config.dataDir, which it locks first: a second one on the same directory
 * fails with DataDirLockedError naming the holder's PID. close() releases the lock last.
 */
export async function startControlPlane(config: Config, options: StartOptions = {}): Promise<ControlPlane> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(config.dataDir);
  try {
    return await startLocked(config, options, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(config: Config, options: StartOptions, lock: DataDirLock): Promise<ControlPlane> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const { token, source: adminTokenSource } = loadAdminToken(config);
  // Read before anything is opened: a bad tokens file is a startup error naming file:line:col.
  const tokensFile = config.tokensFile
    ? new TokensFileAuthenticator({
        path: config.tokensFile,
        tenant: config.tenant,
        logger: logger.child({ component: 'tokens-file' }),
        ...(options.tokensFilePollIntervalMs !== undefined ? { pollIntervalMs: options.tokensFilePollIntervalMs } : {}),
      })
    : undefined;

  // Secrets at rest: AES-256-GCM in both files; the spec and gateway-config hashes are keyed (HMAC).
  const secretKey = config.secretKey ?? loadSecretKeyFile(config.dataDir).key;
  const secretCodec = new AesGcmSecretCodec(secretKey);
  const hashKey = deriveKey(secretKey, 'content-hash');
  const egress = new EgressPolicy({ deny: config.egressDeny, allow: config.egressAllow });
  // Signs what passthrough upstreams get in place of a caller's token; a bad key file is a startup error.
  const signingKey = config.signingKey ?? loadSigningKeyFile(config.dataDir, config.signingKeyFile).key;
  let publicUrl = config.publicUrl ?? '';
  const callerTokens = await CallerTokens.create({ key: signingKey, issuer: () => publicUrl, clock });

  const store = new SqliteResourceStore({ path: join(config.dataDir, 'control-plane.db'), views: resourceViews, clock, secretCodec });
  const gateway = new SqliteGatewayStore({ path: join(config.dataDir, 'gateway.db'), clock, secretCodec, hashKey });
  try {
    // Seals what an older version stored in clear; a wrong key fails here, not on the first read.
    const resealed = (await store.resealSecrets()) + (await gateway.resealSecrets());
    if (resealed > 0) logger.info({ rows: resealed }, 'encrypted secrets stored before encryption at rest');
  } catch (err) {
    await store.close();
    await gateway.close();
    throw err;
  }
  const policy = new RoleAccessPolicy({ fileTakeoverRole: config.fileTakeoverRole });
  const queue = new WorkQueue({ clock });
  const metrics = new ControlPlaneMetrics({ clock });
  const reconcileLogs = new ReconcileLogContext();
  // mcp-server/stdio: one supervisor runs the processes for discovery and the gateway alike.
  const stdio = new StdioSupervisor({
    policy: new StdioPolicy({ enabled: config.allowStdio, allow: config.stdioAllow }),
    idleMs: config.stdioIdleTimeoutMs,
    maxMessageBytes: config.upstreamLimits.maxMessageBytes,
    logger: logger.child({ component: 'stdio' }),
  });
  const discovery = new DiscoveryManager({
    clock,
    concurrency: config.discoveryConcurrency,
    intervalMs: config.discoveryIntervalMs,
    retryBaseMs: config.discoveryRetryBaseMs,
    retryMaxMs: config.discoveryRetryMaxMs,
    retryUnreachableMaxMs: config.discoveryRetryUnreachableMaxMs,
    enqueue: (key) => queue.add(key),
    reconcilesWaiting: () => (queue.len() > 0 ? queue.whenIdle() : undefined),
    logger: logger.child({ component: 'discovery' }),
  });
  // What the gateway sees of each upstream reaches its status within seconds (see reconcile/upstream-health.ts).
  const upstreamHealth = new UpstreamHealth({ clock, rediscover: (key) => discovery.rediscover(key), enqueue: (key) => queue.add(key) });
  const reconcile = createServerReconciler({
    store,
    gateway,
    discovery,
    // The token request shares the discovery budget (see the reconciler), so it cannot take longer.
    oauth: new OAuthClientCredentials({ clock, timeoutMs: Math.min(10_000, config.discoveryTimeoutMs), egress, maxResponseBytes: config.upstreamLimits.maxResponseBytes }),
    discover: metrics.instrumentDiscover((target: DiscoveryTarget, deps?: DiscoverDeps) => discover(target, { ...deps, egress, limits: config.upstreamLimits })),
    configHashKey: hashKey,
    discoveryTimeoutMs: config.discoveryTimeoutMs,
    secrets: createSecretResolver({ env: process.env, secretsDir: config.secretsDir ?? join(config.dataDir, 'secrets') }),
    stdio,
    upstreamHealth,
    // mcp-server/virtual servers follow their sources.
    enqueue: (key) => queue.add(key),
    clock,
    logger: logger.child({ component: 'reconciler' }),
  });
  const controller = new Controller({
    name: 'mcp-servers',
    // Every log line of a reconcile carries its reconcileId and key.
    reconcile: reconcileLogs.wrap(reconcile),
    onOutcome: (outcome) => {
      metrics.observeReconcile(outcome);
      reconcileLogs.finished(outcome.key);
    },
    queue,
    clock,
    workers: config.workers,
    resyncIntervalMs: config.resyncIntervalMs,
    // Gateway keys too, so an entry with no resource behind it is found and removed.
    listKeys: async () => [...new Set([...(await store.keys()), ...(await gateway.keys())])],
    logger: reconcileLogs.controllerLogger(logger.child({ component: 'controller' })),
    // A batch of reconciles commits once in each store (status and events; gateway entries).
    batch: (run) => store.transaction(() => gateway.transaction(run)),
  });
  const intake = new Intake({
    store,
    tenant: config.tenant,
    policy,
    clock,
    enqueue: (key) => queue.add(key),
    specHashKey: hashKey,
    // A server whose file was deleted (its prune held back for the quiet period) may be deleted through the API.
    fileGone: (source) => !existsSync(resolve(source.root, source.path)),
    // The file a forced API write or delete took a name from shows its ownership error at once, not at its next edit.
    takenFromFile: (source, taken) => sources.taken(source.root, source.path, taken),
    // A stdio command the operator did not allow is refused at every door (PUT, files, GAIA): 403.
    admitManifest: (m) => {
      const refusal = isStdioManifest(m) ? stdio.policy.refusal(m.command) : undefined;
      if (refusal) throw new ForbiddenError(refusal);
    },
  });
  // Started now, so the first sync does not wait for a worker to load; closed with the server.
  const parsePool = new ParsePool();
  if (config.manifestDirs.length > 0) parsePool.warm();
  const sources = new ManifestSources({
    parsePool,
    roots: config.manifestDirs,
    intake,
    store,
    tenant: config.tenant,
    allowEmptyPrune: config.allowEmptyPrune,
    pruneQuietMs: config.pruneQuietPeriodMs,
    clock,
    logger,
    ...(options.manifestWatch ? { timing: options.manifestWatch } : {}),
  });

  let started = false;
  const authenticator = new ChainAuthenticator([
    new StaticTokenAuthenticator(token, adminPrincipal(config.tenant)),
    ...(tokensFile ? [tokensFile] : []),
    ...(options.authenticators ?? []),
  ]);
  const metricsRegistry = metrics.registry;
  const dataPlane = new DataPlane({
    gateway,
    authenticator,
    policy,
    tenant: config.tenant,
    metrics: new PromDataPlaneMetrics(metricsRegistry),
    egress,
    upstreamLimits: config.upstreamLimits,
    stdio,
    callerTokens,
    upstreamHealth,
    logger: logger.child({ component: 'data-plane' }),
  });
  // One reader of the changelog feeds every watch stream and the metrics' Ready tally.
  const feed = new ChangeFeed({ store, clock, logger: logger.child({ component: 'watch' }) });
  const watch = new WatchHub({
    feed,
    store,
    tenant: config.tenant,
    present: (r) => presentServer(r, { publicUrl }),
    clock,
    logger: logger.child({ component: 'watch' }),
    bookmarkIntervalMs: config.watchBookmarkIntervalMs,
    maxBufferedEvents: config.watchBufferEvents,
    onOverflow: () => metrics.watchOverflowed(),
  });
  feed.listen((changes) => metrics.observeChanges(changes));
  await feed.start(async () => metrics.seedResources(await store.listReadiness(config.tenant)));
  watch.start();
  metrics.bind({ queue, gatewayEntries: async () => (await gateway.keys()).length, watchClients: () => watch.clientCount });
  const storeProblem = async (): Promise<string | undefined> => {
    try {
      await store.currentResourceVersion();
      return undefined;
    } catch (err) {
      return `the store cannot be read: ${err instanceof Error ? err.message : String(err)}`;
    }
  };

  const appOptions: AppOptions = {
    // The GAIA-style API (/api/mcp/servers); its connection test uses discovery's egress policy.
    gaia: {
      testConnection: createTestConnection({ egress, limits: config.upstreamLimits, defaultTimeoutMs: config.discoveryTimeoutMs, discoverStdio: validateStdio(stdio) }),
      stdio: stdio.policy,
      // POST /api/mcp/detect-transport and /detect-auth: the same egress policy and timeouts as validate.
      detect: createDetectProbes({ egress, limits: config.upstreamLimits }),
    },
    intake,
    store,
    gateway,
    policy,
    authenticator,
    tenant: config.tenant,
    get publicUrl() {
      return publicUrl;
    },
    readiness: { notReadyReason: async () => (await storeProblem()) ?? (started ? sources.notReadyReason() : 'starting: the reconciler is not running yet') },
    sources,
    refreshServer: createRefreshServer({
      discovery,
      store,
      clock,
      discoveryTimeoutMs: config.discoveryTimeoutMs,
      concurrency: config.discoveryConcurrency,
    }),
    logger: logger.child({ component: 'http' }),
    mcp: dataPlane.handler,
    jwks: callerTokens.jwks,
    ...(config.writeRateLimit ? { writeRateLimit: config.writeRateLimit } : {}),
    clock,
    watch,
    metrics,
    metricsPublic: config.metricsPublic,
  };
  const app = createApp(appOptions);

  let server: Server | undefined;
  // Every step runs even when an earlier one throws, so a failed start or stop leaks no handle, timer or socket.
  const shutdown = async (): Promise<void> => {
    const steps: [string, () => unknown][] = [
      ['tokens file', () => tokensFile?.stop()],
      ['manifest sources', () => sources.stop()],
      ['manifest parser', () => parsePool.close()],
      // Ends every watch stream (clients resume elsewhere) and stops reading the changelog.
      ['watch', () => watch.stop()],
      ['changelog feed', () => feed.stop()],
      // Ends client sessions (their streams too, so the server can close) and their upstream sessions.
      ['data plane', () => dataPlane.close()],
      [
        'http server',
        () =>
          server &&
          new Promise<void>((r) => {
            server!.close(() => r());
            server!.closeAllConnections();
          }),
      ],
      ['discovery', () => discovery.stop()],
      ['upstream health', () => upstreamHealth.close()],
      ['controller', () => controller.stop()],
      // After the data plane and the workers: nothing uses a stdio process any more.
      ['stdio', () => stdio.close()],
      ['resource store', () => store.close()],
      ['gateway store', () => gateway.close()],
      // Last: another control plane may open the directory once this one has closed its databases.
      ['data directory lock', () => lock.release()],
    ];
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (err) {
        logger.error({ step, err: err instanceof Error ? err.message : String(err) }, 'shutdown step failed');
      }
    }
  };

  let url: string;
  let port: number;
  try {
    server = await new Promise<Server>((resolveListen, rejectListen) => {
      const s = createServer(requestListener(app, appOptions)).listen(config.port, config.host);
      s.once('listening', () => resolveListen(s));
      s.once('error', rejectListen);
    });
    port = (server.address() as AddressInfo).port;
    const wildcard = defaultPublicUrl(config.host, port, networkInterfaces());
    url = wildcard?.localUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    if (!config.publicUrl) publicUrl = wildcard?.publicUrl ?? url;
    if (wildcard && !config.publicUrl) {
      logger.warn(
        { host: config.host, publicUrl },
        `--host ${config.host} listens on every interface, and no --public-url was given: proxy URLs use ${publicUrl} (${wildcard.why}); pass --public-url to choose the address clients reach.`,
      );
    }

    controller.start();
    started = true;
    // Ready only after every watched directory has been synced once.
    await sources.start();
    // Level-triggered restart: everything stored is reconciled once, so work committed but not applied is
    // applied. After the first sync, which enqueues what it changes itself: rechecking thousands of unchanged
    // entries must not hold up the sync (nor readiness).
    await controller.enqueueAll();
    tokensFile?.start();
  } catch (err) {
    await shutdown();
    throw err;
  }
  logger.info({ url, dataDir: resolve(config.dataDir), tenant: config.tenant }, 'control plane listening');

  return {
    url,
    port,
    publicUrl,
    adminTokenSource,
    store,
    gateway,
    controller,
    discovery,
    intake,
    sources,
    parsePool,
    dataPlane,
    metricsRegistry,
    metrics,
    watch,
    app,
    stdio,
    close: shutdown,
  };
}

/**
 * For a wildcard --host (0.0.0.0, ::), which is no address a client can reach: the URL this process is
 * reached at locally (loopback), and a public URL built from the first non-internal interface address
 * (IPv4 first), else loopback, with a sentence saying which. Undefined for any other host. Pure.
 */
export function defaultPublicUrl(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): { localUrl: string; publicUrl: string; why: string } | undefined {
  const v6 = host === '::' || host === '[::]';
  if (!v6 && host !== '0.0.0.0') return undefined;
  const localUrl = `http://127.0.0.1:${port}`;
  const candidates = Object.entries(interfaces).flatMap(([name, list]) =>
    (list ?? []).filter((a) => !a.internal && (a.family === 'IPv4' || (v6 && a.family === 'IPv6' && !a.address.startsWith('fe80:')))).map((a) => ({ name, a })),
  );
  const chosen = candidates.find((c) => c.a.family === 'IPv4') ?? candidates[0];
  if (!chosen) return { localUrl, publicUrl: localUrl, why: 'no non-loopback interface was found, so the loopback address' };
  const address = chosen.a.family === 'IPv6' ? `[${chosen.a.address}]` : chosen.a.address;
  return { localUrl, publicUrl: `http://${address}:${port}`, why: `the address of interface ${chosen.name}` };
}

/**
 * POST /api/mcp/servers/validate for stdio: the command runs under a key of its own for the test and is
 * killed afterwards; env values are used as sent (secret references are not resolved for a test).
 */
function validateStdio(stdio: StdioSupervisor): DiscoverStdio {
  return async (manifest, timeoutMs) => {
    if (!isStdioManifest(manifest)) throw new Error('validateStdio: not an mcp-server/stdio manifest');
    const key = `validate:${randomUUID()}`;
    try {
      return await stdio.discover(key, { command: manifest.command, args: manifest.args, env: stdioEnv(manifest) }, { timeoutMs });
    } finally {
      await stdio.stop(key);
    }
  };
}
