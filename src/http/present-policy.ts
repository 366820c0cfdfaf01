// An admission policy as the API answers it: the manifest (it holds no secrets), who manages it, and
// what the audit of the stored servers found (status.audit: written by the policy auditor).
import type { AdmissionPolicyManifest } from '../domain/policy.js';
import type { McpServerResource } from '../domain/resource.js';
import type { PolicyAuditSummary } from '../policy/policy-audit.js';

export function presentPolicy(r: McpServerResource) {
  const manifest = r.manifest as unknown as AdmissionPolicyManifest;
  const audit = (r.status as { audit?: PolicyAuditSummary }).audit ?? null;
  return {
    id: r.id,
    name: r.name,
    type: manifest.type,
    manifest,
    generation: r.generation,
    resourceVersion: String(r.resourceVersion),
    source: r.source,
    createdBySubject: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    status: { conditions: r.status.conditions, audit },
  };
}
