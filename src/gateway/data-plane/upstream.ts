// One upstream MCP session for one client session: the entry's URL, transport, resolved headers and
// TLS; the client's initialize request forwarded as it came, so the upstream sees the real client's
// protocol version, info and capabilities. Nothing from the client's HTTP request is ever copied
// upstream, the caller's bearer token least of all: an entry with passthroughAuth gets, in Authorization,
// a token the control plane minted for this caller and this upstream (src/auth/caller-tokens.ts), renewed
// while the session lasts.
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CallerTokenLease } from '../../auth/caller-tokens.js';
import type { EgressPolicy } from '../../upstream/egress.js';
import { Budget } from '../../upstream/budget.js';
import { classifyFailure, observeFetch } from '../../upstream/failure.js';
import { excerpt, sanitize, secretsOf } from '../../upstream/redaction.js';
import { DEFAULT_UPSTREAM_LIMITS, limitFetch } from '../../upstream/response-limits.js';
import { createServerFetch, type ServerFetch } from '../../upstream/server-fetch.js';
import { ReusedReadDispatcher } from '../../upstream/reused-read-dispatcher.js';
import type { FetchLike } from '../../upstream/types.js';
import { plainHeaders, type GatewayEntry, type GatewayTransport } from '../gateway-entry.js';
import { HttpUpstreamTransport } from './upstream-http.js';
import { ConditionReason } from '../../domain/condition-reasons.js';
import { openOpenApiSession } from '../../openapi/openapi-session.js';

export interface ConnectUpstreamOptions {
  entry: GatewayEntry;
  /**
   * The token minted for the caller at this upstream, sent as its bearer token when the entry says
   * passthroughAuth (required then). The upstream owns it from here: released when it closes, or when
   * connecting fails.
   */
  callerToken?: CallerTokenLease;
  /** The client's initialize request, forwarded unchanged. */
  initialize: JSONRPCRequest;
  /** For connecting (and the transport fallback) as a whole. */
  timeoutMs: number;
  /** Which addresses the gateway may connect to; default: discovery's default policy. */
  egress?: EgressPolicy;
  /** The largest answer or event read from the upstream (--upstream-max-message-bytes). Default: DEFAULT_UPSTREAM_LIMITS'. */
  maxMessageBytes?: number;
  /** Opens sessions on mcp-server/stdio processes (entry.stdio); absent: stdio entries answer 502. */
  stdio?: StdioSessions;
  /** The longest silence within one upstream answer's body; 0 (the default): none. */
  bodyTimeoutMs?: number;
  /** The entry as the gateway store holds it now; an mcp-server/openapi session serves its current tools. */
  latest?: () => GatewayEntry | undefined;
}

/** The part of the stdio supervisor (src/stdio) the gateway uses: one multiplexed session per client session. */
export interface StdioSessions {
  openSession(key: string, spec: { command: string; args: string[]; env: Record<string, string> }): Transport;
}

export interface Upstream {
  /** `openapi`: the gateway's own MCP server for an mcp-server/openapi entry (src/openapi). */
  kind: GatewayTransport | 'stdio' | 'openapi';
  transport: Transport;
  /** The upstream's result for initialize. */
  initializeResult: Record<string, unknown>;
  /** Ends the upstream session (a Streamable HTTP DELETE, bounded), then closes its sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connecting failed; `status` is the HTTP status the gateway answers the client (502 or 504). `unreachable`:
 * the upstream itself could not be reached or did not answer in time (a network failure or the timeout), so
 * it is down for every caller and the message is the gateway's own sentence; false when only this caller
 * or this gateway is refused (an initialize error, no signing key, no stdio), which says nothing of the server.
 */
export class UpstreamConnectError extends Error {
  constructor(
    readonly status: 502 | 504,
    message: string,
    readonly unreachable = false,
    /** The upstream refused the credentials sent (HTTP 401/403): a caller's token may be refreshed and tried once more. */
    readonly credentialsRefused = false,
  ) {
    super(message);
  }
}

/**
 * The upstream's GET stream is re-opened a few times within about 2 s; after that (or on a 404) the
 * upstream session counts as ended, and so does the client's.
 */
const GET_STREAM_RECONNECTION = { initialReconnectionDelay: 250, maxReconnectionDelay: 2000, reconnectionDelayGrowFactor: 2, maxRetries: 3 };

/** How long a polite upstream session DELETE may take. */
const TERMINATE_MS = 1000;

/** The entry's headers; with passthroughAuth, `Authorization: Bearer <the minted caller token>` in place of any other. */
export function upstreamHeaders(entry: GatewayEntry, callerToken: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(plainHeaders(entry.headers))) {
    if (!(entry.passthroughAuth && name.toLowerCase() === 'authorization')) headers[name] = value;
  }
  if (entry.passthroughAuth && callerToken !== undefined) headers.Authorization = `Bearer ${callerToken}`;
  return headers;
}

/** Every request of an SDK transport carries the lease's token of the moment (it is renewed under a long session). */
function withCallerToken(fetch: FetchLike, lease: CallerTokenLease): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${lease.token}`);
    return fetch(url, { ...init, headers });
  };
}

export async function connectUpstream(options: ConnectUpstreamOptions): Promise<Upstream> {
  try {
    const upstream = await connectTo(options);
    const lease = options.callerToken;
    if (!lease) return upstream;
    const close = upstream.close;
    return {
      ...upstream,
      close: () => {
        lease.release();
        return close();
      },
    };
  } catch (error) {
    options.callerToken?.release();
    throw error;
  }
}

async function connectTo(options: ConnectUpstreamOptions): Promise<Upstream> {
  const { entry, initialize } = options;
  if (entry.stdio) return connectStdio(options, entry.stdio);
  const lease = entry.passthroughAuth ? options.callerToken : undefined;
  if (entry.passthroughAuth && !lease) {
    throw new UpstreamConnectError(502, `MCP server "${entry.name}" takes a token minted for each caller, and this gateway has no signing key to mint one.`);
  }
  if (entry.openapi) return connectOpenApi(options, lease);
  const url = new URL(entry.upstreamUrl);
  const headers = upstreamHeaders(entry, lease?.token);
  const secrets = [...secretsOf(headers), ...secretsOf(entry.upstreamProxy?.headers ?? {})];
  // A transport the manifest preset is the only one tried; a detected one is tried first.
  const order: GatewayTransport[] =
    entry.transportPinned && entry.transport
      ? [entry.transport]
      : entry.transport === 'sse'
        ? ['sse', 'streamable-http']
        : ['streamable-http', 'sse'];
  // One budget for connecting, the transport fallback included.
  const budget = new Budget(options.timeoutMs);
  const serverFetch = createServerFetch(entry.tls, {
    ...(options.egress ? { egress: options.egress } : {}),
    ...(entry.upstreamProxy ? { proxy: entry.upstreamProxy } : {}),
    // An HTTP+SSE session's stream, a GET stream and a long tool call's streamed answer may be quiet for
    // as long as the session lives; a dead upstream is found by TCP keep-alive and the server's own pings.
    bodyTimeoutMs: options.bodyTimeoutMs ?? 0,
  });
  let lastMessage = '';
  let lastUnreachable = false;
  let lastRefused = false;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_UPSTREAM_LIMITS.maxMessageBytes;
  try {
    for (const kind of order) {
      // The SDK reads the handshake (and an HTTP+SSE session's stream): capped per answer and per event.
      const capped = limitFetch(lease ? withCallerToken(serverFetch, lease) : serverFetch, { maxMessageBytes }, (error) => (observed.tooLarge ??= error));
      const { fetch, observed } = observeFetch(capped);
      const requestInit: RequestInit = { headers };
      const transport =
        kind === 'sse'
          ? new SSEClientTransport(url, { requestInit, fetch })
          : new StreamableHTTPClientTransport(url, { requestInit, fetch, reconnectionOptions: GET_STREAM_RECONNECTION });
      try {
        const result = await budget.run(initializeOver(transport, initialize, secrets));
        const version = typeof result.protocolVersion === 'string' ? result.protocolVersion : undefined;
        if (kind === 'sse') {
          if (version) transport.setProtocolVersion?.(version);
          // Its requests take the token of the moment through withCallerToken.
          return { kind, transport, initializeResult: result, close: closer(transport, serverFetch) };
        }
        // The handshake went through the SDK (its failures are what classifyFailure reads); the session
        // goes on over the lean transport, on the same dispatcher. Nothing else was sent yet.
        const sessionId = (transport as StreamableHTTPClientTransport).sessionId;
        await transport.close();
        // Its POSTs over plain http read into a reused buffer per socket (no garbage per read); TLS and a
        // proxy stay on undici, and so do the GET stream and DELETE.
        const posts =
          url.protocol === 'http:' && !entry.upstreamProxy
            ? new ReusedReadDispatcher({ ...(options.egress ? { egress: options.egress } : {}), bodyTimeoutMs: options.bodyTimeoutMs ?? 0 })
            : undefined;
        const session = new HttpUpstreamTransport({
          url,
          // The lease's token of now (it may have been renewed during a long handshake).
          headers: lease ? upstreamHeaders(entry, lease.token) : headers,
          dispatcher: serverFetch.dispatcher,
          ...(posts ? { postDispatcher: posts } : {}),
          sessionId,
          protocolVersion: version,
          reconnection: GET_STREAM_RECONNECTION,
          maxMessageBytes,
        });
        if (lease) lease.onRenewed = (token) => session.setHeaders(upstreamHeaders(entry, token));
        return { kind, transport: session, initializeResult: result, close: closer(session, serverFetch, posts) };
      } catch (error) {
        await transport.close().catch(() => undefined);
        if (error instanceof UpstreamInitializeRefused) throw new UpstreamConnectError(502, error.message);
        const timedOut = budget.expired;
        const failure = classifyFailure(error, { url, transport: kind, observed, timedOut, timeoutMs: options.timeoutMs, secrets });
        if (timedOut) {
          throw new UpstreamConnectError(
            504,
            `MCP server "${entry.name}" did not answer initialize within ${options.timeoutMs} ms; try again later.`,
            true,
          );
        }
        lastMessage = failure.message.replace('did not complete discovery', 'did not complete initialize');
        lastUnreachable = failure.reason === ConditionReason.Unreachable || failure.reason === ConditionReason.Timeout;
        lastRefused = failure.reason === ConditionReason.AuthenticationRequired;
        if (!failure.wrongTransport) break;
      }
    }
  } catch (error) {
    await serverFetch.close();
    throw error;
  } finally {
    budget.dispose();
  }
  await serverFetch.close();
  throw new UpstreamConnectError(502, `The gateway could not open a session with MCP server "${entry.name}": ${lastMessage}`, lastUnreachable, lastRefused);
}

/**
 * mcp-server/stdio: a session on the supervised process of the entry. The supervisor answers
 * initialize from its own handshake with the process and renumbers request ids, so many client sessions
 * share one process; it starts, restarts and idles the process, and checks --stdio-allow itself.
 */
async function connectStdio(options: ConnectUpstreamOptions, spec: NonNullable<GatewayEntry['stdio']>): Promise<Upstream> {
  const { entry } = options;
  if (!options.stdio) throw new UpstreamConnectError(502, `MCP server "${entry.name}" runs over stdio, and this gateway does not run stdio servers.`);
  let transport: Transport;
  try {
    transport = options.stdio.openSession(entry.fqn, spec);
  } catch (error) {
    throw new UpstreamConnectError(502, `The gateway could not start MCP server "${entry.name}": ${(error as Error).message}`);
  }
  const budget = new Budget(options.timeoutMs);
  try {
    const result = await budget.run(initializeOver(transport, options.initialize, Object.values(spec.env)));
    let closing: Promise<void> | undefined;
    return { kind: 'stdio', transport, initializeResult: result, close: () => (closing ??= transport.close().catch(() => undefined)) };
  } catch (error) {
    await transport.close().catch(() => undefined);
    if (budget.expired) throw new UpstreamConnectError(504, `MCP server "${entry.name}" did not answer initialize within ${options.timeoutMs} ms; try again later.`, true);
    // The supervisor's own sentence (its stderr tail already sanitised) or the refusal's excerpt: bounded again here.
    const detail = sanitize((error as Error).message, Object.values(spec.env), 500);
    throw new UpstreamConnectError(502, `The gateway could not open a session with MCP server "${entry.name}": ${detail}`);
  } finally {
    budget.dispose();
  }
}

/**
 * mcp-server/openapi: the gateway's own MCP server for the entry (src/openapi/openapi-session.ts); each
 * request carries the entry's headers of the moment, with the caller's minted token when passthroughAuth.
 */
async function connectOpenApi(options: ConnectUpstreamOptions, lease: CallerTokenLease | undefined): Promise<Upstream> {
  const { entry } = options;
  const session = await openOpenApiSession({
    entry,
    ...(options.latest ? { latest: options.latest } : {}),
    headersOf: (e) => upstreamHeaders(e, lease?.token),
    ...(options.egress ? { egress: options.egress } : {}),
  });
  const budget = new Budget(options.timeoutMs);
  try {
    const result = await budget.run(initializeOver(session.transport, options.initialize, []));
    return { kind: 'openapi', transport: session.transport, initializeResult: result, close: session.close };
  } catch (error) {
    await session.close();
    throw new UpstreamConnectError(502, `The gateway could not open its session for MCP server "${entry.name}": ${(error as Error).message}`);
  } finally {
    budget.dispose();
  }
}

class UpstreamInitializeRefused extends Error {}

/**
 * start(), send initialize, and wait for the answer with the same id. A refusal quotes the upstream's
 * error message only as a bounded excerpt, with `secrets` redacted.
 */
async function initializeOver(transport: Transport, initialize: JSONRPCRequest, secrets: string[]): Promise<Record<string, unknown>> {
  const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
    transport.onmessage = (message: JSONRPCMessage) => {
      if (!('id' in message) || message.id !== initialize.id || 'method' in message) return;
      if ('result' in message) resolve(message.result as Record<string, unknown>);
      else if ('error' in message) {
        const said = typeof message.error.message === 'string' ? excerpt(message.error.message, secrets) : '';
        reject(new UpstreamInitializeRefused(`The MCP server refused initialize (code ${Number(message.error.code) || 'none'})${said ? `: ${said}` : '.'}`));
      }
    };
    transport.onerror = (error) => reject(error);
    transport.onclose = () => reject(new Error('the connection closed before initialize was answered'));
  });
  answer.catch(() => undefined);
  await transport.start();
  await transport.send(initialize);
  return answer;
}

function closer(transport: Transport, serverFetch: ServerFetch, posts?: ReusedReadDispatcher): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      if (transport instanceof HttpUpstreamTransport) {
        const ends = new Budget(TERMINATE_MS);
        await ends.run(transport.terminateSession()).catch(() => undefined);
        ends.dispose();
      }
      await transport.close().catch(() => undefined);
      await posts?.destroy();
      await serverFetch.close();
    })();
    return closing;
  };
}
