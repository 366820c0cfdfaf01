// Prometheus metrics of the control plane (see control-plane-metrics.ts).
export { ControlPlaneMetrics, METRIC_PREFIX, type MetricsProbes, type ReconcileObservation } from './control-plane-metrics.js';
export { ReadyTally, READY_STATUSES, sourceLabel } from './ready-tally.js';
