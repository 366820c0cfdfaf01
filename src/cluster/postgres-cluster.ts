// PostgreSQL mode's cluster, composed over the stores' pool: the schema brought up to date (migrations under their
// advisory lock; a build older than the schema refuses with SchemaTooNewError), the shared secret key
// checked against the canary (SecretKeyMismatchError), the leader election on the lease row, the
// heartbeat of this replica's row, the cluster view, MCP session ownership, and the housekeeping the
// leader runs (pruning replicas long gone), the fence the leader's store objects run, and the schema
// guard (schema-guard.ts: a running replica whose schema a newer build migrated stops leading).
//
// The order of a start: open (everything above but the heartbeat), before the stores; the HTTP server
// listens, so the URL to advertise is known; startHeartbeat(url); ClusterRole.start() joins the election.
// close() stops the heartbeat (removing the row); ClusterRole.stop() has released the lease before it,
// and the pool's owner (the PostgresDatabase) ends the pool after it.
import type pg from 'pg';
import type { Queryable } from '../store/postgres/connection.js';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import { migrate, type SchemaTooNewError } from '../store/postgres/migrations.js';
import type { SecretCodec } from '../store/secret-codec.js';
import type { LeaderWork } from './cluster-role.js';
import { postgresClusterView } from './cluster-view.js';
import type { ClusterWiring } from './cluster-wiring.js';
import { FencedError } from './fence.js';
import { checkSecretKeyCanary } from './key-check.js';
import { pruneFullWriteBudgets } from './shared-write-budget.js';
import { LeaderElector } from './leader-election.js';
import { listReplicas, newReplicaId, pruneReplicas, ReplicaHeartbeat } from './replicas.js';
import type { InternalTokens } from './internal-token.js';
import { ReplicaSessionOwners } from './session-owners.js';
import { SchemaGuard } from './schema-guard.js';

export const CONTROLLER_LEASE = 'controller';

export interface PostgresClusterOptions {
  /** The pool the stores use (PostgresDatabase.pool); its search_path selects the schema. */
  pool: pg.Pool;
  lease: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** Seals the key canary: the codec of the stores. */
  secretCodec: SecretCodec;
  /** This build's version, shown for the replica. */
  version: string;
  logger: Logger;
  clock?: Clock;
  replicaId?: string;
  /** Internal tokens (the shared secret key): the credential of forwarded MCP session requests. */
  tokens: InternalTokens;
}

export interface PostgresCluster {
  wiring: ClusterWiring;
  /** For the leader's store objects: fails a transaction (FencedError) unless this replica holds the lease. */
  fence(client: Queryable): Promise<void>;
  sessionOwners: ReplicaSessionOwners;
  /** Leader work: removes the rows of replicas not seen for a long while. */
  housekeeping: LeaderWork;
  /** The first leader work item: the schema is still one this build knows (else it stops leading, see schema-guard.ts). */
  schemaCheck: LeaderWork;
  /**
   * For the leader's store object, in each housekeeping round's transaction before it prunes: throws
   * (and this replica stops leading) when a newer build migrated the schema.
   */
  checkSchema(client: Queryable): Promise<void>;
  /** The newer schema a check found (the replica then gave the lease up for good), or undefined. */
  schemaMovedOn(): SchemaTooNewError | undefined;
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
  const { pool } = options;
  const { from, to } = await migrate(pool);
  if (from !== to) logger.info({ from, to }, 'migrated the PostgreSQL schema');
  await checkSecretKeyCanary(pool, options.secretCodec);

  let elector: LeaderElector | undefined;
  const staleAfterMs = lease.durationMs;
  let heartbeat: ReplicaHeartbeat | undefined;
  let closing: Promise<void> | undefined;
  let pruneTimer: ReturnType<Clock['setTimeout']> | undefined;
  // Gives the lease up for good: the elector stops (releasing it); ClusterRole hears of it as a lost lease.
  const schema = new SchemaGuard({ db: pool, logger, stepDown: () => elector?.stop() });
  const prune = () => {
    schema
      .check()
      .then(() => pruneReplicas(pool, Math.max(PRUNE_AFTER_MS, staleAfterMs)))
      .then((n) => n > 0 && logger.info({ removed: n }, 'removed replicas gone for a long while'))
      .then(() => pruneFullWriteBudgets(pool, clock.now()))
      .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not prune the replicas or write_rate_limits table'))
      .finally(() => {
        if (pruneTimer !== undefined) pruneTimer = clock.setTimeout(prune, 60_000);
      });
  };

  return {
    fence: async (client) => {
      if (!elector) throw new FencedError({ name: CONTROLLER_LEASE, holder: replicaId, epoch: 0 }, `${replicaId} has not joined the election: this replica is not the leader, its write is refused`);
      await elector.fence(client);
    },
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
    schemaCheck: schema.work,
    checkSchema: (client) => schema.check(client),
    schemaMovedOn: () => schema.movedOn,
    sessionOwners: new ReplicaSessionOwners({ selfId: replicaId, replicas: () => listReplicas(pool, staleAfterMs), tokens: options.tokens, clock }),
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
      })();
      return closing;
    },
  };
}
