// Desired resource → its gateway entry (what reaching the upstream takes comes from discovery/upstream-settings.ts).
import { createHash } from 'node:crypto';
import { stdioEnv, type OpenApiMcpServerManifest, type RemoteMcpServerManifest as McpServerManifest, type StdioMcpServerManifest } from '../domain/manifest.js';
import type { McpServerResource } from '../domain/resource.js';
import { OAUTH_CLIENT_SECRET_KEY, USER_HEADER_PREFIX, type GatewayEntry, type GatewayTransport, type PerUserEntry, type ToolOverride } from '../gateway/gateway-entry.js';
import { stableStringify } from '../manifest/index.js';
import { literalSecrets, type SecretResolver } from '../domain/secret-reference.js';
import { credentialBinding, perUserKind } from '../credentials/binding.js';
import { tlsOf } from '../discovery/upstream-settings.js';

export function presetTransport(metadata: Record<string, unknown>): GatewayTransport | undefined {
  const t = metadata.detected_transport;
  return t === 'streamable-http' || t === 'sse' ? t : undefined;
}

/**
 * Per-user auth: the control plane holds no credential that stands for every caller
 * (passthrough, per_user header placeholders, OAuth authorization_code).
 */
export function isPerUserAuth(m: Pick<McpServerManifest, 'auth_data'>): boolean {
  const a = m.auth_data;
  return (
    a?.type === 'passthrough' ||
    (a?.type === 'header' && a.auth_level === 'per_user') ||
    (a?.type === 'oauth2' && a.grant_type === 'authorization_code')
  );
}

/** sha256 of a value's canonical JSON; used to tell whether discovery inputs changed. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

/** command, args and env of an mcp-server/stdio manifest, env secret references resolved. Throws ReconcileError(SecretNotFound). */
export function stdioSpecOf(m: StdioMcpServerManifest, secrets: SecretResolver): { command: string; args: string[]; env: Record<string, string> } {
  return { command: m.command, args: [...m.args], env: Object.fromEntries(Object.entries(stdioEnv(m)).map(([k, v]) => [k, secrets.resolve(v)])) };
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
    ...resourceEntryFields(resource, m),
    disabledTools: m.tool_settings.filter((t) => t.disabled).map((t) => t.name),
    toolOverrides,
  };
}

/** What an entry of any kind takes from its resource as is: who it is, who may use it, its generation and timeouts. */
export function resourceEntryFields(resource: McpServerResource, m: Pick<McpServerManifest | StdioMcpServerManifest | OpenApiMcpServerManifest, 'collaborators' | 'timeouts'>) {
  return {
    fqn: resource.fqn,
    tenant: resource.tenant,
    name: resource.name,
    resourceId: resource.id,
    accountId: resource.accountId,
    collaborators: m.collaborators.map((c) => ({ ...c })),
    generation: resource.generation,
    ...(m.timeouts ? { timeouts: { requestMs: m.timeouts.request_ms, totalMs: m.timeouts.total_ms } } : {}),
  };
}

export function buildGatewayEntry(
  resource: McpServerResource,
  headers: Record<string, string>,
  transport: GatewayTransport | null,
  upstreamProxy?: { url: string; headers: Record<string, string> },
  secrets: SecretResolver = literalSecrets,
): GatewayEntry {
  const m = resource.manifest as McpServerManifest;
  const perUser = perUserEntryOf(m, secrets);
  return {
    ...commonEntryFields(resource, m),
    upstreamUrl: m.url,
    // A transport preset by the manifest is used as is, whatever discovery found.
    transport: m.transport ?? transport,
    headers: perUser ? { ...headers, ...perUser.headers } : headers,
    // The upstream authenticates each caller: it gets a token minted for the caller, never the caller's own.
    passthroughAuth: m.auth_data?.type === 'passthrough',
    ...(perUser ? { perUser: perUser.entry } : {}),
    tls: tlsOf(m),
    // Only when the manifest sets them, so other entries keep their hash (see GatewayEntry).
    ...(m.connection_type ? { connectionType: m.connection_type } : {}),
    ...(m.transport ? { transportPinned: true } : {}),
    ...(upstreamProxy ? { upstreamProxy } : {}),
  };
}

/**
 * A per-user server's part of its entry: what the data plane fills per caller, and the sealed keys it
 * takes that from (header templates, the OAuth client secret resolved). Throws ReconcileError(SecretNotFound).
 */
function perUserEntryOf(m: McpServerManifest, secrets: SecretResolver): { entry: PerUserEntry; headers: Record<string, string> } | undefined {
  const kind = perUserKind(m.auth_data);
  const binding = credentialBinding(m.url, m.auth_data);
  if (!kind || !binding) return undefined;
  const auth = m.auth_data!;
  if (auth.type === 'header') {
    return { entry: { kind, binding }, headers: Object.fromEntries(Object.entries(auth.headers).map(([k, v]) => [`${USER_HEADER_PREFIX}${k}`, v])) };
  }
  if (auth.type !== 'oauth2') return undefined;
  const oauth: NonNullable<PerUserEntry['oauth']> = { jwtSource: auth.jwt_source };
  if (auth.authorization_url !== undefined) oauth.authorizationUrl = auth.authorization_url;
  if (auth.token_url !== undefined) oauth.tokenUrl = auth.token_url;
  if (auth.registration_url !== undefined) oauth.registrationUrl = auth.registration_url;
  if (auth.client_id !== undefined) oauth.clientId = auth.client_id;
  if (auth.scopes !== undefined) oauth.scopes = [...auth.scopes];
  const headers: Record<string, string> = auth.client_secret !== undefined ? { [OAUTH_CLIENT_SECRET_KEY]: secrets.resolve(auth.client_secret) } : {};
  return { entry: { kind, binding, oauth }, headers };
}
