// The GAIA-style probes of a URL before a server is created: which MCP transports it speaks
// (POST /api/mcp/detect-transport) and what authentication it needs (POST /api/mcp/detect-auth).
// Both use discovery (src/discovery) as validate does: the same egress policy, the same timeouts,
// no credentials sent, nothing stored. The answers are GAIA's: { success: true, ... } or
// { success: false, reason, message } (reason in snake_case, as validate's status).
import { discover as discoverServer, type DiscoverDeps } from '../../discovery/index.js';
import type { EgressPolicy } from '../../discovery/egress.js';
import { observeFetch } from '../../discovery/failure.js';
import { discoverOAuthMetadata } from '../../discovery/oauth-metadata.js';
import { sanitize } from '../../discovery/redaction.js';
import { createServerFetch } from '../../discovery/server-fetch.js';
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
  const discover = (target: DiscoveryTarget, deps: DiscoverDeps = {}): Promise<DiscoveryResult> =>
    discoverServer(target, { ...deps, ...(egress && !deps.fetch ? { egress } : {}) });
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
      const started = Date.now();
      // The probe's own fetch, observed, so the server's WWW-Authenticate challenge can be read.
      const serverFetch = createServerFetch({ rejectUnauthorized: true }, egress ? { egress } : {});
      const { fetch, observed } = observeFetch(serverFetch);
      let result: DiscoveryResult;
      try {
        result = await discover(targetOf(url, timeoutMs), { fetch });
      } finally {
        await serverFetch.close();
      }
      if (result.ok) {
        return { success: true, authType: 'none', message: 'The server answered initialize without credentials.' };
      }
      if (result.reason !== 'AuthenticationRequired') {
        const { reason, message } = failedTransport(result) as { reason: string; message: string };
        return { success: false, reason, message };
      }
      const refusal = [...observed.failedResponses].reverse().find((r) => r.status === 401 || r.status === 403);
      const found = await discoverOAuthMetadata(
        { serverUrl: url, ...(refusal?.wwwAuthenticate ? { wwwAuthenticate: refusal.wwwAuthenticate } : {}), timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) },
        egress ? { egress } : {},
      );
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
