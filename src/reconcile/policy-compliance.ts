// The PolicyCompliant condition of a server, as the policy auditor last found it (src/policy/policy-audit.ts),
// laid over the status a reconcile writes: set, removed (no admission policy matches the server), or left
// as stored (the auditor has not loaded the policies yet). Only the reconciler writes a server's status.
import { removeCondition, setCondition } from '../domain/conditions.js';
import type { McpServerResource, ResourceStatus } from '../domain/resource.js';
import { POLICY_COMPLIANT, type ComplianceCondition } from '../policy/policy-audit.js';

/** Answers the PolicyCompliant condition of a stored server (see PolicyAuditor.condition). */
export type PolicyCompliance = (resource: McpServerResource) => ComplianceCondition;

export function withPolicyCompliance(status: ResourceStatus, resource: McpServerResource, compliance: PolicyCompliance | undefined, nowIso: string): ResourceStatus {
  const condition = compliance?.(resource);
  if (condition === undefined) return status;
  if (condition === 'remove') {
    return status.conditions.some((c) => c.type === POLICY_COMPLIANT) ? { ...status, conditions: removeCondition(status.conditions, POLICY_COMPLIANT) } : status;
  }
  return { ...status, conditions: setCondition(status.conditions, { type: POLICY_COMPLIANT, ...condition, observedGeneration: resource.generation }, nowIso) };
}
