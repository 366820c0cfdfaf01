// What authentication an MCP server asks of a client that has none: initialize without credentials
// (through discovery, its egress policy and byte caps), and on a refusal, the OAuth metadata its
// challenge (or the well-known URLs) point at. Sends no credentials, stores nothing; never throws.
import { discover, type DiscoverDeps } from './discover.js';
import type { EgressPolicy } from '../upstream/egress.js';
import { observeFetch } from '../upstream/failure.js';
import { discoverOAuthMetadata, type OAuthMetadataResult } from '../upstream/oauth-metadata.js';
import type { UpstreamLimits } from '../upstream/response-limits.js';
import { createServerFetch } from '../upstream/server-fetch.js';
import type { DiscoveryFailure, DiscoveryTarget } from './types.js';

export interface ProbeAuthDeps {
  /** Default: the link-local ranges denied. */
  egress?: EgressPolicy;
  /** Default: DEFAULT_UPSTREAM_LIMITS. */
  limits?: UpstreamLimits;
}

export type AuthProbe =
  /** The server answered initialize without credentials. */
  | { kind: 'open' }
  /** Discovery failed for another reason than a refusal (unreachable, not MCP, ...). */
  | { kind: 'failed'; failure: DiscoveryFailure }
  /**
   * The server refused (401/403): the refusal seen, when one was (its WWW-Authenticate as sent; the
   * caller bounds it), and what came of looking for OAuth metadata.
   */
  | { kind: 'refused'; refusal?: { status: number; wwwAuthenticate?: string }; oauth: OAuthMetadataResult };

/** Probes `target` (its headers should be empty: no credentials) within target.timeoutMs, OAuth metadata included. */
export async function probeAuth(target: DiscoveryTarget, deps: ProbeAuthDeps = {}): Promise<AuthProbe> {
  const started = Date.now();
  // The probe's own fetch, observed, so the server's WWW-Authenticate challenge can be read.
  const serverFetch = createServerFetch(target.tls, deps.egress ? { egress: deps.egress } : {});
  const { fetch, observed } = observeFetch(serverFetch);
  const discoverDeps: DiscoverDeps = { fetch, ...(deps.limits ? { limits: deps.limits } : {}) };
  let result;
  try {
    result = await discover(target, discoverDeps);
  } finally {
    await serverFetch.close();
  }
  if (result.ok) return { kind: 'open' };
  if (result.reason !== 'AuthenticationRequired') return { kind: 'failed', failure: result };
  const seen = [...observed.failedResponses].reverse().find((r) => r.status === 401 || r.status === 403);
  const oauth = await discoverOAuthMetadata(
    { serverUrl: target.url, ...(seen?.wwwAuthenticate ? { wwwAuthenticate: seen.wwwAuthenticate } : {}), timeoutMs: Math.max(1, target.timeoutMs - (Date.now() - started)) },
    deps.egress ? { egress: deps.egress } : {},
  );
  const refusal = seen ? { status: seen.status, ...(seen.wwwAuthenticate ? { wwwAuthenticate: seen.wwwAuthenticate } : {}) } : undefined;
  return { kind: 'refused', ...(refusal ? { refusal } : {}), oauth };
}
