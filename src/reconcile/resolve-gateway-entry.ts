// Desired resource → what the gateway and discovery need: resolved headers, TLS, and the gateway entry.
import { createHash } from 'node:crypto';
import type { RemoteMcpServerManifest as McpServerManifest, StdioMcpServerManifest } from '../domain/manifest.js';
import type { McpServerResource } from '../domain/resource.js';
import type { AuthConfigured, DiscoveryTarget } from '../discovery/index.js';
import type { GatewayEntry, GatewayTransport, ToolOverride } from '../gateway/gateway-store.js';
import { stableStringify } from '../manifest/index.js';
import type { SecretResolver } from './secret-refs.js';

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

export function presetTransport(metadata: Record<string, unknown>): GatewayTransport | undefined {
  const t = metadata.detected_transport;
  return t === 'streamable-http' || t === 'sse' ? t : undefined;
}

/**
 * Per-user auth: the control plane holds no credential that stands for every caller
 * (passthrough, per_user header placeholders, OAuth authorization_code).
 */
export function isPerUserAuth(m: McpServerManifest): boolean {
  const a = m.auth_data;
  return (
    a?.type === 'passthrough' ||
    (a?.type === 'header' && a.auth_level === 'per_user') ||
    (a?.type === 'oauth2' && a.grant_type === 'authorization_code')
  );
}

export function authConfigured(m: McpServerManifest): AuthConfigured {
  if (!m.auth_data) return 'none';
  if (m.auth_data.type === 'header') return m.auth_data.auth_level === 'per_user' ? 'passthrough' : 'header';
  if (m.auth_data.type === 'oauth2') return m.auth_data.grant_type === 'client_credentials' ? 'oauth2' : 'passthrough';
  return 'passthrough';
}

/**
 * The headers the gateway and discovery send upstream, secret references resolved. Per-user auth headers
 * (placeholders such as {{API_KEY}}) are filled by the gateway per caller, so they are left out here.
 * Throws ReconcileError(SecretNotFound).
 */
export function upstreamHeaders(m: McpServerManifest, secrets: SecretResolver, bearer?: string): Record<string, string> {
  const auth = m.auth_data?.type === 'header' && m.auth_data.auth_level === 'global' ? { ...m.auth_data.headers } : {};
  if (bearer !== undefined) auth.Authorization = `Bearer ${bearer}`;
  const merged = resolveHeaders(m.additional_headers, auth);
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, secrets.resolve(v)]));
}

export function tlsOf(m: McpServerManifest): DiscoveryTarget['tls'] {
  const tls: DiscoveryTarget['tls'] = { rejectUnauthorized: m.tls_settings.reject_unauthorized };
  if (m.tls_settings.ca_cert !== undefined) tls.caCert = m.tls_settings.ca_cert;
  return tls;
}

/** The value of the upstream proxy's auth header: `Bearer <token>` for (Proxy-)Authorization unless the token has a scheme. */
export function proxyAuthValue(header: string, token: string): string {
  const lower = header.toLowerCase();
  const bearer = (lower === 'authorization' || lower === 'proxy-authorization') && !token.includes(' ');
  return bearer ? `Bearer ${token}` : token;
}

/** The manifest's upstream_proxy, its token resolved (a secret reference is allowed there). Throws ReconcileError(SecretNotFound). */
export function upstreamProxyOf(m: McpServerManifest, secrets: SecretResolver): { url: string; headers: Record<string, string> } | undefined {
  const p = m.upstream_proxy;
  if (!p) return undefined;
  const headers: Record<string, string> = {};
  if (p.auth_token !== undefined) headers[p.auth_header] = proxyAuthValue(p.auth_header, secrets.resolve(p.auth_token));
  return { url: p.url, headers };
}

/**
 * What the manifest's transport, timeouts and upstream_proxy add to a discovery target: a preset transport is
 * the only one tried; timeouts.total_ms replaces the control plane's discovery budget.
 */
export function targetOptionsOf(
  m: McpServerManifest,
  secrets: SecretResolver,
): Pick<DiscoveryTarget, 'fixedTransport' | 'requestTimeoutMs' | 'proxy'> & { timeoutMs?: number } {
  const proxy = upstreamProxyOf(m, secrets);
  return {
    ...(m.transport ? { fixedTransport: m.transport } : {}),
    ...(m.timeouts ? { timeoutMs: m.timeouts.total_ms, requestTimeoutMs: m.timeouts.request_ms } : {}),
    ...(proxy ? { proxy } : {}),
  };
}

/** sha256 of a value's canonical JSON; used to tell whether discovery inputs changed. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

/** command, args and env of an mcp-server/stdio manifest, env secret references resolved. Throws ReconcileError(SecretNotFound). */
export function stdioSpecOf(m: StdioMcpServerManifest, secrets: SecretResolver): { command: string; args: string[]; env: Record<string, string> } {
  return { command: m.command, args: [...m.args], env: Object.fromEntries(Object.entries(m.env).map(([k, v]) => [k, secrets.resolve(v)])) };
}

/**
 * The gateway entry of an mcp-server/stdio server: no URL, headers or TLS; `stdio` says what the gateway's
 * stdio supervisor runs (env values are secrets, sealed by the gateway store). Always proxied.
 */
export function buildStdioGatewayEntry(
  resource: McpServerResource,
  spec: { command: string; args: string[]; env: Record<string, string> },
): GatewayEntry {
  const m = resource.manifest as StdioMcpServerManifest;
  return {
    ...commonEntryFields(resource, m),
    upstreamUrl: `stdio:${m.name}`,
    transport: null,
    headers: {},
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    ...(m.timeouts ? { timeouts: { requestMs: m.timeouts.request_ms, totalMs: m.timeouts.total_ms } } : {}),
    stdio: spec,
  };
}

function commonEntryFields(resource: McpServerResource, m: McpServerManifest | StdioMcpServerManifest) {
  const toolOverrides: Record<string, ToolOverride> = {};
  for (const t of m.tool_settings) {
    const override: ToolOverride = {};
    if (t.description !== undefined) override.description = t.description;
    if (t.annotations !== undefined) override.annotations = { ...t.annotations };
    if (Object.keys(override).length > 0) toolOverrides[t.name] = override;
  }
  return {
    fqn: resource.fqn,
    tenant: resource.tenant,
    name: resource.name,
    resourceId: resource.id,
    accountId: resource.accountId,
    disabledTools: m.tool_settings.filter((t) => t.disabled).map((t) => t.name),
    toolOverrides,
    collaborators: m.collaborators.map((c) => ({ ...c })),
    generation: resource.generation,
  };
}

export function buildGatewayEntry(
  resource: McpServerResource,
  headers: Record<string, string>,
  transport: GatewayTransport | null,
  upstreamProxy?: { url: string; headers: Record<string, string> },
): GatewayEntry {
  const m = resource.manifest as McpServerManifest;
  return {
    ...commonEntryFields(resource, m),
    upstreamUrl: m.url,
    // A transport preset by the manifest is used as is, whatever discovery found.
    transport: m.transport ?? transport,
    headers,
    passthroughAuth: m.auth_data?.type === 'passthrough',
    tls: tlsOf(m),
    // Only when the manifest sets them, so other entries keep their hash (see GatewayEntry).
    ...(m.connection_type ? { connectionType: m.connection_type } : {}),
    ...(m.transport ? { transportPinned: true } : {}),
    ...(m.timeouts ? { timeouts: { requestMs: m.timeouts.request_ms, totalMs: m.timeouts.total_ms } } : {}),
    ...(upstreamProxy ? { upstreamProxy } : {}),
  };
}
