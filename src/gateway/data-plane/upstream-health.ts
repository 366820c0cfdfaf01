import { ConditionReason } from '../../domain/condition-reasons.js';
// What the data plane tells the control plane about the upstreams it talks to, so a server's status
// follows what the gateway sees within seconds. The data plane only reports; the receiver decides what a
// report does to status (src/reconcile/upstream-health.ts) and stamps the time with its own clock.

export type UpstreamObservation =
  /** The gateway opened a session with the upstream. */
  | { ok: true }
  /** The gateway could not reach the upstream, or lost a session with it; `message` is one sentence without secrets. */
  | { ok: false; reason: typeof ConditionReason.Unreachable; message: string };

export interface UpstreamHealthReporter {
  /** Must be cheap and must not throw: it is called on the request path. */
  report(fqn: string, observation: UpstreamObservation): void;
}

export const noUpstreamHealthReporter: UpstreamHealthReporter = { report: () => undefined };
