// Composition root: builds the pieces from a Config and starts them. The only file that picks
// concrete classes.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Authenticator } from './auth/authenticator.js';
import { bearerAuthentication } from './auth/bearer-authentication.js';
import { CallerTokens } from './auth/caller-tokens.js';
import { RoleAccessPolicy } from './auth/policy.js';
import { loadSigningKeyFile } from './auth/signing-key.js';
import type { Config } from './config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import type { Clock } from './domain/clock.js';
import { systemClock } from './domain/clock.js';
import type { Logger } from './domain/logger.js';
import { gitopsPrincipal } from './domain/principal.js';
import { INTERNAL_KEEP_ALIVE_MS, PUBLIC_KEEP_ALIVE_MS } from './gateway/host/control-proxy.js';
import { DataPlaneThread, type DataPlaneControl } from './gateway/host/data-plane-thread.js';
import { guardInternal } from './gateway/host/internal-guard.js';
import { yieldCpuToDataPlane } from './gateway/host/yield-cpu.js';
import { dataPlaneHostOptions } from './gateway/host/host-options.js';
import { CallerCredentials } from './credentials/caller-credentials.js';
import { findOAuthMetadata } from './credentials/oauth-server-metadata.js';
import { OAuthConnections } from './credentials/oauth-connections.js';
import { createApp, requestListener, type AppOptions } from './http/app.js';
import { createTestConnection, type DiscoverStdio } from './http/gaia/test-connection.js';
import { createDetectProbes } from './http/gaia/detect.js';
import { ForbiddenError } from './domain/errors.js';
import { isStdioManifest, stdioEnv } from './domain/manifest.js';
import { StdioPolicy, stdioRefusal } from './stdio/stdio-policy.js';
import { StdioSupervisor } from './stdio/stdio-supervisor.js';
import { presentServer } from './http/present.js';
import { ChangeFeed } from './http/watch-feed.js';
import { WatchHub } from './http/watch-hub.js';
import { ControlPlaneMetrics } from './metrics/index.js';
import { Intake } from './intake/index.js';
import { createLogger, ReconcileLogContext } from './logger.js';
import { discover, type DiscoverDeps, type DiscoveryTarget } from './discovery/index.js';
import { OAuthClientCredentials } from './upstream/index.js';
import { EgressPolicy } from './upstream/egress.js';
import { ConnectionPool } from './upstream/connection-pool.js';
import { discoverOpenApi } from './openapi/discover-openapi.js';
import { DocumentParser } from './openapi/document-parser.js';
import { isAdmissionPolicy, isPolicyFqn, policyScope, type AdmissionPolicyManifest } from './domain/policy.js';
import { presentPolicy } from './http/present-policy.js';
import { Admission } from './policy/admission.js';
import { scopeVersion } from './policy/policy-scope-version.js';
import { AnswersFirst } from './http/answers-first.js';
import { PolicyAuditor } from './policy/policy-audit.js';
import { PolicyEvaluator } from './policy/policy-evaluator.js';
import { createPolicyReconciler } from './reconcile/policy-reconciler.js';
import type { McpServerResource } from './domain/resource.js';
import type { ResourceReader } from './store/index.js';
import { Controller } from './reconcile/controller.js';
import { ResyncPlanner } from './reconcile/resync-plan.js';
import { DiscoveryManager } from './reconcile/discovery-manager.js';
import { createRefreshServer, refreshMarginMs } from './reconcile/refresh-server.js';
import { createSecretResolver } from './reconcile/secret-refs.js';
import { ParsePool } from './manifest/parse-pool.js';
import { createServerReconciler } from './reconcile/server-reconciler.js';
import { UpstreamHealth } from './reconcile/upstream-health.js';
import { WorkQueue } from './reconcile/workqueue.js';
import { RetryBudget } from './reconcile/retry-budget.js';
import { ManifestSources, type WatchTiming } from './sources/index.js';
import { resourceViews } from './http/resource-view.js';
import type { GatewayStore, ResourceStore } from './store/index.js';
import { CheckpointThread, SqliteGatewayStore, SqliteResourceStore } from './store/sqlite/index.js';
import type { PostgresCluster } from './cluster/postgres-cluster.js';
import type { WriteBudget, WriteRate } from './http/rate-limit.js';
import { redactPostgresUrl } from './store/postgres/store-url.js';
import type { SchemaTooNewError } from './store/postgres/schema-too-new.js';
import type { CredentialStore, UnitOptions, GatewayStore as GatewayStorePort, ResourceStore as ResourceStorePort } from './store/index.js';
import { AesGcmSecretCodec, deriveKey, loadSecretKeyFile } from './store/secret-codec.js';
import { alwaysLeader, ClusterRole } from './cluster/cluster-role.js';
import { leaderAddress, singleReplicaView } from './cluster/cluster-view.js';
import type { ClusterWiring } from './cluster/cluster-wiring.js';
import { InternalTokens } from './cluster/internal-token.js';
import { forwardingRefreshServer } from './cluster/refresh-forwarding.js';
import { newReplicaId } from './cluster/replicas.js';
import { ClusterMetrics } from './metrics/cluster-metrics.js';
import { packageVersion } from './http/openapi.js';

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
  /** The gateway data plane at /mcp/{name}: inline, or on its thread (--data-plane). */
  dataPlane: DataPlaneControl;
  /** The control plane's prom-client registry (mcp_cp_*); inline, the data plane's (mcp_gateway_*) too (on its thread, /metrics merges the thread's). */
  metricsRegistry: Registry;
  /** The control plane's metrics (GET /metrics). */
  metrics: ControlPlaneMetrics;
  /** The watch streams of GET /api/svc/v1/mcp-servers?watch=true. */
  watch: WatchHub;
  /** The express app (its routes are what /openapi.json must describe). */
  app: Express;
  /** The mcp-server/stdio processes; runs nothing unless --allow-stdio and --stdio-allow say so. */
  stdio: StdioSupervisor;
  /** Leader or follower, and the leader work it runs (SQLite mode: always leader). */
  role: ClusterRole;
  close(): Promise<void>;
}

export type { ClusterWiring } from './cluster/cluster-wiring.js';

export interface StartOptions {
  /**
   * PostgreSQL mode: this replica lost the leader lease (its leader work has stopped). The work starts once
   * per process, so serve ends it here and a supervisor starts it again as a follower. `schemaTooNew`: it gave
   * the lease up because a newer build migrated the schema (src/cluster/schema-guard.ts); it must not restart.
   */
  onLeadershipLost?: (schemaTooNew?: SchemaTooNewError) => void;
  /** The cluster this replica is part of (tests: a follower of another control plane). Default: SQLite's single replica. */
  cluster?: ClusterWiring;
  /** The control plane's clock; an inline data plane's too (the data-plane thread keeps the system clock). */
  clock?: Clock;
  logger?: Logger;
  /** Watcher timing (tests shorten it). */
  manifestWatch?: Partial<WatchTiming>;
  /** More bearer-token subjects, asked after the admin token (embedders and tests); functions, so --data-plane inline only. */
  authenticators?: readonly Authenticator[];
  /** How often --tokens-file is checked for changes (tests shorten it). Default 1 s. */
  tokensFilePollIntervalMs?: number;
  /**
   * --data-plane thread: the data-plane thread ended without being asked to (a crash), and with it the public
   * listener. serve closes and exits 1 (its supervisor restarts it). Default: the error is logged.
   */
  onDataPlaneLost?: (error: Error) => void;
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
  if (config.dataPlane === 'thread' && options.authenticators?.length) {
    throw new Error('StartOptions.authenticators are functions, which the data-plane thread cannot be given: start with --data-plane inline to use them.');
  }
  const { token, source: adminTokenSource } = loadAdminToken(config);
  // Read before anything is opened: a bad tokens file is a startup error naming file:line:col.
  const { authenticator, tokensFile } = bearerAuthentication({
    adminToken: token,
    tenant: config.tenant,
    tokensFile: config.tokensFile,
    tokensFilePollIntervalMs: options.tokensFilePollIntervalMs,
    logger,
    ...(options.authenticators ? { more: options.authenticators } : {}),
  });

  // Secrets at rest: AES-256-GCM in both files; the spec and gateway-config hashes are keyed (HMAC).
  const secretKey = config.secretKey ?? loadSecretKeyFile(config.dataDir).key;
  const secretCodec = new AesGcmSecretCodec(secretKey);
  // What one replica asks of another (a refresh on the leader, a forwarded MCP session request).
  const internalTokens = new InternalTokens(secretKey, clock);
  const hashKey = deriveKey(secretKey, 'content-hash');
  const egress = new EgressPolicy({ deny: config.egressDeny, allow: config.egressAllow });
  // Signs what passthrough upstreams get in place of a caller's token; a bad key file is a startup error.
  const signingKey = config.signingKey ?? loadSigningKeyFile(config.dataDir, config.signingKeyFile).key;
  let publicUrl = config.publicUrl ?? '';
  const callerTokens = await CallerTokens.create({ key: signingKey, issuer: () => publicUrl, clock });

  const replicaId = options.cluster?.replicaId ?? newReplicaId();
  const stores = await openStores(config, { replicaId, clock, secretCodec, hashKey, logger, internalTokens });
  // The API's store objects; the leader work writes through leaderStore and leaderGateway (fenced on PostgreSQL).
  const { store, gateway, leaderStore, leaderGateway, credentials } = stores;
  const policy = new RoleAccessPolicy({ fileTakeoverRole: config.fileTakeoverRole });
  const queue = new WorkQueue({ clock });
  // Real time (the default clock): it schedules this process's CPU.
  const answersFirst = new AnswersFirst();
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
    ...(config.discoveryRate ? { rediscoveryRate: config.discoveryRate } : {}),
    retryBaseMs: config.discoveryRetryBaseMs,
    retryMaxMs: config.discoveryRetryMaxMs,
    retryUnreachableMaxMs: config.discoveryRetryUnreachableMaxMs,
    ...(config.discoveryRetryRate ? { retryBudget: new RetryBudget({ ...config.discoveryRetryRate, clock }) } : {}),
    jitter: Math.random,
    enqueue: (key) => queue.add(key),
    // Applying desired state and the API's answers go first (answers-first.ts), each wait bounded by the manager.
    reconcilesWaiting: () => answersFirst.discoveryMayStart(() => (queue.len() > 0 ? queue.whenIdle() : undefined)),
    // A discovery after the gateway saw the server fail is reconciled even when it found the same (status clears the failure).
    mustReport: (key) => upstreamHealth.failure(key) !== undefined,
    logger: logger.child({ component: 'discovery' }),
  });
  // Discoveries with the same connection settings reuse each other's idle connections (upstream/connection-pool.ts);
  // each origin takes at least two per discovery running at once (an SSE server's stream and a request).
  const discoveryConnections = new ConnectionPool({ connectionsPerOrigin: Math.max(64, 2 * config.discoveryConcurrency + 2) });
  // mcp-server/openapi documents are parsed in a worker (started on first use), closed with the server.
  const documentParser = new DocumentParser({ clock });
  // What the gateway sees of each upstream reaches its status within seconds (see reconcile/upstream-health.ts).
  const upstreamHealth = new UpstreamHealth({ clock, rediscover: (key) => discovery.rediscover(key), enqueue: (key) => queue.add(key) });
  // Admission policies: their rules are evaluated in a worker (started on first use), each write under a deadline.
  const policyEvaluator = new PolicyEvaluator({ budgetMs: config.policyEvaluationTimeoutMs, clock });
  const admission = new Admission({
    policies: async () => (await listAll(store, policyScope(config.tenant))).map((r) => r.manifest as unknown as AdmissionPolicyManifest),
    // Read again only after a policy was written (by any replica): one read of the scope's stored views per write.
    policiesVersion: () => scopeVersion(store, policyScope(config.tenant)),
    evaluator: policyEvaluator,
    clock,
  });
  // The audit of the stored servers (the leader's): PolicyCompliant on each server, a summary on each policy.
  const policyAuditor = new PolicyAuditor({
    admission,
    listPolicies: () => listAll(leaderStore, policyScope(config.tenant)),
    listServers: () => pagesOf(leaderStore, config.tenant),
    writeSummary: async (p, status) => {
      await leaderStore.setStatus(p.fqn, status, { id: p.id, generation: p.generation });
    },
    enqueue: (key) => queue.add(key),
    // A file refused by a rule may pass the changed policies.
    policiesChanged: () => sources.retryRefused(),
    clock,
    logger: logger.child({ component: 'policy-audit' }),
  });
  const reconcilePolicy = createPolicyReconciler(policyAuditor);
  const secretResolver = createSecretResolver({ env: process.env, secretsDir: config.secretsDir ?? join(config.dataDir, 'secrets') });
  // Per-user OAuth (authorization_code): each caller connects their own account; the gateway sends their token.
  const oauthConnections = new OAuthConnections({
    store: credentials,
    clock,
    publicUrl: () => publicUrl,
    egress,
    timeoutMs: Math.min(10_000, config.discoveryTimeoutMs),
    maxResponseBytes: config.upstreamLimits.maxResponseBytes,
    logger: logger.child({ component: 'oauth' }),
  });
  const reconcile = createServerReconciler({
    // A virtual server uses its sources as its writer: the GitOps source for a file, else the token subject
    // that last wrote it, with that subject's rights now (a subject with no token any more may use nothing).
    mayCompose: (virtual, source) => {
      const owner = virtual.source.kind === 'file' ? gitopsPrincipal(config.tenant) : authenticator.principalOf(virtual.updatedBy.subjectId);
      return owner !== undefined && policy.canUse(owner, source.manifest.collaborators, source.accountId);
    },
    store: leaderStore,
    gateway: leaderGateway,
    discovery,
    // The token request shares the discovery budget (see the reconciler), so it cannot take longer.
    oauth: new OAuthClientCredentials({ clock, timeoutMs: Math.min(10_000, config.discoveryTimeoutMs), egress, maxResponseBytes: config.upstreamLimits.maxResponseBytes }),
    oauthMetadata: (server, settings) => findOAuthMetadata(server, settings, { timeoutMs: Math.min(10_000, config.discoveryTimeoutMs), egress }),
    discover: metrics.instrumentDiscover((target: DiscoveryTarget, deps?: DiscoverDeps) => discover(target, { ...deps, egress, limits: config.upstreamLimits, connections: discoveryConnections })),
    // mcp-server/openapi documents are fetched like any upstream: the egress policy, and the message cap over all they
    // read; timed and counted in the discovery metrics like every discovery.
    discoverOpenApi: async (input) => {
      const started = clock.now();
      const found = await discoverOpenApi(input, { egress, maxBytes: config.upstreamLimits.maxMessageBytes, parser: documentParser });
      metrics.observeDiscovery(found.result, clock.now() - started);
      return found;
    },
    configHashKey: hashKey,
    discoveryTimeoutMs: config.discoveryTimeoutMs,
    secrets: secretResolver,
    stdio,
    upstreamHealth,
    credentials,
    // Callers' OAuth tokens the reconciler drops (server deleted, auth block changed) are revoked where supported.
    revokeTokens: (dropped) => oauthConnections.revokeDropped(dropped),
    // mcp-server/virtual servers follow their sources.
    enqueue: (key) => queue.add(key),
    policyCompliance: (r) => policyAuditor.condition(r),
    clock,
    logger: logger.child({ component: 'reconciler' }),
  });
  const resyncPlanner = new ResyncPlanner(async () => ({ resources: await leaderStore.syncStates(), entries: await leaderGateway.syncStates() }));
  // Settles when the leader's first sync of the watched directories ended (see beforeBatch and the leader work).
  let firstSync: Promise<void> = Promise.resolve();
  const controller = new Controller({
    name: 'mcp-servers',
    // Every log line of a reconcile carries its reconcileId and key.
    // An admission policy's key audits the servers again; every other key is a server's.
    reconcile: reconcileLogs.wrap((key) => (isPolicyFqn(key) ? reconcilePolicy(key) : reconcile(key))),
    onOutcome: (outcome) => {
      metrics.observeReconcile(outcome);
      reconcileLogs.finished(outcome.key);
    },
    queue,
    clock,
    workers: config.workers,
    resyncIntervalMs: config.resyncIntervalMs,
    // Gateway keys too, so an entry with no resource behind it is found and removed.
    listKeys: async () => [...new Set([...(await leaderStore.keys()), ...(await leaderGateway.keys())])],
    // A resync reconciles at once what the stored states show differs, and the rest in slices (resync-plan.ts).
    planResync: () => resyncPlanner.plan(),
    // Restarts, takeovers and change-feed gaps enqueue every key; those not converged go first.
    listDiffering: () => resyncPlanner.differing(),
    logger: reconcileLogs.controllerLogger(logger.child({ component: 'controller' })),
    // A batch of reconciles commits once in each store (status and events; gateway entries): derived state,
    // which SQLite commits without an fsync of its own (see UnitOptions.derived).
    batch: (run) => stores.leaderUnit(run, { derived: true }),
    // Each reconcile of it in a savepoint (of both stores): one that fails rolls back only its own writes.
    each: (run) => stores.leaderUnit(run),
    // The leader's first sync of the watched directories goes first: it commits in parts, and every batch
    // (those its parts queued, and on PostgreSQL other replicas' writes) waits for its end, so reconciles
    // do not slow the sync (and readiness) down.
    // Then answers first: while API writes are in flight a batch waits (boundedly) and runs short.
    beforeBatch: async () => {
      await firstSync;
      return answersFirst.beforeBatch();
    },
  });
  // The API's intake, and the watched directories' (the leader's: its writes are fenced on PostgreSQL).
  const makeIntake = (intakeStore: ResourceStorePort) => new Intake({
    store: intakeStore,
    tenant: config.tenant,
    policy,
    clock,
    enqueue: (key) => queue.add(key),
    specHashKey: hashKey,
    admission,
    // A server whose file was deleted (its prune held back for the quiet period) may be deleted through the API.
    fileGone: (source) => !existsSync(resolve(source.root, source.path)),
    // The file a forced API write or delete took a name from shows its ownership error at once, not at its next edit.
    takenFromFile: (source, taken) => sources.taken(source.root, source.path, taken),
    // A stdio command the operator did not allow is refused at every door (PUT, files, GAIA): 403.
    admitManifest: (m) => {
      const refusal = isStdioManifest(m) ? stdioRefusal(stdio.policy, m.command) : undefined;
      if (refusal) throw new ForbiddenError(refusal);
    },
  });
  const intake = makeIntake(store);
  const leaderIntake = leaderStore === store ? intake : makeIntake(leaderStore);
  // Started now, so the first sync does not wait for a worker to load; closed with the server.
  const parsePool = new ParsePool();
  if (config.manifestDirs.length > 0) parsePool.warm();
  const sources = new ManifestSources({
    parsePool,
    roots: config.manifestDirs,
    intake: leaderIntake,
    store: leaderStore,
    tenant: config.tenant,
    allowEmptyPrune: config.allowEmptyPrune,
    pruneQuietMs: config.pruneQuietPeriodMs,
    clock,
    logger,
    ...(options.manifestWatch ? { timing: options.manifestWatch } : {}),
  });

  // The leader work: only the leader reconciles, discovers and watches the directories (src/cluster/cluster-role.ts).
  const cluster: ClusterWiring = options.cluster ?? stores.postgres?.wiring ?? {
    replicaId,
    election: alwaysLeader,
    view: singleReplicaView({ id: replicaId, url: () => advertiseUrl, version: packageVersion(), since: new Date(clock.now()), now: () => clock.now() }),
    lastRenewalAgeMs: () => (role.isLeader ? 0 : undefined),
  };
  const role = new ClusterRole({
    election: cluster.election,
    work: [
      // PostgreSQL: a newer build migrated the schema while this one ran: it does not lead (src/cluster/schema-guard.ts).
      ...(stores.postgres ? [stores.postgres.schemaCheck] : []),
      { name: 'reconciler', start: () => controller.start(), stop: async () => { discovery.stop(); await controller.stop(); } },
      // Ready only after every watched directory has been synced once.
      {
        name: 'manifest sources',
        start: () => {
          const started = sources.start();
          firstSync = started.then(() => undefined, () => undefined);
          return started;
        },
        stop: () => sources.stop(),
      },
      // Level-triggered restart: everything stored is reconciled once, so work committed but not applied is
      // applied. After the first sync, which enqueues what it changes itself: rechecking thousands of unchanged
      // entries must not hold up the sync (nor readiness).
      { name: 'resync', start: () => controller.enqueueAll(), stop: () => undefined },
      // The stored servers against the stored admission policies, once (then at each change of a policy).
      { name: 'policy audit', start: () => void policyAuditor.refresh(), stop: () => policyAuditor.idle() },
      ...(stores.postgres ? [stores.postgres.housekeeping] : []),
    ],
    clock,
    logger: logger.child({ component: 'cluster' }),
    onTransition: () => clusterMetrics.transitioned(),
    // The leader work starts once per process: a replica that lost the lease ends (a supervisor restarts it as a follower).
    onLost: () => options.onLeadershipLost?.(stores.postgres?.schemaMovedOn()),
  });
  const metricsRegistry = metrics.registry;
  // --data-plane thread: the data plane is started with the listener, below (its modules loaded on that thread only); inline: here.
  const inline = config.dataPlane === 'thread' ? undefined : await import('./gateway/data-plane/index.js');
  const dataPlane = inline && new inline.DataPlane({
    gateway,
    authenticator,
    policy,
    tenant: config.tenant,
    metrics: new inline.PromDataPlaneMetrics(metricsRegistry),
    egress,
    upstreamLimits: config.upstreamLimits,
    stdio,
    callerTokens,
    // Per-user servers: each caller's own header values or OAuth token, from the credential store.
    callerCredentials: new CallerCredentials({ store: credentials, publicUrl: () => publicUrl, secrets: secretResolver, oauth: oauthConnections }),
    upstreamHealth,
    // PostgreSQL mode: a session's requests reach the replica that holds it, whichever replica they arrive at.
    ...(stores.postgres ? { sessionOwners: stores.postgres.sessionOwners } : {}),
    logger: logger.child({ component: 'data-plane' }),
  });
  // One reader of the changelog feeds the watch streams (it reads only while one is open).
  const feed = new ChangeFeed({ store, clock, logger: logger.child({ component: 'watch' }) });
  const watch = new WatchHub({
    feed,
    store,
    tenant: config.tenant,
    // Admission policies' changes are frames too (admins only: canRead), as the policies API answers them.
    present: (r) => (isAdmissionPolicy(r.manifest) ? presentPolicy(r) : presentServer(r, { publicUrl })),
    clock,
    logger: logger.child({ component: 'watch' }),
    bookmarkIntervalMs: config.watchBookmarkIntervalMs,
    maxBufferedEvents: config.watchBufferEvents,
    onOverflow: () => metrics.watchOverflowed(),
  });
  // PostgreSQL mode: a write another replica's intake made (a PUT or DELETE sent to a follower) reaches the
  // leader's queue through the shared changelog; the leader's own status writes (observed = generation) do not.
  // So on PostgreSQL the feed always has this listener: every replica reads each change once, watched or not.
  if (stores.postgres) {
    feed.listen((changes) => {
      if (!role.isLeader) return;
      for (const c of changes) if (c.type === 'DELETED' || c.object.status.observedGeneration !== c.object.generation) queue.add(c.fqn);
    });
    // Changes the feed skipped (it fell behind the changelog's retention) are unknown: every key is enqueued.
    feed.onGap(() => {
      if (!role.isLeader) return;
      controller.enqueueAll().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'could not enqueue every key after a change-feed gap'));
    });
  }
  await feed.start();
  watch.start();
  metrics.bind({
    queue,
    discovery,
    gatewayEntries: () => gateway.count(),
    watchClients: () => watch.clientCount,
    policyViolations: () => policyAuditor.violationsByPolicy(),
    readiness: () => store.readinessCounts(config.tenant),
    sourcesOf: (keys) => store.sourcesOf(keys),
  });
  const clusterMetrics = new ClusterMetrics(metrics.registry, { isLeader: () => role.isLeader, lastRenewalAgeMs: () => cluster.lastRenewalAgeMs?.() });
  // A refresh asked of a follower runs on the leader (src/cluster/refresh-forwarding.ts).
  const localRefresh = createRefreshServer({
    discovery,
    store,
    clock,
    discoveryTimeoutMs: config.discoveryTimeoutMs,
    concurrency: config.discoveryConcurrency,
  });
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
    readiness: { notReadyReason: async () => (await storeProblem()) ?? role.notReadyReason() ?? (role.isLeader ? sources.notReadyReason() : undefined) },
    cluster: cluster.view,
    // Refreshes are taken from other replicas only once the leader work has started.
    clusterInternal: { selfId: replicaId, tokens: internalTokens, isLeader: () => role.isLeading, refresh: localRefresh },
    sources,
    refreshServer: forwardingRefreshServer({
      local: localRefresh,
      selfId: replicaId,
      isLeader: () => role.isLeading,
      leader: () => leaderAddress(cluster.view),
      tokens: internalTokens,
      // The leader's own wait (the discovery timeout and its margin), and time for the answer to come back.
      timeoutMs: config.discoveryTimeoutMs + refreshMarginMs(config.discoveryTimeoutMs) + 5_000,
      logger: logger.child({ component: 'cluster' }),
    }),
    logger: logger.child({ component: 'http' }),
    ...(dataPlane ? { mcp: dataPlane.handler } : {}),
    jwks: callerTokens.jwks,
    // PostgreSQL mode: one budget per token across the replicas (a row each); SQLite: this process's.
    ...(config.writeRateLimit ? { writeRateLimit: { ...config.writeRateLimit, ...(stores.sharedWriteBudget ? { budget: stores.sharedWriteBudget(config.writeRateLimit) } : {}) } } : {}),
    clock,
    watch,
    metrics,
    metricsPublic: config.metricsPublic,
    answersFirst,
    credentials: {
      store: credentials,
      oauth: oauthConnections,
      onDisconnected: (fqn, subject) => void dataPlaneControl?.endSessionsOf(fqn, subject, 'the caller disconnected their account'),
      // A user's new credentials may discover the server's tools (on the leader, which runs discovery).
      onConnected: (fqn) => discovery.rediscover(fqn),
    },
  };
  const app = createApp(appOptions);

  let server: Server | undefined;
  let dataPlaneControl: DataPlaneControl | undefined = dataPlane;
  // Every step runs even when an earlier one throws, so a failed start or stop leaks no handle, timer or socket.
  const shutdown = async (): Promise<void> => {
    const steps: [string, () => unknown][] = [
      ['tokens file', () => tokensFile?.stop()],
      // The leader work (watched directories, discovery, the reconciler), then the lease.
      ['leader work', () => role.stop()],
      ['manifest parser', () => parsePool.close()],
      // Ends every watch stream (clients resume elsewhere) and stops reading the changelog.
      ['watch', () => watch.stop()],
      ['changelog feed', () => feed.stop()],
      // Ends client sessions (their streams too, so the server can close) and their upstream sessions.
      ['data plane', () => dataPlaneControl?.close()],
      [
        'http server',
        () =>
          server &&
          new Promise<void>((r) => {
            server!.close(() => r());
            server!.closeAllConnections();
          }),
      ],
      ['openapi parser', () => documentParser.close()],
      ['policy evaluator', () => policyEvaluator.close()],
      ['upstream health', () => upstreamHealth.close()],
      ['discovery connections', () => discoveryConnections.close()],
      // After the data plane and the workers: nothing uses a stdio process any more.
      ['stdio', () => stdio.close()],
      ['stores', () => stores.close()],
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
  let advertiseUrl = '';
  try {
    if (dataPlane) {
      server = await listen(requestListener(app, appOptions), config.port, config.host, PUBLIC_KEEP_ALIVE_MS);
      port = (server.address() as AddressInfo).port;
    } else {
      // The data-plane thread owns the public listener and passes the rest here, marked with this secret.
      const secret = randomBytes(32).toString('base64url');
      server = await listen(guardInternal(secret, app), 0, '127.0.0.1', INTERNAL_KEEP_ALIVE_MS);
      const thread = await DataPlaneThread.start(
        {
          ...dataPlaneHostOptions(config, { adminToken: token, secretKey, hashKey, signingKey, replicaId, tokensFilePollIntervalMs: options.tokensFilePollIntervalMs }),
          controlPlane: { port: (server.address() as AddressInfo).port, secret },
        },
        {
          upstreamHealth,
          logger,
          onLost: (error) => options.onDataPlaneLost?.(error),
        },
      );
      dataPlaneControl = thread;
      // On a busy machine the gateway's thread gets the CPU first; control-plane work waits instead.
      yieldCpuToDataPlane(config.controlPlaneNice, logger);
      // Gateway entries the reconciler commits reach the thread's sessions at once (its poll is the backstop).
      leaderGateway.watch((fqn) => thread.changed(fqn));
      metrics.mergeFrom(() => thread.metricsJson());
      port = thread.port;
    }
    const wildcard = defaultPublicUrl(config.host, port, networkInterfaces());
    url = wildcard?.localUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    if (!config.publicUrl) publicUrl = wildcard?.publicUrl ?? url;
    if (dataPlaneControl instanceof DataPlaneThread) dataPlaneControl.setPublicUrl(publicUrl);
    if (wildcard && !config.publicUrl) {
      logger.warn(
        { host: config.host, publicUrl },
        `--host ${config.host} listens on every interface, and no --public-url was given: proxy URLs use ${publicUrl} (${wildcard.why}); pass --public-url to choose the address clients reach.`,
      );
    }

    advertiseUrl = config.advertiseUrl ?? wildcard?.publicUrl ?? url;
    stores.postgres?.startHeartbeat(advertiseUrl);
    await role.start();
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
    dataPlane: dataPlaneControl!,
    metricsRegistry,
    metrics,
    watch,
    app,
    stdio,
    role,
    close: shutdown,
  };
}

function listen(listener: RequestListener, port: number, host: string, keepAliveTimeout: number): Promise<Server> {
  return new Promise<Server>((resolveListen, rejectListen) => {
    const s = createServer({ keepAliveTimeout }, listener).listen(port, host);
    s.once('listening', () => resolveListen(s));
    s.once('error', rejectListen);
  });
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

interface OpenStores {
  store: ResourceStorePort;
  gateway: GatewayStorePort;
  /** What the leader work writes through: the same objects on SQLite, fenced ones on PostgreSQL. */
  leaderStore: ResourceStorePort;
  leaderGateway: GatewayStorePort;
  /** Per-user credentials (beside the gateway entries); the leader work only drops them. */
  credentials: CredentialStore;
  /**
   * Runs fn as one unit of work of both leader store objects (nested in a unit: one savepoint of each). On
   * SQLite a transaction of each file; on PostgreSQL one transaction, which both objects' calls join (one
   * pool), so one unit (one savepoint) rather than a unit of each.
   */
  leaderUnit<T>(fn: () => Promise<T>, options?: UnitOptions): Promise<T>;
  /** PostgreSQL mode's cluster (election, heartbeat, view, session owners). */
  postgres?: PostgresCluster;
  /** PostgreSQL mode: the write rate limit's buckets, shared by the replicas. */
  sharedWriteBudget?: (rate: WriteRate) => WriteBudget;
  close(): Promise<void>;
}

/**
 * --store: the two SQLite files under the data directory, or one PostgreSQL database shared by the
 * replicas: migrated, its key canary checked, and a fenced resource and gateway store object for the
 * leader beside the API's, all over one pool (so a unit spans both stores).
 */
async function openStores(
  config: Config,
  deps: { replicaId: string; clock: Clock; secretCodec: AesGcmSecretCodec; hashKey: Buffer; logger: Logger; internalTokens: InternalTokens },
): Promise<OpenStores> {
  const { clock, secretCodec, hashKey, logger } = deps;
  if (config.store.kind === 'sqlite') {
    // Both files' checkpoints on one worker thread (one isolate, not two).
    const checkpoints = { logger, thread: new CheckpointThread() };
    const store = new SqliteResourceStore({
      path: join(config.dataDir, 'control-plane.db'),
      durability: config.durability,
      views: resourceViews,
      clock,
      secretCodec,
      revisionHistory: config.revisionHistory,
      revisionRetentionMs: config.revisionRetentionMs,
      checkpoints,
    });
    const gateway = new SqliteGatewayStore({ path: join(config.dataDir, 'gateway.db'), clock, secretCodec, hashKey, checkpoints });
    const close = async () => {
      await store.close();
      await gateway.close();
    };
    try {
      // Seals what an older version stored in clear; a wrong key fails here, not on the first read.
      const resealed = (await store.resealSecrets()) + (await gateway.resealSecrets());
      if (resealed > 0) logger.info({ rows: resealed }, 'encrypted secrets stored before encryption at rest');
    } catch (err) {
      await close();
      throw err;
    }
    return { store, gateway, leaderStore: store, leaderGateway: gateway, credentials: gateway.credentials, leaderUnit: (fn, options) => store.transaction(() => gateway.transaction(fn), options), close };
  }
  // The PostgreSQL client and the cluster's modules are loaded on a PostgreSQL store only (one after the
  // other: Jest's module loader fails concurrent imports that share a CommonJS dependency).
  const { PostgresCredentialStore, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } = await import('./store/postgres/index.js');
  const { openPostgresCluster } = await import('./cluster/postgres-cluster.js');
  const { sharedWriteBudget } = await import('./cluster/shared-write-budget.js');
  const database = await PostgresDatabase.open(config.store.url, {
    applicationName: `mcp-control-plane ${deps.replicaId}`.slice(0, 63),
    leaseDurationMs: config.lease.durationMs,
    onError: (err) => logger.warn({ err: err.message }, 'a PostgreSQL connection failed; the next use opens another'),
  });
  const opened: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const o of opened.reverse()) await o.close().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'closing a store failed'));
    await database.close();
  };
  try {
    const postgres = await openPostgresCluster({ pool: database.pool, lease: config.lease, secretCodec, version: packageVersion(), logger: logger.child({ component: 'cluster' }), clock, replicaId: deps.replicaId, tokens: deps.internalTokens });
    opened.push(postgres);
    const open = async <T extends { close(): Promise<void> }>(made: Promise<T>): Promise<T> => {
      const o = await made;
      opened.push(o);
      return o;
    };
    const revisions = { revisionHistory: config.revisionHistory, revisionRetentionMs: config.revisionRetentionMs };
    const onError = (err: Error) => logger.warn({ err: err.message }, 'PostgreSQL housekeeping failed; the next round tries again');
    const store = await open(PostgresResourceStore.open({ database, views: resourceViews, clock, secretCodec, ...revisions, onError }));
    // Housekeeping (pruning the changelog, events and revisions) is leader work: the fenced store object's only.
    const leaderStore = await open(
      PostgresResourceStore.open({ database, views: resourceViews, clock, secretCodec, ...revisions, fence: postgres.fence, housekeeping: true, beforeHousekeeping: postgres.checkSchema, onError }),
    );
    const gateway = await open(PostgresGatewayStore.open({ database, clock, secretCodec, hashKey }));
    const leaderGateway = await open(PostgresGatewayStore.open({ database, clock, secretCodec, hashKey, fence: postgres.fence }));
    logger.info({ store: redactPostgresUrl(config.store.url), replica: deps.replicaId }, 'PostgreSQL store open');
    const credentials = new PostgresCredentialStore({ database, clock, secretCodec });
    // Both leader objects carry the same fence, which the unit runs at its start; PostgreSQL has no derived units.
    const leaderUnit = <T>(fn: () => Promise<T>) => leaderStore.transaction(fn);
    return { store, gateway, leaderStore, leaderGateway, leaderUnit, credentials, postgres, sharedWriteBudget: (rate) => sharedWriteBudget(database.pool, rate, clock), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Every resource of a tenant column (servers: the tenant; policies: policyScope), masked, page by page. */
async function listAll(store: ResourceReader, tenant: string): Promise<McpServerResource[]> {
  const out: McpServerResource[] = [];
  for await (const page of pagesOf(store, tenant)) out.push(...page);
  return out;
}

/** The tenant's resources (masked), 1,000 at a time: a caller that needs each once holds one page, not all. */
async function* pagesOf(store: ResourceReader, tenant: string): AsyncGenerator<McpServerResource[]> {
  for (let offset = 0; ; offset += 1000) {
    const { items, total } = await store.list({ tenant, limit: 1000, offset, masked: true });
    if (items.length > 0) yield items;
    if (items.length === 0 || offset + items.length >= total) return;
  }
}
