// A fetch with its own TLS trust for one server. Process-wide TLS (NODE_TLS_REJECT_UNAUTHORIZED, the
// global dispatcher) is never touched, so one server's `reject_unauthorized: false` cannot leak to another.
//
// Every connection the Agent opens passes the egress policy (egress.ts) on the address it resolves to;
// redirects reconnect through the same Agent, so they are checked too.
import { Agent, Client, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { isIP } from 'node:net';
import { DEFAULT_EGRESS_POLICY, EgressDeniedError, egressConnector, type EgressPolicy } from './egress.js';
import type { FetchLike, TlsOptions } from './types.js';

/** A FetchLike that owns an undici Agent (`dispatcher`, for undici's own request API); close() destroys its sockets. */
export type ServerFetch = FetchLike & { dispatcher: Dispatcher; close(): Promise<void> };

export interface ServerFetchOptions {
  /** Default: DEFAULT_EGRESS_POLICY (the link-local ranges denied). */
  egress?: EgressPolicy;
  /**
   * Reach the server through this HTTP proxy (CONNECT tunnel, for http and https servers alike); `headers`
   * go to the proxy only. The egress policy checks the connection to the proxy; the server's address is
   * resolved by the proxy. The server's TLS settings still apply inside the tunnel.
   */
  proxy?: { url: string; headers: Record<string, string> };
}

export function createServerFetch(tls: TlsOptions, options: ServerFetchOptions = {}): ServerFetch {
  const policy = options.egress ?? DEFAULT_EGRESS_POLICY;
  const serverTls = { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.caCert ? { ca: tls.caCert } : {}) };
  const proxy = options.proxy;
  const agent: Dispatcher = proxy
    ? new ProxyAgent({
        uri: proxy.url,
        headers: { ...proxy.headers },
        requestTls: serverTls,
        clientFactory: (origin: URL) => new Client(origin, { connect: egressConnector(policy, {}) }),
      })
    : new Agent({ connect: egressConnector(policy, serverTls) });
  let closed = false;
  const serverFetch = ((url: string | URL, init?: RequestInit) => {
    // Through a proxy only the proxy's address is ours to check; a server named by its IP address is
    // checked here too, so a proxy cannot be used to reach a denied address by number.
    const denied = proxy ? deniedLiteral(policy, url) : undefined;
    if (denied) return Promise.reject(new TypeError('fetch failed', { cause: denied }));
    // undici's fetch has its own (structurally equal) RequestInit/Response types.
    return undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
  }) as ServerFetch;
  serverFetch.dispatcher = agent;
  serverFetch.close = async () => {
    if (closed) return;
    closed = true;
    // destroy, not close: discovery is over, in-flight streams (SSE GETs) must not keep sockets open.
    await agent.destroy().catch(() => undefined);
  };
  return serverFetch;
}

function deniedLiteral(policy: EgressPolicy, url: string | URL): EgressDeniedError | undefined {
  let host: string;
  try {
    host = new URL(String(url)).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  if (isIP(host) === 0) return undefined;
  const decision = policy.check(host);
  return decision.allowed ? undefined : new EgressDeniedError(host, host, decision.rule);
}
