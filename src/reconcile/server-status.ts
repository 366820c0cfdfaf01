// The status a reconcile writes: Applied, Discovered, Ready (= Applied AND Discovered), Reconciling and
// Stalled when true. Pure.
import { APPLIED, DISCOVERED, READY, RECONCILING, STALLED, removeCondition, setCondition } from '../domain/conditions.js';
import type { AuthStatus, Condition, DiscoveredTool, McpServerResource, ResourceStatus } from '../domain/resource.js';
import type { DiscoveryFailure, DiscoverySuccess } from '../discovery/index.js';

/** What discovery says about the current generation. */
export type DiscoveryView =
  | { kind: 'discovered'; result: DiscoverySuccess; tools: DiscoveredTool[]; unknownSettings: string[] }
  | { kind: 'failed'; result: DiscoveryFailure }
  /** A discovery for the current inputs is running or queued, and none has finished yet. */
  | { kind: 'pending'; url: string }
  /** The server authenticates each caller; the control plane has no credential to discover with. */
  | { kind: 'per-user'; authStatus: AuthStatus; message: string };

export function appliedStatus(resource: McpServerResource, view: DiscoveryView, now: string): ResourceStatus {
  const g = resource.generation;
  const prev = resource.status;
  const set = (conditions: Condition[], type: string, status: Condition['status'], reason: string, message: string) =>
    setCondition(conditions, { type, status, reason, message, observedGeneration: g }, now);

  let c = set(prev.conditions, APPLIED, 'True', 'Applied', `The gateway store holds generation ${g}.`);
  c = removeCondition(c, STALLED);
  let tools = prev.tools;
  let authStatus = prev.authStatus;
  let detectedTransport = prev.detectedTransport;

  switch (view.kind) {
    case 'discovered': {
      const n = view.tools.length;
      const summary = `Found ${n} tool${n === 1 ? '' : 's'} over ${view.result.transport}.`;
      const unknown = view.unknownSettings;
      c = unknown.length
        ? set(c, DISCOVERED, 'True', 'UnknownTool', `${summary} tool_settings name tools the server does not have: ${unknown.join(', ')}; fix or remove those entries.`)
        : set(c, DISCOVERED, 'True', 'Discovered', summary);
      c = set(c, READY, 'True', 'Ready', `Generation ${g} is applied and the server answered: ${summary}`);
      c = removeCondition(c, RECONCILING);
      tools = view.tools;
      authStatus = view.result.authStatus;
      detectedTransport = view.result.transport;
      break;
    }
    case 'failed':
      c = set(c, DISCOVERED, 'False', view.result.reason, view.result.message);
      c = set(c, READY, 'False', view.result.reason, view.result.message);
      c = set(c, RECONCILING, 'True', 'RetryingWithBackoff', `Discovery will be retried with backoff: ${view.result.message}`);
      authStatus = view.result.authStatus;
      break;
    case 'pending':
      c = set(c, DISCOVERED, 'Unknown', 'Discovering', `Connecting to ${view.url} to list its tools.`);
      c = set(c, READY, 'Unknown', 'Discovering', `Generation ${g} is applied; waiting for the server to answer.`);
      c = set(c, RECONCILING, 'True', 'Discovering', `Discovering generation ${g}.`);
      break;
    case 'per-user':
      c = set(c, DISCOVERED, 'Unknown', 'PerUserAuthentication', view.message);
      c = set(c, READY, 'True', 'Ready', `Generation ${g} is applied; each caller authenticates to the server itself.`);
      c = removeCondition(c, RECONCILING);
      authStatus = view.authStatus;
      break;
  }
  const status: ResourceStatus = { observedGeneration: g, conditions: c, tools, authStatus };
  if (detectedTransport !== undefined) status.detectedTransport = detectedTransport;
  return status;
}

export function failedStatus(resource: McpServerResource, reason: string, message: string, terminal: boolean, now: string): ResourceStatus {
  const g = resource.generation;
  let c = setCondition(resource.status.conditions, { type: READY, status: 'False', reason, message, observedGeneration: g }, now);
  c = terminal
    ? setCondition(removeCondition(c, RECONCILING), { type: STALLED, status: 'True', reason, message, observedGeneration: g }, now)
    : setCondition(
        removeCondition(c, STALLED),
        { type: RECONCILING, status: 'True', reason: 'RetryingWithBackoff', message: `Retrying with backoff: ${message}`, observedGeneration: g },
        now,
      );
  return { ...resource.status, conditions: c };
}
