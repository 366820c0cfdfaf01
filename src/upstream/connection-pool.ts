// Connections kept open between discoveries. One undici Agent per set of connection settings (the server's
// TLS trust, the egress policy, the upstream proxy and its headers, the body timeout), so a connection is
// only ever reused by a discovery whose settings would have opened the very same connection; within it,
// undici keeps an origin's idle keep-alive connections for the next request to that origin.
//
// Contract:
// - Every new connection passes the egress policy (egress.ts) on the address it resolves to, as in
//   server-fetch.ts; a kept connection was checked when it was opened.
// - Nothing of a server rides a connection: HTTP/1.1 keep-alive carries no state between requests, undici's
//   fetch keeps no cookies, the MCP transport and its session id are per discovery, and the headers
//   (credentials included) are sent with each request. TLS sessions are resumed only within one settings key.
// - Bounded: an idle connection closes after `idleMs` (or sooner when the server says so in Keep-Alive);
//   at most `connectionsPerOrigin` connections per origin and settings; past `maxIdle` idle connections in
//   all, those of the least recently used idle origins close; at most `maxSettings` Agents are kept.
// - A lease (one discovery) closes what it leaves open when it ends: its requests still under way and their
//   streams (an SSE GET) are aborted, a connection it opened ahead and nobody used is destroyed. The
//   connections it used and that are idle stay for the next discovery.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Agent, Client, Pool, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { DEFAULT_EGRESS_POLICY, egressConnector, type Connector, type EgressPolicy } from './egress.js';
import { CONNECTIONS_PER_ORIGIN, KEEP_ALIVE_IDLE_MS } from './http1-grammar.js';
import { checkingLiterals, type ServerFetch, type ServerFetchOptions } from './server-fetch.js';
import type { TlsOptions } from './types.js';

export interface ConnectionPoolOptions {
  /**
   * The longest a connection is kept idle, ms; a server that announces a shorter Keep-Alive timeout is
   * believed (less undici's margin). Default 4 s: below Node's HTTP server (5 s) and common proxies (60 s+),
   * so the pool closes an idle connection before the server does, and no request meets a closing socket.
   */
  idleMs?: number;
  /**
   * Connections to one origin at most, busy and idle, per settings. Default 64: above what the discoveries
   * running at once need (two each at most: a request and the SSE transport's event stream), so a stream held
   * open cannot starve another discovery's request.
   */
  connectionsPerOrigin?: number;
  /** Idle connections kept over all origins; past it the least recently used idle origins' close. Default 64. */
  maxIdle?: number;
  /** Agents (sets of settings) kept; past it the least recently used one not in use is closed. Default 32. */
  maxSettings?: number;
}

const DEFAULTS = { idleMs: KEEP_ALIVE_IDLE_MS, connectionsPerOrigin: CONNECTIONS_PER_ORIGIN, maxIdle: 64, maxSettings: 32 };

/** `scheme://host:port` as undici's Pool names its origin, from a connector's parameters. */
function originOf(params: Parameters<Connector>[0]): string {
  const hostname = params.hostname.includes(':') && !params.hostname.startsWith('[') ? `[${params.hostname}]` : params.hostname;
  return new URL(`${params.protocol}//${params.host ?? (params.port ? `${hostname}:${params.port}` : hostname)}`).origin;
}

interface HeldSocket {
  socket: Promise<Socket | undefined>;
  lease: object;
}

/** The connections of one set of settings. */
class SettingsAgent {
  readonly dispatcher: Dispatcher;
  /** Direct connections only (a proxy's tunnels are its own): origin → its Pool and its open sockets. */
  readonly origins = new Map<string, { pool?: Pool; sockets: Set<Socket> }>();
  /** Connections opened ahead of a first request (preconnect), handed to undici when it asks for that origin. */
  readonly held = new Map<string, HeldSocket[]>();
  leases = 0;
  private readonly connector: Connector | undefined;

  constructor(
    readonly policy: EgressPolicy,
    readonly proxy: ServerFetchOptions['proxy'],
    tls: TlsOptions,
    bodyTimeoutMs: number | undefined,
    private readonly owner: ConnectionPool,
    limits: typeof DEFAULTS,
  ) {
    const serverTls = { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.caCert ? { ca: tls.caCert } : {}) };
    const options = {
      keepAliveTimeout: limits.idleMs,
      keepAliveMaxTimeout: limits.idleMs,
      connections: limits.connectionsPerOrigin,
      ...(bodyTimeoutMs === undefined ? {} : { bodyTimeout: bodyTimeoutMs }),
    };
    if (proxy) {
      // Every request and redirect hop naming a denied IP address is refused before the proxy is asked.
      this.dispatcher = checkingLiterals(
        new ProxyAgent({
          uri: proxy.url,
          headers: { ...proxy.headers },
          requestTls: serverTls,
          clientFactory: (origin: URL) => new Client(origin, { connect: egressConnector(policy, {}), ...options }),
          ...options,
        }),
        policy,
      );
      return;
    }
    const base = egressConnector(policy, serverTls);
    this.connector = base;
    const connect: Connector = (params, callback) => {
      const origin = originOf(params);
      const adopt = (err: Error | null, socket: Socket | null) => {
        if (socket) this.track(origin, socket);
        // Opening a connection may put the idle ones over their bound.
        if (socket) queueMicrotask(() => this.owner.trim());
        (callback as (err: Error | null, socket: Socket | null) => void)(err, socket);
      };
      const held = this.held.get(origin)?.shift();
      if (this.held.get(origin)?.length === 0) this.held.delete(origin);
      if (!held) return base(params, adopt as Parameters<Connector>[1]);
      void held.socket.then((socket) => {
        if (socket && !socket.destroyed && socket.readyState === 'open') adopt(null, socket);
        else {
          socket?.destroy();
          base(params, adopt as Parameters<Connector>[1]);
        }
      });
    };
    this.dispatcher = new Agent({
      connect,
      ...options,
      factory: (origin, opts) => {
        const pool = new Pool(origin, opts);
        const key = new URL(String(origin)).origin;
        const entry = this.origins.get(key) ?? { sockets: new Set<Socket>() };
        entry.pool = pool;
        this.origins.set(key, entry);
        // The Agent closes a Pool once none of its connections is left (in its own listener, after this one),
        // also when it never got one (every attempt failed).
        pool.on('disconnect', () => queueMicrotask(() => this.forgetIfGone(key)));
        pool.on('connectionError', () => queueMicrotask(() => this.forgetIfGone(key)));
        return pool;
      },
    });
  }

  private track(origin: string, socket: Socket): void {
    let entry = this.origins.get(origin);
    if (!entry) this.origins.set(origin, (entry = { sockets: new Set() }));
    entry.sockets.add(socket);
    this.owner.opened(1);
    socket.once('close', () => {
      this.owner.opened(-1);
      this.origins.get(origin)?.sockets.delete(socket);
      this.forgetIfGone(origin);
    });
  }

  /** Drops an origin with no connection left and no live Pool (undici makes a new one for the next request). */
  private forgetIfGone(origin: string): void {
    const entry = this.origins.get(origin);
    if (entry && entry.sockets.size === 0 && (!entry.pool || entry.pool.closed || entry.pool.destroyed)) this.origins.delete(origin);
  }

  /** Opens a connection to url's origin for the lease's first request, unless one is open already. */
  preconnect(url: URL, lease: object): Promise<unknown> {
    const origin = url.origin;
    if ((this.origins.get(origin)?.sockets.size ?? 0) > 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const socket = new Promise<Socket | undefined>((settle) => {
        const params = { host: url.host, hostname: url.hostname.replace(/^\[|\]$/g, ''), protocol: url.protocol, port: url.port };
        this.connector!(params, (err, connected) => {
          if (err || !connected) {
            resolve(err ?? new Error('the connector answered no socket'));
            settle(undefined);
            return;
          }
          resolve(undefined);
          settle(connected);
        });
      });
      const list = this.held.get(origin) ?? [];
      list.push({ socket, lease });
      this.held.set(origin, list);
    });
  }

  /** Destroys the connections `lease` opened ahead and nobody took (one still connecting, when it comes). */
  dropHeld(lease: object): void {
    for (const [origin, list] of this.held) {
      const keep = list.filter((h) => h.lease !== lease);
      for (const h of list) if (h.lease === lease) void h.socket.then((s) => s?.destroy());
      if (keep.length > 0) this.held.set(origin, keep);
      else this.held.delete(origin);
    }
  }

  /** Idle connections of `origin`: all its open ones when no request to it is under way or waiting, else none counted. */
  idle(origin: string): number {
    const entry = this.origins.get(origin);
    if (!entry) return 0;
    const pool = entry.pool;
    // Not known to be idle: a connection opened ahead for a request not dispatched yet, or a Pool closing.
    if (!pool || pool.closed || pool.destroyed) return 0;
    const s = pool.stats;
    if (s.running > 0 || s.pending > 0 || s.queued > 0) return 0;
    return entry.sockets.size;
  }

  /** Closes the connections of an idle origin (undici sees them closed, as if by the server, and reconnects when asked). */
  closeIdle(origin: string): number {
    const n = this.idle(origin);
    if (n === 0) return 0;
    for (const socket of this.origins.get(origin)!.sockets) socket.destroy();
    return n;
  }
}

/** What a lease of a closed pool answers: every request fails; its dispatcher is destroyed. */
function closedFetch(): ServerFetch {
  const dispatcher = new Agent();
  void dispatcher.destroy().catch(() => undefined);
  const f = (() => Promise.reject(new TypeError('fetch failed', { cause: new Error('the connection pool is closed') }))) as unknown as ServerFetch;
  f.dispatcher = dispatcher;
  f.close = async () => undefined;
  return f;
}

export class ConnectionPool {
  private readonly limits: typeof DEFAULTS;
  /** Settings key → its Agent, least recently used first. */
  private readonly agents = new Map<string, SettingsAgent>();
  /** `settings key \n origin`, least recently used first: which idle connections close first past maxIdle. */
  private readonly recent = new Map<string, { agent: SettingsAgent; origin: string }>();
  private readonly policyIds = new WeakMap<EgressPolicy, number>();
  private nextPolicyId = 1;
  private closed = false;
  /** Direct connections open (busy or idle). */
  private open = 0;

  constructor(options: ConnectionPoolOptions = {}) {
    this.limits = { ...DEFAULTS, ...options };
  }

  /**
   * A fetch for one discovery over the pooled connections of its settings. Its close() ends the lease
   * (see the contract at the top); the pool stays open. Once the pool closed (shutdown), a fetch whose
   * every request fails, as a network failure does (TypeError "fetch failed"), so a discovery still
   * starting answers a failure.
   */
  lease(tls: TlsOptions, options: ServerFetchOptions = {}): ServerFetch {
    if (this.closed) return closedFetch();
    const policy = options.egress ?? DEFAULT_EGRESS_POLICY;
    const key = this.keyOf(policy, tls, options);
    let agent = this.agents.get(key);
    if (agent) this.agents.delete(key);
    else agent = new SettingsAgent(policy, options.proxy, tls, options.bodyTimeoutMs, this, this.limits);
    this.agents.set(key, agent);
    agent.leases++;
    const owner = agent;
    const lease = {};
    const abort = new AbortController();
    const used = new Set<string>();
    let ended = false;
    const leased = ((url: string | URL, init?: RequestInit) => {
      if (ended) return Promise.reject(new TypeError('fetch failed', { cause: new Error('the discovery is over') }));
      try {
        used.add(new URL(String(url)).origin);
      } catch {
        // undici's fetch reports the bad URL.
      }
      const signal = init?.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
      return undiciFetch(url, { ...(init as object), signal, dispatcher: owner.dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
    }) as ServerFetch;
    leased.dispatcher = owner.dispatcher;
    if (!owner.proxy) leased.preconnect = (url) => owner.preconnect(url, lease);
    leased.close = async () => {
      if (ended) return;
      ended = true;
      abort.abort(new Error('the discovery is over'));
      owner.dropHeld(lease);
      owner.leases--;
      for (const origin of used) {
        const k = `${key}\n${origin}`;
        this.recent.delete(k);
        this.recent.set(k, { agent: owner, origin });
      }
      this.trim();
    };
    return leased;
  }

  /** Direct connections open, busy or idle. */
  openConnections(): number {
    return this.open;
  }

  /** A SettingsAgent's count of open connections moved by `n`. */
  opened(n: number): void {
    this.open += n;
  }

  /** Applies maxIdle and maxSettings (see the contract at the top). */
  trim(): void {
    let idle = 0;
    if (this.open > this.limits.maxIdle) for (const { agent, origin } of this.recent.values()) idle += agent.idle(origin);
    for (const [k, { agent, origin }] of this.recent) {
      if (idle <= this.limits.maxIdle) break;
      const closed = agent.closeIdle(origin);
      idle -= closed;
      if (closed > 0 || !agent.origins.has(origin)) this.recent.delete(k);
    }
    // Forget origins with nothing open.
    for (const [k, { agent, origin }] of this.recent) if (!agent.origins.has(origin)) this.recent.delete(k);
    if (this.agents.size <= this.limits.maxSettings) return;
    for (const [key, agent] of this.agents) {
      if (this.agents.size <= this.limits.maxSettings) break;
      if (agent.leases > 0) continue;
      this.agents.delete(key);
      for (const [k, r] of this.recent) if (r.agent === agent) this.recent.delete(k);
      void agent.dispatcher.close().catch(() => undefined);
    }
  }

  /** Destroys every connection; no lease may be taken after. */
  async close(): Promise<void> {
    this.closed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    this.recent.clear();
    await Promise.all(agents.map((a) => a.dispatcher.destroy().catch(() => undefined)));
  }

  private keyOf(policy: EgressPolicy, tls: TlsOptions, options: ServerFetchOptions): string {
    let policyId = this.policyIds.get(policy);
    if (policyId === undefined) this.policyIds.set(policy, (policyId = this.nextPolicyId++));
    // Hashed: the proxy's headers are secrets and the CA bundle may be large; the key is kept in memory only.
    const h = createHash('sha256');
    h.update(JSON.stringify([policyId, tls.rejectUnauthorized, tls.caCert ?? null, options.proxy ? [options.proxy.url, Object.entries(options.proxy.headers).sort()] : null, options.bodyTimeoutMs ?? null]));
    return h.digest('base64url');
  }
}
