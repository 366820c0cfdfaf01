// What GET /api/svc/v1/cluster answers: this replica, the leader and every replica, read from the lease
// row and the replicas table (PostgreSQL), or this one process (SQLite: one replica, always leader).
import type { Queryable } from '../store/postgres/connection.js';
import { readLease } from './lease.js';
import { listReplicas } from './replicas.js';

export interface ClusterStatus {
  self: { id: string };
  /** null while no replica holds an unexpired lease (an election is under way). */
  leader: { id: string; epoch: number; since: string } | null;
  replicas: Array<{ id: string; url: string; version: string; leader: boolean; lastSeen: string; live: boolean }>;
}

export interface ClusterView {
  status(): Promise<ClusterStatus>;
}

/** SQLite mode: this process is the cluster. */
export function singleReplicaView(self: { id: string; url: () => string; version: string; since: Date; now: () => number }): ClusterView {
  return {
    async status() {
      return {
        self: { id: self.id },
        leader: { id: self.id, epoch: 1, since: self.since.toISOString() },
        replicas: [{ id: self.id, url: self.url(), version: self.version, leader: true, lastSeen: new Date(self.now()).toISOString(), live: true }],
      };
    },
  };
}

/** PostgreSQL mode: the lease row and the replicas table; a replica not seen within staleAfterMs is not live. */
export function postgresClusterView(options: { db: Queryable; selfId: string; leaseName: string; staleAfterMs: number }): ClusterView {
  return {
    async status() {
      const [lease, replicas] = await Promise.all([readLease(options.db, options.leaseName), listReplicas(options.db, options.staleAfterMs)]);
      const leader = lease && lease.holder !== null && !lease.expired ? { id: lease.holder, epoch: lease.epoch, since: lease.acquiredAt.toISOString() } : null;
      return {
        self: { id: options.selfId },
        leader,
        replicas: replicas.map((r) => ({
          id: r.id,
          url: r.url,
          version: r.version,
          leader: r.id === leader?.id,
          lastSeen: r.lastSeen.toISOString(),
          live: r.live,
        })),
      };
    },
  };
}

/** The leader and where the other replicas reach it; undefined when no live replica holds the lease. */
export async function leaderAddress(view: ClusterView): Promise<{ id: string; url: string } | undefined> {
  const status = await view.status();
  const leader = status.leader && status.replicas.find((r) => r.id === status.leader!.id && r.live);
  return leader ? { id: leader.id, url: leader.url } : undefined;
}
