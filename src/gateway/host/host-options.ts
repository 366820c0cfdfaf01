// What a data-plane host is made from (serialisable: it crosses to a worker thread as workerData), and
// the messages between a control plane and the data-plane thread it started.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Config, StoreConfig } from '../../config.js';
import type { LogLevel } from '../../logger.js';
import type { UpstreamObservation } from '../data-plane/upstream-health.js';

export interface DataPlaneHostOptions {
  /** The public listener, which the host owns. */
  listen: { host: string; port: number };
  tenant: string;
  dataDir: string;
  store: StoreConfig;
  /** The admin token (a subject of the gateway like any other). */
  adminToken: string;
  tokensFile?: string;
  tokensFilePollIntervalMs?: number;
  /** Opens the sealed header values and credentials (AES-256-GCM), and keys the config hash. */
  secretKey: Uint8Array;
  hashKey: Uint8Array;
  /** Signs the caller tokens passthrough upstreams get. */
  signingKey: KeyObject;
  egress: { deny: string[]; allow: string[] };
  upstreamLimits: { maxMessageBytes: number; maxResponseBytes: number };
  stdio: { enabled: boolean; allow: string[]; idleMs: number };
  /** Bounds an OAuth token refresh of a per-user server, as discovery's budget does. */
  discoveryTimeoutMs: number;
  secretsDir: string;
  logLevel: LogLevel;
  replicaId: string;
  /** PostgreSQL: a replica not seen for this long owns no session any more. */
  leaseDurationMs: number;
  /** undefined: told by the control plane once it knows it (publicUrl message). */
  publicUrl?: string;
  /**
   * The control plane's internal listener (127.0.0.1), which takes every request the data plane does not
   * serve, marked with `secret`. Absent: a gateway-only replica, which answers those itself.
   */
  controlPlane?: { port: number; secret: string };
  /** Gateway-only: /metrics without a bearer token (--metrics-public). */
  metricsPublic?: boolean;
  /**
   * Gateway-only on PostgreSQL: where the other replicas reach this one. It is written to the replicas table
   * (a heartbeat), so the sessions it holds are forwarded here from any replica.
   */
  advertiseUrl?: string;
}

/** What the data-plane host is made from (plain data: it crosses to its thread, or to a gateway-only replica). */
export function dataPlaneHostOptions(
  config: Config,
  keys: { adminToken: string; secretKey: Uint8Array; hashKey: Uint8Array; signingKey: KeyObject; replicaId: string; tokensFilePollIntervalMs?: number | undefined },
): DataPlaneHostOptions {
  return {
    listen: { host: config.host, port: config.port },
    tenant: config.tenant,
    dataDir: config.dataDir,
    store: config.store,
    adminToken: keys.adminToken,
    ...(config.tokensFile !== undefined ? { tokensFile: config.tokensFile } : {}),
    ...(keys.tokensFilePollIntervalMs !== undefined ? { tokensFilePollIntervalMs: keys.tokensFilePollIntervalMs } : {}),
    secretKey: keys.secretKey,
    hashKey: keys.hashKey,
    signingKey: keys.signingKey,
    egress: { deny: config.egressDeny, allow: config.egressAllow },
    upstreamLimits: config.upstreamLimits,
    stdio: { enabled: config.allowStdio, allow: config.stdioAllow, idleMs: config.stdioIdleTimeoutMs },
    discoveryTimeoutMs: config.discoveryTimeoutMs,
    secretsDir: config.secretsDir ?? join(config.dataDir, 'secrets'),
    logLevel: config.logLevel,
    replicaId: keys.replicaId,
    leaseDurationMs: config.lease.durationMs,
    ...(config.publicUrl !== undefined ? { publicUrl: config.publicUrl } : {}),
    metricsPublic: config.metricsPublic,
  };
}

/** The header that marks a request the host passed on; the internal listener takes no request without it. */
export const HOST_SECRET_HEADER = 'x-mcp-cp-host-secret';

export type ToHost =
  /** A gateway entry was written through the control plane's store object (the poll remains the backstop). */
  | { type: 'changed'; fqns: string[] }
  | { type: 'publicUrl'; url: string }
  | { type: 'endSessionsOf'; fqn: string; subject: string; why: string }
  | { type: 'metrics'; id: number }
  | { type: 'close' };

export type FromHost =
  | { type: 'listening'; port: number }
  | { type: 'startFailed'; message: string }
  | { type: 'health'; fqn: string; observation: UpstreamObservation }
  | { type: 'session'; name: string; delta: 1 | -1 }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; bindings: Record<string, unknown>; fields: Record<string, unknown>; message: string }
  | { type: 'closed' };
