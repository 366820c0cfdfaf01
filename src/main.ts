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
import { Controller } from './reconcile/controller.js';
import { createServerReconciler } from './reconcile/server-reconciler.js';
import { WorkQueue } from './reconcile/workqueue.js';
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
  intake: Intake;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
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
  const controller = new Controller({
    name: 'mcp-servers',
    reconcile: createServerReconciler({ store, gateway, clock, logger: logger.child({ component: 'reconciler' }) }),
    queue,
    clock,
    workers: config.workers,
    resyncIntervalMs: config.resyncIntervalMs,
    // Gateway keys too, so an entry with no resource behind it is found and removed.
    listKeys: () => [...new Set([...store.keys(), ...gateway.keys()])],
    logger: logger.child({ component: 'controller' }),
  });
  const intake = new Intake({ store, tenant: config.tenant, policy, clock, enqueue: (key) => queue.add(key) });

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
    readiness: { notReadyReason: () => (started ? undefined : 'starting: the reconciler is not running yet') },
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
  logger.info({ url, dataDir: resolve(config.dataDir), tenant: config.tenant }, 'control plane listening');

  return {
    url,
    port,
    publicUrl,
    adminTokenSource,
    store,
    gateway,
    controller,
    intake,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await controller.stop();
      store.close();
      gateway.close();
    },
  };
}
