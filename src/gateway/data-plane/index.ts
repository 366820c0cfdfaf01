// The gateway data plane: serves /mcp/<name> from the gateway store alone.
export { DataPlane, type DataPlaneOptions, type UsePolicy } from './data-plane.js';
export { noopDataPlaneMetrics, PromDataPlaneMetrics, type DataPlaneErrorKind, type DataPlaneMetrics, type RequestOutcome } from './metrics.js';
