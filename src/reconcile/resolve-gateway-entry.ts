// Desired resource → the gateway entry that serves it. Pure.
import type { McpServerResource } from '../domain/resource.js';
import type { GatewayEntry, GatewayTransport, ToolOverride } from '../gateway/gateway-store.js';

/** additional_headers first, then auth_data headers; on a clash (names compare case-insensitively) auth wins. */
export function resolveHeaders(
  additional: Record<string, string>,
  auth: Record<string, string> | undefined,
): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(additional)) byLower.set(name.toLowerCase(), [name, value]);
  for (const [name, value] of Object.entries(auth ?? {})) byLower.set(name.toLowerCase(), [name, value]);
  return Object.fromEntries([...byLower.values()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function detectedTransport(metadata: Record<string, unknown>): GatewayTransport | null {
  const t = metadata.detected_transport;
  return t === 'streamable-http' || t === 'sse' ? t : null;
}

export function resolveGatewayEntry(resource: McpServerResource): GatewayEntry {
  const m = resource.manifest;
  const authHeaders = m.auth_data?.type === 'header' ? m.auth_data.headers : undefined;
  const toolOverrides: Record<string, ToolOverride> = {};
  for (const t of m.tool_settings) {
    const override: ToolOverride = {};
    if (t.description !== undefined) override.description = t.description;
    if (t.annotations !== undefined) override.annotations = { ...t.annotations };
    if (Object.keys(override).length > 0) toolOverrides[t.name] = override;
  }
  const tls: GatewayEntry['tls'] = { rejectUnauthorized: m.tls_settings.reject_unauthorized };
  if (m.tls_settings.ca_cert !== undefined) tls.caCert = m.tls_settings.ca_cert;
  return {
    fqn: resource.fqn,
    tenant: resource.tenant,
    name: resource.name,
    resourceId: resource.id,
    accountId: resource.accountId,
    upstreamUrl: m.url,
    transport: detectedTransport(resource.metadata),
    headers: resolveHeaders(m.additional_headers, authHeaders),
    passthroughAuth: m.auth_data?.type === 'passthrough',
    tls,
    disabledTools: m.tool_settings.filter((t) => t.disabled).map((t) => t.name),
    toolOverrides,
    collaborators: m.collaborators.map((c) => ({ ...c })),
    generation: resource.generation,
  };
}
