// mcp-policy/admission: rules (CEL) every write of a matching MCP server must satisfy. The types follow
// schemas/mcp-policy-admission.schema.json. Policies are resources of their own scope in the resource
// store: their rows carry the tenant column policyScope(tenant), so no listing of servers sees them.

export const ADMISSION_POLICY_TYPE = 'mcp-policy/admission';

export type PolicyAction = 'deny' | 'warn' | 'audit';

export interface PolicyRule {
  expression: string;
  message: string;
}

export interface AdmissionPolicyManifest {
  type: typeof ADMISSION_POLICY_TYPE;
  name: string;
  description: string;
  /** Absent (or a list absent): every server. */
  match?: { types?: string[]; accounts?: string[] };
  rules: PolicyRule[];
  action: PolicyAction;
}

export function isAdmissionPolicy(m: unknown): m is AdmissionPolicyManifest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === ADMISSION_POLICY_TYPE;
}

/** The tenant column of a tenant's policies' rows (a scope no server listing reads). */
export function policyScope(tenant: string): string {
  return `${tenant}:mcp-policy`;
}

/** Whether a tenant column is a tenant's policies' scope (policyScope), not a tenant of servers. */
export function isPolicyScope(tenantColumn: string): boolean {
  return tenantColumn.endsWith(':mcp-policy');
}

/** A policy's fqn, and its reconcile key. */
export function policyFqn(tenant: string, name: string): string {
  return `${tenant}:mcp-policy:${name}`;
}

export function isPolicyFqn(fqn: string): boolean {
  return fqn.includes(':mcp-policy:');
}

/** Whether a policy applies to a server of this type in this account. */
export function policyMatches(policy: AdmissionPolicyManifest, serverType: string, accountId: string): boolean {
  const types = policy.match?.types;
  const accounts = policy.match?.accounts;
  return (types === undefined || types.includes(serverType)) && (accounts === undefined || accounts.includes(accountId));
}
