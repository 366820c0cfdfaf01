// Prometheus metrics of the control plane (see control-plane-metrics.ts).
export { ControlPlaneMetrics, METRIC_PREFIX, READY_STATUSES, type MetricsProbes, type ReconcileObservation } from './control-plane-metrics.js';
export { LastSuccessBySource, sourceLabel } from './last-success.js';
