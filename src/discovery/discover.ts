// discover(): connect to one remote MCP server, detect its transport, and list every tool.
//
// Contract: never throws; always answers a DiscoveryResult within target.timeoutMs (plus the time to
// close sockets); always closes the client, the transport and what it opened: with a connection pool
// (deps.connections) its requests and streams still under way, the pool keeping the idle connections for
// the next discovery with the same settings; without one, the per-server Agent it created. No timer and
// no busy socket outlives the call. Messages never carry header values or tokens.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { authStatusOnFailure, authStatusOnSuccess } from './auth-status.js';
import type { Clock } from '../domain/clock.js';
import { Budget } from '../upstream/budget.js';
import {
  classifyFailure,
  networkKindByCode,
  observeFetch,
  safeUrl,
  timeoutFailure,
  transportName,
  type ClassifiedFailure,
} from '../upstream/failure.js';
import { sanitize, secretsOf } from '../upstream/redaction.js';
import { egressDenial, type EgressPolicy } from '../upstream/egress.js';
import { createServerFetch } from '../upstream/server-fetch.js';
import type { ConnectionPool } from '../upstream/connection-pool.js';
import { DEFAULT_UPSTREAM_LIMITS, limitFetch, type ResponseTooLargeError, type UpstreamLimits } from '../upstream/response-limits.js';
import { listingClient } from '../upstream/listing-client.js';
import { listAllTools } from '../upstream/tools-pager.js';
import type { DiscoveryFailure, DiscoveryResult, DiscoveryTarget } from './types.js';
import type { FetchLike, Transport, UpstreamTool } from '../upstream/types.js';
import { ConditionReason } from '../domain/condition-reasons.js';

/**
 * The Fetch standard's blocked ports (https://fetch.spec.whatwg.org/#bad-port, as undici 7 has them): fetch
 * refuses them before connecting, and that refusal has its own message, so no preconnect tries them.
 */
const FETCH_BAD_PORTS: ReadonlySet<string> = new Set(
  [
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
    119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
    989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
  ].map(String),
);
/** How long a polite session DELETE may take after a successful discovery. */
const TERMINATE_SESSION_MS = 1000;

export interface DiscoverDeps {
  /** Used instead of a per-server fetch built from target.tls; the caller owns (and closes) it. */
  fetch?: FetchLike;
  /** The egress policy of the fetch built here (ignored with `fetch`). Default: the link-local ranges denied. */
  egress?: EgressPolicy;
  /**
   * Connections kept between discoveries (ignored with `fetch`): this discovery leases those of its settings
   * (TLS, egress policy, proxy). Absent: an Agent of its own, closed at the end.
   */
  connections?: ConnectionPool;
  /** The clock of the discovery budget (tests move it). Default: the system clock. */
  clock?: Clock;
  /** Byte caps on what the server sends. Default: DEFAULT_UPSTREAM_LIMITS. */
  limits?: UpstreamLimits;
}

type Attempt =
  | { ok: true; transport: Transport; client: Client; tools: UpstreamTool[] }
  | { ok: false; failure: ClassifiedFailure };

export async function discover(target: DiscoveryTarget, deps: DiscoverDeps = {}): Promise<DiscoveryResult> {
  // The proxy's token must not reach a message either.
  const secrets = secretsOf({ ...target.headers, ...Object.fromEntries(Object.entries(target.proxy?.headers ?? {}).map(([k, v]) => [`proxy:${k}`, v])) });
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return failure(target, { reason: ConditionReason.ProtocolError, message: 'The server URL is not a valid absolute URL; fix spec.url.', wrongTransport: false }, secrets);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return failure(target, { reason: ConditionReason.ProtocolError, message: `The server URL uses ${url.protocol} but MCP remote servers need http:// or https://; fix spec.url.`, wrongTransport: false }, secrets);
  }

  const fetchOptions = { ...(deps.egress ? { egress: deps.egress } : {}), ...(target.proxy ? { proxy: target.proxy } : {}) };
  const ownedFetch = deps.fetch ? undefined : deps.connections ? deps.connections.lease(target.tls, fetchOptions) : createServerFetch(target.tls, fetchOptions);
  const fetch = deps.fetch ?? ownedFetch!;
  const budget = new Budget(target.timeoutMs, target.requestTimeoutMs, deps.clock);
  try {
    // A transport preset by the manifest is the only one tried: no detection, no fallback.
    const order: Transport[] = target.fixedTransport
      ? [target.fixedTransport]
      : target.preferredTransport === 'sse'
        ? ['sse', 'streamable-http']
        : ['streamable-http', 'sse'];
    // A server nobody answers at (refused, unknown name, TLS refused, egress denied) fails here, on one
    // socket, before a client and a fetch are built for it: far cheaper (bench/results.md), and no garbage that survives to
    // the next full GC. The socket is the one the first request then uses. Only a failure the classifier
    // names by its code ends discovery here, with the message the same failure of a fetch would get.
    if (ownedFetch?.preconnect && !url.username && !url.password && !FETCH_BAD_PORTS.has(url.port)) {
      let connectError: unknown;
      try {
        connectError = await budget.run(ownedFetch.preconnect(url));
      } catch {
        return failure(target, timeoutFailure(url, target.timeoutMs), secrets);
      }
      if (connectError !== undefined && (egressDenial(connectError) || networkKindByCode(connectError))) {
        // As undici's fetch reports it.
        const fetchError = new TypeError('fetch failed', { cause: connectError });
        const classified = classifyFailure(fetchError, {
          url,
          transport: order[0]!,
          observed: { networkError: fetchError, failedResponses: [] },
          timedOut: false,
          timeoutMs: target.timeoutMs,
          secrets,
        });
        return failure(target, classified, secrets);
      }
    }
    const wrongTransports: ClassifiedFailure[] = [];
    for (const transport of order) {
      if (budget.expired) return failure(target, timeoutFailure(url, target.timeoutMs), secrets);
      const attempt = await attemptTransport(transport, url, target, fetch, budget, secrets, deps.limits ?? DEFAULT_UPSTREAM_LIMITS);
      if (attempt.ok) {
        const { client } = attempt;
        const serverVersion = client.getServerVersion();
        const instructions = client.getInstructions();
        const capabilities = { ...(client.getServerCapabilities() ?? {}) };
        await closeClient(client);
        return {
          ok: true,
          transport,
          serverInfo: { name: serverVersion?.name ?? '', version: serverVersion?.version ?? '' },
          capabilities,
          ...(instructions ? { instructions } : {}),
          tools: attempt.tools,
          authStatus: authStatusOnSuccess(target.authConfigured),
        };
      }
      if (!attempt.failure.wrongTransport) return failure(target, attempt.failure, secrets);
      wrongTransports.push(attempt.failure);
    }
    const answers = order
      .map((t, i) => {
        const status = wrongTransports[i]?.httpStatus;
        return `${transportName(t)} (${status ? `HTTP ${status}` : 'an answer of another kind'})`;
      })
      .join(' nor ');
    const httpStatus = wrongTransports[wrongTransports.length - 1]?.httpStatus;
    const message =
      order.length === 1
        ? `The server at ${safeUrl(url)} did not answer ${answers}, the transport the manifest presets; check the URL and the transport.`
        : `The server at ${safeUrl(url)} answered neither ${answers}; check that the URL points at the MCP endpoint.`;
    return failure(
      target,
      {
        reason: ConditionReason.ProtocolError,
        message,
        ...(httpStatus ? { httpStatus } : {}),
        wrongTransport: false,
      },
      secrets,
    );
  } finally {
    budget.dispose();
    await ownedFetch?.close();
  }
}

function failure(target: DiscoveryTarget, f: ClassifiedFailure, secrets: string[]): DiscoveryFailure {
  return {
    ok: false,
    reason: f.reason,
    // Text from the server was already redacted; this pass guards the rest against credential-like
    // values only, so a short header value (say "prod") does not mangle the host named in the message.
    message: sanitize(f.message, secrets.filter((v) => v.length >= 8), 1000),
    authStatus: authStatusOnFailure(target.authConfigured, f.reason, f.httpStatus, f.challenge),
    ...(f.httpStatus ? { httpStatus: f.httpStatus } : {}),
  };
}

/**
 * One transport, one fresh Client (the SDK has no fallback; a Client cannot be reconnected).
 * On success the client is still open (the caller reads serverInfo, then closes it); on failure it is closed.
 */
async function attemptTransport(
  kind: Transport,
  url: URL,
  target: DiscoveryTarget,
  baseFetch: FetchLike,
  budget: Budget,
  secrets: string[],
  limits: UpstreamLimits,
): Promise<Attempt> {
  // An answer past its cap ends the attempt at once: the SDK reports a stream's error only as text
  // (onerror) and would leave the request waiting for the whole budget.
  let exceeded!: (error: ResponseTooLargeError) => void;
  const tooLarge = new Promise<never>((_, reject) => (exceeded = reject));
  tooLarge.catch(() => undefined);
  const capped = limitFetch(baseFetch, { maxMessageBytes: limits.maxMessageBytes, maxStreamBytes: limits.maxResponseBytes }, (error) => {
    observed.tooLarge ??= error;
    exceeded(error);
  });
  const { fetch, observed } = observeFetch(capped);
  const run = <T>(promise: Promise<T>): Promise<T> => budget.run(Promise.race([promise, tooLarge]));
  const requestInit: RequestInit = { headers: { ...target.headers } };
  // requestInit headers reach every request either transport makes, the SSE GET included.
  const transport =
    kind === 'sse'
      ? new SSEClientTransport(url, { requestInit, fetch })
      : new StreamableHTTPClientTransport(url, {
          requestInit,
          fetch: withoutEventStream(fetch),
          // The optional GET stream must not schedule reconnect timers that outlive discovery.
          reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
        });
  const client = listingClient();
  let phase: 'connect' | 'list' = 'connect';
  try {
    await run(client.connect(transport, budget.requestOptions()));
    phase = 'list';
    const tools = await listAllTools((cursor) => run(client.listTools(cursor === undefined ? undefined : { cursor }, budget.requestOptions())), Boolean(client.getServerCapabilities()?.tools));
    return { ok: true, transport: kind, client, tools };
  } catch (error) {
    const classified = classifyFailure(error, {
      url,
      transport: kind,
      observed,
      // The SDK's request timeout (McpError RequestTimeout) is a budget overrun as well.
      timedOut: budget.expired || (error instanceof McpError && error.code === ErrorCode.RequestTimeout),
      timeoutMs: target.timeoutMs,
      secrets,
    });
    // Only the answer to initialize says which transport a URL speaks.
    if (phase !== 'connect') classified.wrongTransport = false;
    await closeClient(client);
    // Client.connect does not close a transport whose start() failed (SSE keeps an EventSource); close is idempotent.
    await transport.close().catch(() => undefined);
    return { ok: false, failure: classified };
  }
}

/**
 * Streamable HTTP's optional GET stream carries only what the server sends unasked (notifications, its own
 * requests), which listing tools never needs: it is answered 405 here, as by a server that offers none
 * (the transport then goes on without it), so a discovery holds no stream open and leaves its connection
 * idle for the next one.
 */
function withoutEventStream(fetch: FetchLike): FetchLike {
  return (url, init) => ((init?.method ?? 'GET').toUpperCase() === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(url, init));
}

/** Ends a session politely when the server keeps one, then closes; never throws. */
async function closeClient(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    const ends = new Budget(TERMINATE_SESSION_MS);
    try {
      await ends.run(transport.terminateSession());
    } catch {
      // A server that cannot end sessions expires them itself.
    } finally {
      ends.dispose();
    }
  }
  await client.close().catch(() => undefined);
  await transport?.close().catch(() => undefined);
}
