// The process's own metrics (CPU, memory, heap, event loop, GC, file descriptors) from prom-client, without
// the four that walk every libuv handle and request (process._getActiveHandles / _getActiveRequests): on
// Node 20 that walk can abort the process (Assertion `!obj.IsEmpty()` in node::AsyncWrap::GetOwner) when it
// meets a handle being torn down, so a /metrics scrape could kill the control plane. nodejs_active_resources
// (process.getActiveResourcesInfo, which touches no handle object) counts the same resources by type.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** The default metrics that walk handle objects, never registered. */
export const HANDLE_WALKING_METRICS = ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_requests', 'nodejs_active_requests_total'];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of HANDLE_WALKING_METRICS) registry.removeSingleMetric(name);
}
