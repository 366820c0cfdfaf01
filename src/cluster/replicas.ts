// The replicas of a cluster: each running replica keeps its row (id, URL, version) fresh with a
// heartbeat; a row not seen within the stale age is shown as gone and may be pruned. Times are the
// database clock's. This is what the cluster endpoint lists (with the lease, see lease.ts).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';
import type { Queryable } from '../store/postgres/connection.js';

/** A replica's id: unique per process, readable in logs (`<hostname>-<pid>-<random>`). */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export interface ReplicaInfo {
  id: string;
  /** Where this replica serves (its advertised URL). */
  url: string;
  /** The build's version. */
  version: string;
}

export interface ReplicaRecord extends ReplicaInfo {
  startedAt: Date;
  lastSeen: Date;
  /** Seen within the stale age (database clock). */
  live: boolean;
}

/** Records that the replica is alive now; the first beat of an id sets its start time. */
export async function heartbeat(db: Queryable, replica: ReplicaInfo): Promise<void> {
  await db.query(
    `INSERT INTO replicas (id, url, version, started_at, last_seen) VALUES ($1, $2, $3, statement_timestamp(), statement_timestamp())
     ON CONFLICT (id) DO UPDATE SET url = excluded.url, version = excluded.version, last_seen = excluded.last_seen`,
    [replica.id, replica.url, replica.version],
  );
}

/** Every replica, by id; `live` when seen within staleAfterMs. */
export async function listReplicas(db: Queryable, staleAfterMs: number): Promise<ReplicaRecord[]> {
  const { rows } = await db.query<{ id: string; url: string; version: string; started_at: Date; last_seen: Date; live: boolean }>(
    `SELECT id, url, version, started_at, last_seen, last_seen > clock_timestamp() - $1 * interval '1 millisecond' AS live
     FROM replicas ORDER BY id`,
    [staleAfterMs],
  );
  return rows.map((r) => ({ id: r.id, url: r.url, version: r.version, startedAt: r.started_at, lastSeen: r.last_seen, live: r.live }));
}

/** Removes the rows not seen for olderThanMs; answers how many. */
export async function pruneReplicas(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM replicas WHERE last_seen <= clock_timestamp() - $1 * interval '1 millisecond'", [olderThanMs]);
  return rowCount ?? 0;
}

async function removeReplica(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM replicas WHERE id = $1', [id]);
}

export interface ReplicaHeartbeatOptions {
  db: Queryable;
  replica: ReplicaInfo;
  /** Default 5 s. */
  intervalMs?: number;
  clock?: Clock;
  /** A beat failed; the next one is tried at the next interval. */
  onError?: (err: unknown) => void;
}

/** Beats at once and then every interval; stop() ends the beats and removes the row (a clean shutdown). */
export class ReplicaHeartbeat {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private timer: TimerHandle | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ReplicaHeartbeatOptions) {
    this.clock = options.clock ?? systemClock;
    this.intervalMs = options.intervalMs ?? 5_000;
  }

  start(): void {
    if (this.timer || this.beating || this.stopped) return;
    this.beat();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    await this.beating;
    await removeReplica(this.options.db, this.options.replica.id).catch((err) => this.options.onError?.(err));
  }

  private beat(): void {
    this.timer = undefined;
    this.beating = heartbeat(this.options.db, this.options.replica)
      .catch((err) => this.options.onError?.(err))
      .finally(() => {
        this.beating = undefined;
        if (!this.stopped) this.timer = this.clock.setTimeout(() => this.beat(), this.intervalMs);
      });
  }
}
