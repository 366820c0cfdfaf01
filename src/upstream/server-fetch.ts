// A fetch with its own TLS trust for one server. Process-wide TLS (NODE_TLS_REJECT_UNAUTHORIZED, the
// global dispatcher) is never touched, so one server's `reject_unauthorized: false` cannot leak to another.
//
// Every connection the Agent opens passes the egress policy (egress.ts) on the address it resolves to;
// redirects reconnect through the same Agent, so they are checked too. Through a proxy, every request the
// dispatcher is handed (the first and each redirect hop fetch follows) is refused when it names a denied
// IP address (checkingLiterals).
import { Agent, Client, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { isIP, type Socket } from 'node:net';
import { DEFAULT_EGRESS_POLICY, EgressDeniedError, egressConnector, type Connector, type EgressPolicy } from './egress.js';
import type { FetchLike, TlsOptions } from './types.js';

/** A FetchLike that owns an undici Agent (`dispatcher`, for undici's own request API); close() destroys its sockets. */
export type ServerFetch = FetchLike & {
  dispatcher: Dispatcher;
  /**
   * Opens the connection (TCP, TLS, egress check) that the first request to `url`'s origin will then use,
   * and answers its error when it fails (undefined when connected). So a caller learns that nobody answers
   * at the price of one socket, not of a request through fetch. Without a proxy only (absent with one).
   */
  preconnect?: (url: URL) => Promise<unknown>;
  close(): Promise<void>;
};

export interface ServerFetchOptions {
  /** Default: DEFAULT_EGRESS_POLICY (the link-local ranges denied). */
  egress?: EgressPolicy;
  /**
   * Reach the server through this HTTP proxy (CONNECT tunnel, for http and https servers alike); `headers`
   * go to the proxy only. The egress policy checks the connection to the proxy; the server's address is
   * resolved by the proxy. The server's TLS settings still apply inside the tunnel.
   */
  proxy?: { url: string; headers: Record<string, string> };
  /**
   * The longest silence between two chunks of an answer's body, in ms; 0: none (a long-lived event
   * stream, whose liveness is TCP keep-alive). Default: undici's (300 s).
   */
  bodyTimeoutMs?: number;
}

export function createServerFetch(tls: TlsOptions, options: ServerFetchOptions = {}): ServerFetch {
  const policy = options.egress ?? DEFAULT_EGRESS_POLICY;
  const serverTls = { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.caCert ? { ca: tls.caCert } : {}) };
  const proxy = options.proxy;
  const timeouts = options.bodyTimeoutMs === undefined ? {} : { bodyTimeout: options.bodyTimeoutMs };
  const direct = proxy ? undefined : new HeldConnection(egressConnector(policy, serverTls));
  const agent: Dispatcher = proxy
    ? checkingLiterals(
        new ProxyAgent({
          uri: proxy.url,
          headers: { ...proxy.headers },
          requestTls: serverTls,
          clientFactory: (origin: URL) => new Client(origin, { connect: egressConnector(policy, {}), ...timeouts }),
        }),
        policy,
      )
    : new Agent({ connect: direct!.connector, ...timeouts });
  let closed = false;
  const serverFetch = ((url: string | URL, init?: RequestInit) => {
    // undici's fetch has its own (structurally equal) RequestInit/Response types.
    return undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
  }) as ServerFetch;
  serverFetch.dispatcher = agent;
  if (direct) serverFetch.preconnect = (url) => direct.open(url);
  serverFetch.close = async () => {
    if (closed) return;
    closed = true;
    direct?.close();
    // destroy, not close: discovery is over, in-flight streams (SSE GETs) must not keep sockets open.
    await agent.destroy().catch(() => undefined);
  };
  return serverFetch;
}

/**
 * A proxy's dispatcher that refuses every request to a server named by a denied IP address. Through a
 * proxy only the proxy's address is ours to resolve and check (a name is the proxy's to resolve), so a
 * server named by its number is checked here, before the proxy is asked: the first request and every
 * redirect hop fetch follows (each is a new dispatch), so a redirect cannot reach a denied address either.
 * The refusal is the request's error (fetch rejects with "fetch failed", caused by the EgressDeniedError).
 */
export function checkingLiterals(dispatcher: Dispatcher, policy: EgressPolicy): Dispatcher {
  return dispatcher.compose((dispatch) => (opts, handler) => {
    const denied = deniedLiteral(policy, String(opts.origin ?? ''));
    if (!denied) return dispatch(opts, handler);
    handler.onResponseError?.(null as unknown as Parameters<NonNullable<typeof handler.onResponseError>>[0], denied);
    return true;
  });
}

/** Through a proxy: the refusal of a server named by a denied IP address (a name is the proxy's to resolve). */
export function deniedLiteral(policy: EgressPolicy, url: string | URL): EgressDeniedError | undefined {
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

type ConnectParams = Parameters<Connector>[0];

/** How undici's Client names an origin when it asks its connector for a socket. */
function connectParams(url: URL): ConnectParams {
  return { host: url.host, hostname: url.hostname.replace(/^\[|\]$/g, ''), protocol: url.protocol, port: url.port };
}

const originKey = (p: ConnectParams) => `${p.protocol}//${p.hostname}:${p.port}`;

/**
 * The Agent's connector, able to open one connection ahead of the first request (preconnect). The held
 * socket comes from the same connector with the parameters undici would pass, so it is the connection the
 * request would have opened; it is handed over when undici first asks for that origin, unless it closed
 * meanwhile (then a new one is opened, as undici would have).
 */
class HeldConnection {
  private held: { key: string; socket: Promise<Socket | undefined> } | undefined;
  private closed = false;

  constructor(private readonly base: Connector) {}

  readonly connector: Connector = (params, callback) => {
    const held = this.held;
    if (!held || held.key !== originKey(params)) return this.base(params, callback);
    this.held = undefined;
    void held.socket.then((socket) => {
      if (socket && !socket.destroyed && socket.readyState === 'open') callback(null, socket);
      else {
        socket?.destroy();
        this.base(params, callback);
      }
    });
  };

  open(url: URL): Promise<unknown> {
    const params = connectParams(url);
    return new Promise((resolve) => {
      const socket = new Promise<Socket | undefined>((settle) => {
        this.base(params, (err, connected) => {
          if (err || !connected) {
            resolve(err ?? new Error('the connector answered no socket'));
            settle(undefined);
            return;
          }
          const s = connected;
          // Closed (discovery over) before the socket came: nobody will use it.
          if (this.closed) s.destroy();
          resolve(undefined);
          settle(this.closed ? undefined : s);
        });
      });
      this.held = { key: originKey(params), socket };
    });
  }

  /** Destroys a held socket nobody took (and one still connecting, when it comes). */
  close(): void {
    this.closed = true;
    const held = this.held;
    this.held = undefined;
    void held?.socket.then((s) => s?.destroy());
  }
}
