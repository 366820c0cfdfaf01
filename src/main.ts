// Composition root: builds the pieces from a Config and starts them. The only file that picks
// concrete classes.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { StaticTokenAuthenticator } from './auth/authenticator.js';
import { RoleAccessPolicy } from './auth/policy.js';
import type { Config } from './config.js';
import type { Clock } from './domain/clock.js';
import { systemClock } from './domain/clock.js';
import type { Logger } from './domain/logger.js';
import { adminPrincipal } from './domain/principal.js';
import type { GatewayStore } from './gateway/gateway-store.js';
import { SqliteGatewayStore } from './gateway/sqlite-gateway-store.js';
import { createApp } from './http/app.js';
import { Intake } from './intake/index.js';
import { createLogger } from './logger.js';
import { OAuthClientCredentials } from './discovery/index.js';
import { Controller } from './reconcile/controller.js';
import { DiscoveryManager } from './reconcile/discovery-manager.js';
import { createSecretResolver } from './reconcile/secret-refs.js';
import { createServerReconciler } from './reconcile/server-reconciler.js';
import { WorkQueue } from './reconcile/workqueue.js';
import { ManifestSources, type WatchTiming } from './sources/index.js';
import { SqliteResourceStore, type ResourceStore } from './store/index.js';

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
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Watcher timing (tests shorten it). */
  manifestWatch?: Partial<WatchTiming>;
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

export async function startControlPlane(config: Config, options: StartOptions = {}): Promise<ControlPlane> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { token, source: adminTokenSource } = loadAdminToken(config);

  const store = new SqliteResourceStore({ path: join(config.dataDir, 'control-plane.db'), clock });
  const gateway = new SqliteGatewayStore({ path: join(config.dataDir, 'gateway.db'), clock });
  const policy = new RoleAccessPolicy();
  const queue = new WorkQueue({ clock });
  const discovery = new DiscoveryManager({
    clock,
    concurrency: config.discoveryConcurrency,
    intervalMs: config.discoveryIntervalMs,
    onComplete: (key) => queue.add(key),
    logger: logger.child({ component: 'discovery' }),
  });
  const reconcile = createServerReconciler({
    store,
    gateway,
    discovery,
    oauth: new OAuthClientCredentials({ clock }),
    discoveryTimeoutMs: config.discoveryTimeoutMs,
    secrets: createSecretResolver({ env: process.env, secretsDir: config.secretsDir ?? join(config.dataDir, 'secrets') }),
    clock,
    logger: logger.child({ component: 'reconciler' }),
  });
  const controller = new Controller({
    name: 'mcp-servers',
    reconcile,
    queue,
    clock,
    workers: config.workers,
    resyncIntervalMs: config.resyncIntervalMs,
    // Gateway keys too, so an entry with no resource behind it is found and removed.
    listKeys: () => [...new Set([...store.keys(), ...gateway.keys()])],
    logger: logger.child({ component: 'controller' }),
  });
  const intake = new Intake({ store, tenant: config.tenant, policy, clock, enqueue: (key) => queue.add(key) });
  const sources = new ManifestSources({
    roots: config.manifestDirs,
    intake,
    store,
    tenant: config.tenant,
    allowEmptyPrune: config.allowEmptyPrune,
    clock,
    logger,
    ...(options.manifestWatch ? { timing: options.manifestWatch } : {}),
  });

  let started = false;
  let publicUrl = config.publicUrl ?? '';
  const app = createApp({
    intake,
    store,
    gateway,
    policy,
    authenticator: new StaticTokenAuthenticator(token, adminPrincipal(config.tenant)),
    tenant: config.tenant,
    get publicUrl() {
      return publicUrl;
    },
    readiness: { notReadyReason: () => (started ? sources.notReadyReason() : 'starting: the reconciler is not running yet') },
    sources,
    logger: logger.child({ component: 'http' }),
  });

  const server: Server = await new Promise((resolveListen, rejectListen) => {
    const s = app.listen(config.port, config.host);
    s.once('listening', () => resolveListen(s));
    s.once('error', rejectListen);
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  if (!config.publicUrl) publicUrl = url;

  controller.start();
  // Level-triggered restart: everything stored is reconciled once, so work committed but not applied is applied.
  await controller.enqueueAll();
  started = true;
  // Ready only after every watched directory has been synced once.
  await sources.start();
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
    async close() {
      await sources.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      discovery.stop();
      await controller.stop();
      store.close();
      gateway.close();
    },
  };
}
