// reconcile(key) of an admission policy (mcp-policy/admission): its servers are audited again when the
// stored policies are not the ones the auditor audited last. The audit awaits the evaluator, so it runs
// as `finish`, after the batch committed (see reconcile.ts); the controller's backoff covers a failure.
import type { PolicyAuditor } from '../policy/policy-audit.js';
import type { ReconcileResult } from './reconcile.js';

export function createPolicyReconciler(auditor: Pick<PolicyAuditor, 'policyChanged'>): (key: string) => ReconcileResult {
  return () => ({ finish: () => auditor.policyChanged() });
}
