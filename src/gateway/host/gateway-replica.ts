// `serve --role gateway`: a replica that serves only the gateway. It runs the data-plane host (the one the
// control plane runs on its thread) on its main thread, on a PostgreSQL store that the control plane's
// replicas write: /mcp/{name}, /healthz, /readyz (the store readable) and its own /metrics; any other path
// is 404 naming the control plane. It advertises itself in the replicas table, so the sessions it holds
// are forwarded to it from any replica. Upstream health it sees is not reported (no status is written here).
import type { Config } from '../../config.js';
import { loadSigningKeyFile } from '../../auth/signing-key.js';
import { newReplicaId } from '../../cluster/replicas.js';
import type { Logger } from '../../domain/logger.js';
import { createLogger } from '../../logger.js';
import { deriveKey } from '../../store/secret-codec.js';
import { startDataPlaneHost } from './data-plane-host.js';
import { dataPlaneHostOptions } from './host-options.js';

export interface GatewayReplica {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startGatewayReplica(config: Config, options: { logger?: Logger } = {}): Promise<GatewayReplica> {
  if (config.store.kind !== 'postgres' || !config.secretKey || config.adminToken === undefined) {
    throw new Error('A gateway-only replica needs a postgres:// store, MCP_CP_SECRET_KEY and the admin token (config.ts checks them).');
  }
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const signingKey = config.signingKey ?? loadSigningKeyFile(config.dataDir, config.signingKeyFile).key;
  const replicaId = newReplicaId();
  const host = await startDataPlaneHost(
    {
      ...dataPlaneHostOptions(config, { adminToken: config.adminToken, secretKey: config.secretKey, hashKey: deriveKey(config.secretKey, 'content-hash'), signingKey, replicaId }),
      ...(config.advertiseUrl ? { advertiseUrl: config.advertiseUrl } : {}),
    },
    { logger },
  );
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${host.port}`;
  host.setPublicUrl(config.publicUrl ?? config.advertiseUrl ?? url);
  logger.info({ url, replica: replicaId }, 'gateway replica listening');
  return { url, port: host.port, close: () => host.close() };
}
