// PostgreSQL mode's cluster, composed: the pool, the schema brought up to date (migrations under their
// advisory lock; a build older than the schema refuses with SchemaTooNewError), the shared secret key
// checked against the canary (SecretKeyMismatchError), the leader election on the lease row, the
// heartbeat of this replica's row, the cluster view, MCP session ownership, and the housekeeping the
// leader runs (pruning replicas long gone). The stores use the same pool.
//
// The order of a start: open (everything above but the heartbeat); the HTTP server listens, so the URL
// to advertise is known; startHeartbeat(url); ClusterRole.start() joins the election. close() stops the
// heartbeat (removing the row) and ends the pool; ClusterRole.stop() has released the lease before it.
import type pg from 'pg';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import { connect } from '../store/postgres/connection.js';
import { migrate } from '../store/postgres/migrations.js';
import type { SecretCodec } from '../store/secret-codec.js';
import type { LeaderWork } from './cluster-role.js';
import { postgresClusterView } from './cluster-view.js';
import type { ClusterWiring } from './cluster-wiring.js';
import { checkSecretKeyCanary } from './key-check.js';
import { LeaderElector } from './leader-election.js';
import { listReplicas, newReplicaId, pruneReplicas, ReplicaHeartbeat } from './replicas.js';
import { ReplicaSessionOwners } from './session-owners.js';

export const CONTROLLER_LEASE = 'controller';

export interface PostgresClusterOptions {
  url: string;
  lease: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** Seals the key canary: the codec of the stores. */
  secretCodec: SecretCodec;
  /** This build's version, shown for the replica. */
  version: string;
  logger: Logger;
  clock?: Clock;
  /** Connections at most. Default 10. */
  maxConnections?: number;
  replicaId?: string;
}

export interface PostgresCluster {
  pool: pg.Pool;
  wiring: ClusterWiring;
  sessionOwners: ReplicaSessionOwners;
  /** Leader work: removes the rows of replicas not seen for a long while. */
  housekeeping: LeaderWork;
  /** Starts this replica's heartbeat, with the URL the others reach it at. */
  startHeartbeat(advertiseUrl: string): void;
  close(): Promise<void>;
}

/** A replica not seen for this long is removed from the table (it shows as gone long before). */
const PRUNE_AFTER_MS = 10 * 60_000;

export async function openPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const clock = options.clock ?? systemClock;
  const replicaId = options.replicaId ?? newReplicaId();
  const { logger, lease } = options;
  const pool = connect(options.url, {
    applicationName: `mcp-control-plane ${replicaId}`.slice(0, 63),
    leaseDurationMs: lease.durationMs,
    ...(options.maxConnections !== undefined ? { max: options.maxConnections } : {}),
    onError: (err) => logger.warn({ err: err.message }, 'a PostgreSQL connection failed; the next use opens another'),
  });
  try {
    const { from, to } = await migrate(pool);
    if (from !== to) logger.info({ from, to }, 'migrated the PostgreSQL schema');
    await checkSecretKeyCanary(pool, options.secretCodec);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  let elector: LeaderElector | undefined;
  const staleAfterMs = lease.durationMs;
  let heartbeat: ReplicaHeartbeat | undefined;
  let closing: Promise<void> | undefined;
  let pruneTimer: ReturnType<Clock['setTimeout']> | undefined;
  const prune = () => {
    pruneReplicas(pool, Math.max(PRUNE_AFTER_MS, staleAfterMs))
      .then((n) => n > 0 && logger.info({ removed: n }, 'removed replicas gone for a long while'))
      .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not prune the replicas table'))
      .finally(() => {
        if (pruneTimer !== undefined) pruneTimer = clock.setTimeout(prune, 60_000);
      });
  };

  return {
    pool,
    wiring: {
      replicaId,
      election: (callbacks) =>
        (elector = new LeaderElector({
          db: pool,
          name: CONTROLLER_LEASE,
          identity: replicaId,
          leaseDurationMs: lease.durationMs,
          renewDeadlineMs: lease.renewDeadlineMs,
          retryPeriodMs: lease.retryPeriodMs,
          clock,
          ...callbacks,
          onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'a leader lease statement failed'),
        })),
      view: postgresClusterView({ db: pool, selfId: replicaId, leaseName: CONTROLLER_LEASE, staleAfterMs }),
      lastRenewalAgeMs: () => {
        const at = elector?.lastRenewedAtMs;
        return at === undefined ? undefined : clock.now() - at;
      },
    },
    sessionOwners: new ReplicaSessionOwners({ selfId: replicaId, replicas: () => listReplicas(pool, staleAfterMs), clock }),
    housekeeping: {
      name: 'replica housekeeping',
      start: () => {
        pruneTimer = clock.setTimeout(prune, 0);
      },
      stop: () => {
        if (pruneTimer !== undefined) clock.clearTimeout(pruneTimer);
        pruneTimer = undefined;
      },
    },
    startHeartbeat(advertiseUrl) {
      heartbeat ??= new ReplicaHeartbeat({
        db: pool,
        replica: { id: replicaId, url: advertiseUrl, version: options.version },
        // Three beats within the stale age, so one slow beat never shows a live replica as gone.
        intervalMs: Math.max(250, Math.min(5_000, Math.floor(staleAfterMs / 3))),
        clock,
        onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'a replica heartbeat failed'),
      });
      heartbeat.start();
    },
    close() {
      closing ??= (async () => {
        await heartbeat?.stop();
        await pool.end();
      })();
      return closing;
    },
  };
}
