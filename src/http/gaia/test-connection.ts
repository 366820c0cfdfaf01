// POST /api/mcp/servers/validate: one discovery against the server a create body describes, storing
// nothing. Values are used as sent: secret references (${env:...}, ${file:...}) are NOT resolved here, so
// a caller cannot make the control plane send its own secrets to a URL of the caller's choosing.
import type { DiscoveryResult, DiscoveryTarget } from '../../discovery/index.js';
import { discover as discoverServer, type DiscoverDeps } from '../../discovery/index.js';
import { OAuthClientCredentials, OAuthError } from '../../upstream/index.js';
import type { EgressPolicy } from '../../upstream/egress.js';
import type { UpstreamLimits } from '../../upstream/response-limits.js';
import type { McpServerManifest, RemoteMcpServerManifest } from '../../domain/manifest.js';
import { authConfigured, tlsOf, upstreamHeaders, upstreamProxyOf } from '../../discovery/upstream-settings.js';
import { literalSecrets } from '../../domain/secret-reference.js';
import type { GaiaTransportType } from './gaia-body.js';
import type { ManifestDraft } from './gaia-mapping.js';

export interface ValidateAnswer {
  valid: boolean;
  /** `connected`, or what went wrong in snake_case: unreachable, timeout, tls_error, authentication_required, protocol_error, egress_denied, response_too_large, transport_mismatch. */
  status: string;
  serverInfo: { name: string; version: string } | null;
  capabilities: Record<string, unknown> | null;
  /** The transport that answered, in GAIA's words (http | sse | stdio); null when none did. */
  detectedTransport: 'http' | 'sse' | 'stdio' | null;
  message: string;
}

export type TestConnection = (manifest: ManifestDraft, transportType: GaiaTransportType) => Promise<ValidateAnswer>;

/** How a stdio manifest is discovered (phase 2: a supervisor runs the process); absent: stdio cannot be tested. */
export type DiscoverStdio = (manifest: McpServerManifest, timeoutMs: number) => Promise<DiscoveryResult>;

export interface TestConnectionOptions {
  egress?: EgressPolicy;
  /** Byte caps on the server's and the token endpoint's answers. Default: DEFAULT_UPSTREAM_LIMITS. */
  limits?: UpstreamLimits;
  /** Used when the manifest sets no timeouts (it always does when it comes from a GAIA body). */
  defaultTimeoutMs?: number;
  discover?: (target: DiscoveryTarget, deps?: DiscoverDeps) => Promise<DiscoveryResult>;
  discoverStdio?: DiscoverStdio;
}

/** A discovery reason in GAIA's snake_case: TLSError → tls_error, EgressDenied → egress_denied. */
export function snakeReason(reason: string): string {
  return reason.replace(/TLS/g, 'tls').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

// openapi: never a GAIA server's (the GAIA API has no such type); tools over plain HTTP, if it were.
const GAIA_TRANSPORT = { 'streamable-http': 'http', sse: 'sse', stdio: 'stdio', openapi: 'http' } as const;

function answerOf(result: DiscoveryResult, wanted: GaiaTransportType): ValidateAnswer {
  if (!result.ok) {
    return { valid: false, status: snakeReason(result.reason), serverInfo: null, capabilities: null, detectedTransport: null, message: result.message };
  }
  const detected: 'http' | 'sse' | 'stdio' = wanted === 'stdio' ? 'stdio' : GAIA_TRANSPORT[result.transport];
  const base = { serverInfo: result.serverInfo, capabilities: result.capabilities, detectedTransport: detected };
  const n = result.tools.length;
  if (detected !== wanted) {
    return {
      ...base,
      valid: false,
      status: 'transport_mismatch',
      message: `The server answered over ${detected}, not ${wanted}; set transportType: ${detected}.`,
    };
  }
  return { ...base, valid: true, status: 'connected', message: `Connected over ${detected}; the server lists ${n} tool${n === 1 ? '' : 's'}.` };
}

export function createTestConnection(options: TestConnectionOptions = {}): TestConnection {
  const discover =
    options.discover ??
    ((target, deps) => discoverServer(target, { ...deps, ...(options.egress ? { egress: options.egress } : {}), ...(options.limits ? { limits: options.limits } : {}) }));
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;

  return async (draft, transportType) => {
    const manifest = draft as unknown as McpServerManifest;
    const timeouts = (draft as { timeouts?: { request_ms: number; total_ms: number } }).timeouts;
    const timeoutMs = timeouts?.total_ms ?? defaultTimeoutMs;
    if (transportType === 'stdio') {
      if (!options.discoverStdio) {
        return { valid: false, status: 'stdio_disabled', serverInfo: null, capabilities: null, detectedTransport: null, message: 'This control plane does not run stdio servers.' };
      }
      return answerOf(await options.discoverStdio(manifest, timeoutMs), 'stdio');
    }
    const m = draft as unknown as RemoteMcpServerManifest;
    const proxy = upstreamProxyOf(m, literalSecrets);
    // The transport asked for is tried first, then the other, so a wrong transportType is named, not just refused.
    const target: DiscoveryTarget = {
      url: m.url,
      headers: upstreamHeaders(m, literalSecrets),
      tls: tlsOf(m),
      timeoutMs,
      ...(timeouts ? { requestTimeoutMs: timeouts.request_ms } : {}),
      authConfigured: authConfigured(m),
      preferredTransport: transportType === 'sse' ? 'sse' : 'streamable-http',
      ...(proxy ? { proxy } : {}),
    };
    const auth = m.auth_data;
    if (auth?.type === 'oauth2' && auth.grant_type === 'client_credentials') {
      // A client of its own, so nothing is cached beyond this request.
      const oauth = new OAuthClientCredentials({
        timeoutMs: Math.min(10_000, timeoutMs),
        ...(options.egress ? { egress: options.egress } : {}),
        ...(options.limits ? { maxResponseBytes: options.limits.maxResponseBytes } : {}),
      });
      try {
        const token = await oauth.getToken({
          tokenUrl: auth.token_url ?? '',
          clientId: auth.client_id ?? '',
          clientSecret: auth.client_secret ?? '',
          ...(auth.scopes ? { scopes: auth.scopes } : {}),
          jwtSource: auth.jwt_source ?? 'access_token',
          tls: target.tls,
        });
        target.headers = { ...target.headers, Authorization: `Bearer ${token.accessToken}` };
      } catch (err) {
        const reason = err instanceof OAuthError && (err.kind === 'InvalidClient' || err.kind === 'TokenRequestRejected') ? 'authentication_required' : 'oauth_error';
        return {
          valid: false,
          status: reason,
          serverInfo: null,
          capabilities: null,
          detectedTransport: null,
          message: `The OAuth token request failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    }
    return answerOf(await discover(target), transportType);
  };
}
