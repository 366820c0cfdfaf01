// How servers and errors look in the GAIA-style API. Secrets never leave: no oauthClientSecret, no
// proxyAuthToken, and env values are masked (names only), whatever kind of server it is. Header values are
// masked too, except one that is only a secret reference (isReferenceOnly, the native API's rule): it holds
// no secret and is shown as written.
import { findCondition, READY } from '../../domain/conditions.js';
import type { FieldError } from '../../domain/errors.js';
import type { DiscoveredTool, McpServerResource } from '../../domain/resource.js';
import { isReferenceOnly } from '../../domain/secret-reference.js';
import { MASK } from '../../manifest/index.js';
import { isDirect } from '../resource-view.js';
import { proxyUrlOf, type PresentOptions } from '../present.js';
import { displayNameOf, transportTypeOf } from './gaia-mapping.js';

/** The stored manifest as far as the GAIA view reads it (remote and stdio fields, all optional). */
interface ManifestView {
  type: string;
  name: string;
  description: string;
  tags?: Record<string, string>;
  url?: string;
  transport?: string;
  connection_type?: 'proxy' | 'direct';
  timeouts?: { request_ms: number; total_ms: number };
  upstream_proxy?: { url: string; auth_header: string; auth_token?: string };
  additional_headers?: Record<string, string>;
  auth_data?: { type: string; env?: Record<string, string>; client_id?: string; client_secret?: string; scopes?: string[]; token_url?: string; authorization_url?: string; grant_type?: string };
  command?: string;
  args?: string[];
  env?: Record<string, string>;
}

function masked(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(map ?? {}).map((k) => [k, MASK]));
}

export type GaiaStatus = 'ready' | 'error' | 'pending';

function statusOf(r: McpServerResource): { status: GaiaStatus; statusReason: string; statusMessage: string } {
  const ready = findCondition(r.status.conditions, READY);
  const current = ready !== undefined && r.status.observedGeneration === r.generation;
  const status: GaiaStatus = current && ready.status === 'True' ? 'ready' : current && ready.status === 'False' ? 'error' : 'pending';
  return { status, statusReason: ready?.reason ?? 'Pending', statusMessage: ready?.message ?? 'Waiting for the reconciler.' };
}

export function presentGaiaServer(r: McpServerResource, options: PresentOptions) {
  const m = r.manifest as unknown as ManifestView;
  const stdio = m.type === 'mcp-server/stdio';
  const oauth = m.auth_data?.type === 'oauth2' ? m.auth_data : undefined;
  const detected = r.status.detectedTransport;
  return {
    id: r.id,
    serverId: r.id,
    projectId: r.accountId,
    name: displayNameOf(m),
    resourceName: r.name,
    fqn: r.fqn,
    description: m.description,
    transportType: transportTypeOf(m),
    connectionType: m.connection_type ?? 'proxy',
    url: stdio ? null : (m.url ?? null),
    command: stdio ? (m.command ?? null) : null,
    args: stdio ? [...(m.args ?? [])] : null,
    env: stdio ? masked(m.auth_data?.type === 'env' ? m.auth_data.env : m.env) : null,
    customHeaders: stdio ? null : Object.entries(m.additional_headers ?? {}).map(([name, value]) => ({ name, value: isReferenceOnly(value) ? value : MASK })),
    oauthClientId: oauth?.client_id ?? null,
    oauthScope: oauth?.scopes?.join(' ') ?? null,
    oauthTokenUrl: oauth?.token_url ?? null,
    // Extension: set for a server each user connects their own account to (authorization code).
    oauthAuthorizationUrl: oauth?.authorization_url ?? null,
    hasOauthClientSecret: oauth?.client_secret !== undefined,
    // The HTTP proxy in front of the upstream, as sent (not the gateway; that is gatewayUrl).
    proxyUrl: m.upstream_proxy?.url ?? null,
    proxyAuthHeader: m.upstream_proxy ? m.upstream_proxy.auth_header : null,
    hasProxyAuthToken: m.upstream_proxy?.auth_token !== undefined,
    requestTimeout: m.timeouts?.request_ms ?? null,
    maxTotalTimeout: m.timeouts?.total_ms ?? null,
    // Where clients reach it through the gateway; null for direct servers, which the gateway does not serve.
    gatewayUrl: isDirect(r) ? null : proxyUrlOf(options.publicUrl, r.name),
    ...statusOf(r),
    // In GAIA's words: http | sse | stdio; null until a discovery succeeded.
    detectedTransport: detected === 'streamable-http' ? 'http' : (detected ?? null),
    toolCount: r.status.tools.filter((t) => !t.disabled).length,
    // For a per-user server, about the caller (the routes put theirs in).
    authStatus: r.status.authStatus,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** The tools a gateway client sees: disabled ones left out, overrides applied. */
export function presentGaiaTools(tools: readonly DiscoveredTool[]) {
  return tools
    .filter((t) => !t.disabled)
    .map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      inputSchema: t.inputSchema,
      ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
    }));
}

export function gaiaErrorBody(message: string, errors?: readonly FieldError[]) {
  return {
    success: false as const,
    message,
    ...(errors && errors.length > 0 ? { errors: errors.map((e) => ({ path: e.path, message: e.message })) } : {}),
  };
}
