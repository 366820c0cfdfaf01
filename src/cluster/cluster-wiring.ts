// How one replica takes part in its cluster, as the composition root (main.ts) uses it: its id, the
// election that makes it leader (ClusterRole drives it), the view the cluster endpoint answers and the
// refresh forwarding reads, and the age of its lease. SQLite mode's is one replica, always leader (built in
// main.ts); PostgreSQL mode's comes from openPostgresCluster (postgres-cluster.ts).
import type { Election, ElectionCallbacks } from './cluster-role.js';
import type { ClusterView } from './cluster-view.js';

export interface ClusterWiring {
  replicaId: string;
  election: (callbacks: ElectionCallbacks) => Election;
  view: ClusterView;
  /** Milliseconds since the lease was last taken or renewed, while leading. */
  lastRenewalAgeMs?: () => number | undefined;
}
