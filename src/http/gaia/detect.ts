// The GAIA-style probes of a URL before a server is created: which MCP transports it speaks
// (POST /api/mcp/detect-transport) and what authentication it needs (POST /api/mcp/detect-auth).
// Both use discovery (src/discovery) as validate does: the same egress policy, the same timeouts,
// no credentials sent, nothing stored. The answers are GAIA's: { success: true, ... } or
// { success: false, reason, message } (reason in snake_case, as validate's status).
import { discover as discoverServer } from '../../discovery/index.js';
import type { UpstreamLimits } from '../../upstream/index.js';
import type { EgressPolicy } from '../../upstream/egress.js';
import { probeAuth } from '../../discovery/probe-auth.js';
import { sanitize } from '../../upstream/redaction.js';
import type { DiscoveryFailure, DiscoveryResult, DiscoveryTarget } from '../../discovery/types.js';
import { DEFAULTS } from './gaia-body.js';
import { snakeReason } from './test-connection.js';

export type GaiaRemoteTransport = 'http' | 'sse';

export type DetectTransportAnswer =
  | { success: true; message: string; supportedTypes: GaiaRemoteTransport[]; recommended: GaiaRemoteTransport }
  | { success: false; reason: string; message: string; supportedTypes: []; recommended: null };

export interface DetectedOAuth {
  authorizationServer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  scopesSupported?: string[];
  pkce: boolean;
}

export type DetectAuthAnswer =
  | { success: true; message: string; authType: 'none' | 'bearer' }
  | { success: true; message: string; authType: 'oauth'; oauth: DetectedOAuth }
  | { success: false; reason: string; message: string };

export interface DetectProbes {
  detectTransport(url: string): Promise<DetectTransportAnswer>;
  detectAuth(url: string): Promise<DetectAuthAnswer>;
}

export interface DetectProbesOptions {
  egress?: EgressPolicy;
  /** The budget of one probe, all requests included. Default: GAIA's maxTotalTimeout default, as validate. */
  timeoutMs?: number;
  /** The longest one MCP request may take. Default: GAIA's requestTimeout default, as validate. */
  requestTimeoutMs?: number;
  /** The most the HTTP+SSE probe after a Streamable HTTP answer may take. Default EXTRA_PROBE_MS. */
  extraProbeMs?: number;
  /** Byte caps on what a probed server sends (--upstream-max-*). Default: DEFAULT_UPSTREAM_LIMITS. */
  limits?: UpstreamLimits;
}

/**
 * Once Streamable HTTP answered, the probe for HTTP+SSE at the same URL gets this long at most (within
 * what is left of the budget): an HTTP+SSE server sends its `endpoint` event at once, while a Streamable
 * HTTP server may answer the GET with its own event stream that never sends one, and would otherwise hold
 * the answer for the whole budget.
 */
export const EXTRA_PROBE_MS = 5000;

function failedTransport(f: DiscoveryFailure): DetectTransportAnswer {
  const message =
    f.reason === 'AuthenticationRequired' ? `${f.message} POST /api/mcp/detect-auth says which credentials it takes.` : f.message;
  return { success: false, reason: snakeReason(f.reason), message, supportedTypes: [], recommended: null };
}

export function createDetectProbes(options: DetectProbesOptions = {}): DetectProbes {
  const egress = options.egress;
  const discover = (target: DiscoveryTarget): Promise<DiscoveryResult> =>
    discoverServer(target, { ...(egress ? { egress } : {}), ...(options.limits ? { limits: options.limits } : {}) });
  const timeoutMs = options.timeoutMs ?? DEFAULTS.maxTotalTimeout;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeout;
  const extraProbeMs = options.extraProbeMs ?? EXTRA_PROBE_MS;

  const targetOf = (url: string, budgetMs: number): DiscoveryTarget => ({
    url,
    headers: {},
    tls: { rejectUnauthorized: true },
    timeoutMs: budgetMs,
    requestTimeoutMs: Math.min(requestTimeoutMs, budgetMs),
    authConfigured: 'none',
  });

  return {
    async detectTransport(url) {
      const started = Date.now();
      // Streamable HTTP first, then HTTP+SSE: the first transport that answers initialize.
      const first = await discover(targetOf(url, timeoutMs));
      if (!first.ok) return failedTransport(first);
      const supported: GaiaRemoteTransport[] = [first.transport === 'sse' ? 'sse' : 'http'];
      // Streamable HTTP answered; whether the same URL also serves HTTP+SSE takes a probe of its own.
      const left = Math.min(extraProbeMs, timeoutMs - (Date.now() - started));
      if (first.transport === 'streamable-http' && left > 0) {
        const sse = await discover({ ...targetOf(url, left), fixedTransport: 'sse' });
        if (sse.ok) supported.push('sse');
      }
      return {
        success: true,
        message: 'Transport types detected successfully',
        supportedTypes: supported,
        recommended: supported.includes('http') ? 'http' : 'sse',
      };
    },

    async detectAuth(url) {
      const probe = await probeAuth(targetOf(url, timeoutMs), { ...(egress ? { egress } : {}), ...(options.limits ? { limits: options.limits } : {}) });
      if (probe.kind === 'open') {
        return { success: true, authType: 'none', message: 'The server answered initialize without credentials.' };
      }
      if (probe.kind === 'failed') {
        const { reason, message } = failedTransport(probe.failure) as { reason: string; message: string };
        return { success: false, reason, message };
      }
      const { refusal, oauth: found } = probe;
      const challenge = refusal?.wwwAuthenticate ? ` (WWW-Authenticate: ${sanitize(refusal.wwwAuthenticate, [], 200)})` : '';
      const status = refusal ? `HTTP ${refusal.status}${challenge}` : 'a refusal';
      switch (found.kind) {
        case 'found': {
          const m = found.metadata;
          return {
            success: true,
            authType: 'oauth',
            message: `The server answered ${status} and publishes OAuth metadata: authorization server ${m.authorizationServer}${m.pkce ? '' : ' (without PKCE S256, which MCP clients require)'}.`,
            oauth: {
              authorizationServer: m.authorizationServer,
              authorizationEndpoint: m.authorizationEndpoint,
              tokenEndpoint: m.tokenEndpoint,
              ...(m.registrationEndpoint ? { registrationEndpoint: m.registrationEndpoint } : {}),
              ...(m.scopesSupported ? { scopesSupported: m.scopesSupported } : {}),
              pkce: m.pkce,
            },
          };
        }
        case 'absent':
          return {
            success: true,
            authType: 'bearer',
            message: `The server answered ${status} and publishes no OAuth metadata: it takes a bearer token or an API key (set customHeaders).`,
          };
        case 'failed':
          return { success: false, reason: snakeReason(found.reason), message: `The server answered ${status}; ${found.message}` };
      }
    },
  };
}
