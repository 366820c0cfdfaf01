// Gateway data planes as the replicas of a cluster see each other, for the session-forwarding suites: each
// a real DataPlane over a SQLite gateway store, behind its own express server on a loopback port, admitting
// one bearer token as the admin and owning the MCP sessions it opens (ReplicaSessionOwners: the live
// replicas come from the suite, the internal tokens are signed with the key every replica shares).
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { ReplicaSessionOwners } from '../../src/cluster/session-owners.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import type { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { gatewayEntry } from './gateway-entries.js';

/** The one server both suites serve, `everything`, at `upstreamUrl`. */
export function applyEverything(store: SqliteGatewayStore, upstreamUrl: string): void {
  store.apply(gatewayEntry('everything', upstreamUrl));
}

export interface DataPlaneReplicaOptions {
  id: string;
  gateway: SqliteGatewayStore;
  /** The bearer token admitted as the admin of tenant `default`. */
  token: string;
  /** The key every replica signs and checks internal tokens with. */
  key: Buffer;
  /** The replicas alive, as the cluster view answers them. */
  replicas: ConstructorParameters<typeof ReplicaSessionOwners>[0]['replicas'];
  /** Sees every request that reaches this replica's server, before the data plane. */
  onRequest?: (req: express.Request) => void;
}

export interface DataPlaneReplica {
  id: string;
  url: string;
  dataPlane: DataPlane;
  http: Server;
  /** Ends its sessions and its server (its store is the suite's). */
  close(): Promise<void>;
}

export async function startDataPlaneReplica(options: DataPlaneReplicaOptions): Promise<DataPlaneReplica> {
  const dataPlane = new DataPlane({
    gateway: options.gateway,
    authenticator: new StaticTokenAuthenticator(options.token, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    connectTimeoutMs: 10_000,
    storePollIntervalMs: 0,
    sessionOwners: new ReplicaSessionOwners({ selfId: options.id, replicas: options.replicas, tokens: new InternalTokens(options.key) }),
  });
  const app = express();
  const onRequest = options.onRequest;
  if (onRequest) {
    app.use((req, _res, next) => {
      onRequest(req);
      next();
    });
  }
  app.use('/mcp', dataPlane.handler);
  const http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    id: options.id,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    dataPlane,
    http,
    async close() {
      await dataPlane.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
