// The status a reconcile writes: Applied, Discovered, Ready (= Applied AND Discovered, except that a
// disabled: true tool setting naming no real tool, or an upstream failure the gateway saw after the latest
// discovery started, makes it False), Reconciling and Stalled when true. Pure.
import { isoTime } from '../domain/clock.js';
import { APPLIED, DISCOVERED, READY, RECONCILING, STALLED, removeCondition, setCondition } from '../domain/conditions.js';
import type { AuthStatus, Condition, DiscoveredTool, McpServerResource, ResourceStatus } from '../domain/resource.js';
import { closestToolNames, type DiscoveryFailure, type DiscoverySuccess } from '../discovery/index.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import type { NextAttempt } from './discovery-manager.js';

/** What the gateway saw of the upstream after the latest discovery: it could not reach it (see UpstreamHealth). */
export interface UpstreamFailureSeen {
  reason: string;
  message: string;
  /** When the gateway saw it (ms since the epoch). */
  at: number;
}

/** What discovery says about the current generation. */
export type DiscoveryView =
  | {
      kind: 'discovered';
      result: DiscoverySuccess;
      tools: DiscoveredTool[];
      unknownSettings: string[];
      /** Unknown names with `disabled: true`: the server is not served until they are fixed (fail closed). */
      unknownDisabled: string[];
      upstreamFailure?: UpstreamFailureSeen;
    }
  /**
   * `nextAttempt`: the longest until the next discovery (the backoff cap for this failure, or the retry
   * budget's later bound). A bound, not a time, so a server that keeps failing the same way keeps the same
   * status (nothing is written).
   */
  | { kind: 'failed'; result: DiscoveryFailure; nextAttempt?: NextAttempt }
  /** A discovery for the current inputs is running or queued, and none has finished yet. */
  | { kind: 'pending'; url: string }
  /** The server authenticates each caller; the control plane has no credential to discover with. */
  | { kind: 'per-user'; authStatus: AuthStatus; message: string; upstreamFailure?: UpstreamFailureSeen };

/**
 * Why the gateway must not serve a discovered server although it answered: a `disabled: true` setting
 * names no tool the server has (a typo would leave the tool meant disabled callable). Undefined: none.
 */
export function toolSettingsRefusal(view: DiscoveryView): { reason: typeof ConditionReason.UnknownTool; message: string } | undefined {
  if (view.kind !== 'discovered' || view.unknownDisabled.length === 0) return undefined;
  const names = view.tools.map((t) => t.name);
  const each = view.unknownDisabled.map((name) => {
    const near = closestToolNames(name, names);
    return near.length ? `"${name}" (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : `"${name}"`;
  });
  const which = each.length === 1 ? `names no tool the server has: ${each[0]}` : `name no tools the server has: ${each.join(', ')}`;
  return {
    reason: ConditionReason.UnknownTool,
    message: `tool_settings with disabled: true ${which}; the gateway does not serve this server until the name is fixed or the entry removed.`,
  };
}

/** The upstream failure the gateway saw, as the Ready message says it. */
function upstreamFailureMessage(seen: UpstreamFailureSeen, then: string): string {
  return `The gateway could not reach the server at ${isoTime(seen.at)}: ${seen.message} ${then}`;
}

function nextAttemptText(next: NextAttempt | undefined): string {
  if (next === undefined) return '';
  const within = ` Next attempt within ${delayText(next.withinMs)}`;
  if (!next.budget) return `${within}.`;
  const { count, perMs } = next.budget;
  const per = perMs === 1000 ? 'a second' : perMs === 60_000 ? 'a minute' : perMs === 3_600_000 ? 'an hour' : `per ${delayText(perMs)}`;
  return `${within}: many servers are failing at once, and their retries are spread to ${count} ${per} (--discovery-retry-rate).`;
}

/** 250 ms, 5 s, 1.5 s, 5 min, 2 h. */
function delayText(ms: number): string {
  const round = (n: number) => String(Math.round(n * 10) / 10);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${round(ms / 60_000)} min`;
  return `${round(ms / 3_600_000)} h`;
}

export function appliedStatus(resource: McpServerResource, view: DiscoveryView, now: string): ResourceStatus {
  const g = resource.generation;
  const prev = resource.status;
  const set = (conditions: Condition[], type: string, status: Condition['status'], reason: string, message: string) =>
    setCondition(conditions, { type, status, reason, message, observedGeneration: g }, now);

  let c = set(prev.conditions, APPLIED, 'True', ConditionReason.Applied, `The gateway store holds generation ${g}.`);
  c = removeCondition(c, STALLED);
  let tools = prev.tools;
  let authStatus = prev.authStatus;
  let detectedTransport = prev.detectedTransport;

  switch (view.kind) {
    case 'discovered': {
      const n = view.tools.length;
      const summary = `Found ${n} tool${n === 1 ? '' : 's'} ${view.result.source ?? `over ${view.result.transport}`}.`;
      const unknown = view.unknownSettings;
      c = unknown.length
        ? set(c, DISCOVERED, 'True', ConditionReason.UnknownTool, `${summary} tool_settings name tools the server does not have: ${unknown.join(', ')}; fix or remove those entries.`)
        : set(c, DISCOVERED, 'True', ConditionReason.Discovered, summary);
      const refusal = toolSettingsRefusal(view);
      if (refusal) c = set(c, READY, 'False', refusal.reason, refusal.message);
      else if (view.upstreamFailure) c = set(c, READY, 'False', view.upstreamFailure.reason, upstreamFailureMessage(view.upstreamFailure, 'Discovering it again now; a success clears this.'));
      else c = set(c, READY, 'True', ConditionReason.Ready, `Generation ${g} is applied and the server answered: ${summary}`);
      c = view.upstreamFailure && !refusal
        ? set(c, RECONCILING, 'True', ConditionReason.Discovering, `The gateway could not reach the server; discovering generation ${g} again.`)
        : removeCondition(c, RECONCILING);
      tools = view.tools;
      authStatus = view.result.authStatus;
      detectedTransport = view.result.transport;
      break;
    }
    case 'failed': {
      const next = nextAttemptText(view.nextAttempt);
      // Discovered keeps discovery's own words (the gateway entry's `unavailable` is made of them).
      c = set(c, DISCOVERED, 'False', view.result.reason, view.result.message);
      c = set(c, READY, 'False', view.result.reason, `${view.result.message}${next}`);
      c = set(c, RECONCILING, 'True', ConditionReason.RetryingWithBackoff, `Discovery will be retried with backoff: ${view.result.message}${next}`);
      authStatus = view.result.authStatus;
      break;
    }
    case 'pending':
      c = set(c, DISCOVERED, 'Unknown', ConditionReason.Discovering, `Connecting to ${view.url} to list its tools.`);
      c = set(c, READY, 'Unknown', ConditionReason.Discovering, `Generation ${g} is applied; waiting for the server to answer.`);
      c = set(c, RECONCILING, 'True', ConditionReason.Discovering, `Discovering generation ${g}.`);
      break;
    case 'per-user':
      c = set(c, DISCOVERED, 'Unknown', ConditionReason.PerUserAuthentication, view.message);
      c = view.upstreamFailure
        ? set(c, READY, 'False', view.upstreamFailure.reason, upstreamFailureMessage(view.upstreamFailure, 'The next session the gateway opens with it clears this.'))
        : set(c, READY, 'True', ConditionReason.Ready, `Generation ${g} is applied; each caller authenticates to the server itself.`);
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
        { type: RECONCILING, status: 'True', reason: ConditionReason.RetryingWithBackoff, message: `Retrying with backoff: ${message}`, observedGeneration: g },
        now,
      );
  return { ...resource.status, conditions: c };
}
