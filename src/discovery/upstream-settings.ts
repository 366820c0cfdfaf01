// A manifest → how to reach its upstream: the headers sent (secret references resolved), TLS, the
// upstream proxy, which kind of auth is configured, and what else a discovery target takes from it.
// Shared by the reconciler (gateway entries, discovery) and the GAIA validate route (one discovery).
import type { RemoteMcpServerManifest as McpServerManifest } from '../domain/manifest.js';
import type { SecretResolver } from '../domain/secret-reference.js';
import type { AuthConfigured, DiscoveryTarget } from './types.js';

/** What reaching an HTTP upstream takes from a manifest (mcp-server/remote and mcp-server/openapi have these). */
type HttpUpstreamManifest = Pick<McpServerManifest, 'auth_data' | 'additional_headers' | 'tls_settings'>;

/** additional_headers first, then auth_data headers; on a clash (names compare case-insensitively) auth wins. */
function resolveHeaders(
  additional: Record<string, string>,
  auth: Record<string, string> | undefined,
): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(additional)) byLower.set(name.toLowerCase(), [name, value]);
  for (const [name, value] of Object.entries(auth ?? {})) byLower.set(name.toLowerCase(), [name, value]);
  return Object.fromEntries([...byLower.values()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function authConfigured(m: Pick<HttpUpstreamManifest, 'auth_data'>): AuthConfigured {
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
export function upstreamHeaders(m: HttpUpstreamManifest, secrets: SecretResolver, bearer?: string): Record<string, string> {
  const auth = m.auth_data?.type === 'header' && m.auth_data.auth_level === 'global' ? { ...m.auth_data.headers } : {};
  if (bearer !== undefined) auth.Authorization = `Bearer ${bearer}`;
  const merged = resolveHeaders(m.additional_headers, auth);
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, secrets.resolve(v)]));
}

export function tlsOf(m: Pick<HttpUpstreamManifest, 'tls_settings'>): DiscoveryTarget['tls'] {
  const tls: DiscoveryTarget['tls'] = { rejectUnauthorized: m.tls_settings.reject_unauthorized };
  if (m.tls_settings.ca_cert !== undefined) tls.caCert = m.tls_settings.ca_cert;
  return tls;
}

/** The value of the upstream proxy's auth header: `Bearer <token>` for (Proxy-)Authorization unless the token has a scheme. */
function proxyAuthValue(header: string, token: string): string {
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
