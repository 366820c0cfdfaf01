// The cluster's metrics, on the control plane's registry: whether this replica leads, how often its role
// changed, and how long since it last renewed the lease (0 in SQLite mode, where there is no lease to renew).
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './control-plane-metrics.js';

export interface ClusterProbes {
  isLeader(): boolean;
  /** Milliseconds since this replica last took or renewed the lease; undefined when it does not lead. */
  lastRenewalAgeMs(): number | undefined;
}

export class ClusterMetrics {
  private readonly transitions: Counter;

  constructor(registry: Registry, probes: ClusterProbes) {
    const registers = [registry];
    new Gauge({
      name: `${METRIC_PREFIX}leader`,
      help: '1 while this replica is the leader (runs the reconciler, discovery, the watched directories), else 0.',
      registers,
      collect() {
        this.set(probes.isLeader() ? 1 : 0);
      },
    });
    this.transitions = new Counter({
      name: `${METRIC_PREFIX}lease_transitions_total`,
      help: 'Times this replica became leader or stopped being it.',
      registers,
    });
    new Gauge({
      name: `${METRIC_PREFIX}lease_last_renewal_age_seconds`,
      help: 'Seconds since this replica last took or renewed the leader lease; absent while it does not lead.',
      registers,
      collect() {
        this.reset();
        const age = probes.lastRenewalAgeMs();
        if (age !== undefined) this.set(Math.max(0, age) / 1000);
      },
    });
  }

  transitioned(): void {
    this.transitions.inc();
  }
}
