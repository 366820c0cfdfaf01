// Turns whatever the SDK, undici or the server threw into one FailureReason and one sentence
// an operator can act on. The real cause is often wrapped (undici: TypeError "fetch failed" → cause →
// AggregateError → errors[]), and the SSE transport flattens it into a string, so the fetch used for
// discovery is observed too (observeFetch) and its raw network error is consulted.
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describeEgressDenial, egressDenial } from './egress.js';
import { excerpt, sanitize } from './redaction.js';
import { ResponseTooLargeError, responseTooLarge, TooManyToolsError } from './response-limits.js';
import type { FailureReason, FetchLike, Transport } from './types.js';

export interface FailedResponse {
  method: string;
  status: number;
  wwwAuthenticate?: string;
}

/** What the transport's fetch saw during one attempt. */
export interface FetchObservations {
  /** The last error a request threw that was not an abort. */
  networkError?: unknown;
  /** Every non-2xx, non-3xx response, oldest first. */
  failedResponses: FailedResponse[];
  /** The first answer whose body passed its byte cap (see response-limits.ts). */
  tooLarge?: ResponseTooLargeError;
}

export function observeFetch(base: FetchLike): { fetch: FetchLike; observed: FetchObservations } {
  const observed: FetchObservations = { failedResponses: [] };
  const observing: FetchLike = async (url, init) => {
    try {
      const response = await base(url, init);
      if (response.status >= 400) {
        const wwwAuthenticate = response.headers.get('www-authenticate') ?? undefined;
        observed.failedResponses.push({
          method: (init?.method ?? 'GET').toUpperCase(),
          status: response.status,
          ...(wwwAuthenticate ? { wwwAuthenticate } : {}),
        });
      }
      return response;
    } catch (error) {
      if (!isAbort(error)) observed.networkError = error;
      throw error;
    }
  };
  return { fetch: observing, observed };
}

export interface ClassifiedFailure {
  reason: FailureReason;
  message: string;
  httpStatus?: number;
  /** The WWW-Authenticate challenge of a 401/403, redacted: what the server asked for. */
  challenge?: string;
  /** The server answered, but as something other than this transport: the other transport is worth a try. */
  wrongTransport: boolean;
}

export interface FailureContext {
  url: URL;
  transport: Transport;
  observed: FetchObservations;
  /** The budget ran out (the failure is then a Timeout, whatever was thrown). */
  timedOut: boolean;
  timeoutMs: number;
  /** Header values and tokens that must never appear in a message. */
  secrets: string[];
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

function isTlsCode(code: string): boolean {
  return (
    TLS_VERIFY_CODES.has(code) ||
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code === 'EPROTO'
  );
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/** Every error reachable through `cause` and AggregateError `errors`, breadth first, cycles cut. */
export function errorChain(error: unknown): unknown[] {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  const out: unknown[] = [];
  while (queue.length > 0 && out.length < 32) {
    const e = queue.shift();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    out.push(e);
    if (typeof e === 'object') {
      const { cause, errors } = e as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors);
    }
  }
  return out;
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export type NetworkKind =
  | { kind: 'tls'; code: string; detail: string }
  | { kind: 'unreachable'; code: string }
  /** fetch refuses ports on the Fetch standard's block list (e.g. 1, 22, 6000) before connecting. */
  | { kind: 'bad-port' };

/** A network or TLS failure named by an error `code` somewhere in the chain. */
export function networkKindByCode(error: unknown): NetworkKind | undefined {
  const chain = errorChain(error);
  for (const e of chain) {
    const code = codeOf(e);
    if (code && isTlsCode(code)) return { kind: 'tls', code, detail: messageOf(e) };
  }
  for (const e of chain) {
    const code = codeOf(e);
    if (code && UNREACHABLE_CODES.has(code)) return { kind: 'unreachable', code };
  }
  if (chain.some((e) => messageOf(e) === 'bad port')) return { kind: 'bad-port' };
  return undefined;
}

/** Last resort for errors flattened into text (EventSource keeps only a message). */
function networkKindByText(error: unknown): NetworkKind | undefined {
  for (const e of errorChain(error)) {
    const text = messageOf(e);
    const tls = /\b(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_[A-Z_]+|ERR_SSL_[A-Z_]+)\b/.exec(text);
    if (tls?.[1]) return { kind: 'tls', code: tls[1], detail: text };
    if (/self[- ]signed certificate|unable to verify the first certificate/i.test(text)) {
      return { kind: 'tls', code: 'CERT_UNTRUSTED', detail: text };
    }
    if (/\bbad port\b/.test(text)) return { kind: 'bad-port' };
    const net = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EPIPE|ETIMEDOUT)\b/.exec(text);
    if (net?.[1]) return { kind: 'unreachable', code: net[1] };
  }
  return undefined;
}

/** The network or TLS failure behind `error`, if it is one. */
export function networkFailure(error: unknown): NetworkKind | undefined {
  return networkKindByCode(error) ?? networkKindByText(error);
}

/** The HTTP status an SDK transport error reports, if it reports one. */
function httpStatusOf(error: unknown): number | undefined {
  for (const e of errorChain(error)) {
    if (e instanceof McpError) continue; // its code is a JSON-RPC code, not HTTP
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'number' && code >= 100 && code <= 599) return code;
    // SSEClientTransport.send: "Error POSTing to endpoint (HTTP 401): ..."; EventSource: "Non-200 status code (404)"
    const m = /\(HTTP (\d{3})\)|Non-200 status code \((\d{3})\)/.exec(messageOf(e));
    const status = Number(m?.[1] ?? m?.[2]);
    if (status >= 100 && status <= 599) return status;
  }
  return undefined;
}

export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

/** The URL without userinfo, query or fragment, which may carry credentials. */
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export function transportName(transport: Transport): string {
  return transport === 'sse' ? 'HTTP+SSE' : 'Streamable HTTP';
}

export function timeoutFailure(url: URL, timeoutMs: number): ClassifiedFailure {
  return {
    reason: 'Timeout',
    message: `MCP server at ${hostPort(url)} did not complete discovery within the ${timeoutMs} ms budget; check that it responds, or raise the discovery timeout.`,
    wrongTransport: false,
  };
}

/**
 * What went wrong, in words that show nothing of the server's body: a schema error (zod's dumps the
 * body's shape as JSON) or a JSON parse error (which quotes the body) is named, not shown; any other
 * text is a bounded, sanitised excerpt.
 */
function detailOf(error: unknown, secrets: string[]): string {
  for (const e of errorChain(error)) {
    if (e instanceof Error && (e.name === 'ZodError' || Array.isArray((e as { issues?: unknown }).issues))) return 'its answer is not a valid MCP message';
    if (e instanceof SyntaxError) return 'its answer is not valid JSON';
  }
  return excerpt(messageOf(error), secrets) || 'an answer the control plane could not read';
}

function tooLargeFailure(url: URL, transport: Transport, error: ResponseTooLargeError): ClassifiedFailure {
  return {
    reason: 'ResponseTooLarge',
    message: `MCP server at ${safeUrl(url)} sent ${error.what} larger than ${error.limitBytes} bytes over ${transportName(transport)}; the control plane reads at most that (${error.flag}), so make the server answer less or raise the limit.`,
    wrongTransport: false,
  };
}

export function classifyFailure(error: unknown, ctx: FailureContext): ClassifiedFailure {
  const { url, transport, observed, secrets } = ctx;
  // Refused before connecting, so it is never a timeout; the SSE transport flattens errors, the fetch saw it whole.
  const denied = egressDenial(error) ?? egressDenial(observed.networkError);
  if (denied) {
    return {
      reason: 'EgressDenied',
      message: `The control plane may not connect for ${safeUrl(url)}: ${describeEgressDenial(denied)}.`,
      wrongTransport: false,
    };
  }
  // A body cut at its cap fails whatever the SDK made of the cut (a parse error, a dead stream, a timeout).
  const tooLarge = observed.tooLarge ?? responseTooLarge(error);
  if (tooLarge) return tooLargeFailure(url, transport, tooLarge);
  const tooMany = errorChain(error).find((e): e is TooManyToolsError => e instanceof TooManyToolsError);
  if (tooMany) {
    return {
      reason: 'ResponseTooLarge',
      message: `MCP server at ${safeUrl(url)} lists more than ${tooMany.limit} tools; the control plane keeps at most ${tooMany.limit} per server, so split the server.`,
      wrongTransport: false,
    };
  }
  if (ctx.timedOut) return timeoutFailure(url, ctx.timeoutMs);

  // Structured codes first; then an HTTP status the transport reported (its text may be a body that
  // mentions anything); then what the fetch itself saw; then the text of flattened errors.
  const status = httpStatusOf(error);
  const isJsonRpcError = error instanceof McpError && error.code !== -32000;
  const net =
    networkKindByCode(error) ??
    (status !== undefined || isJsonRpcError
      ? undefined
      : (networkKindByCode(ctx.observed.networkError) ?? networkKindByText(error)));
  if (net?.kind === 'tls') {
    if (net.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return {
        reason: 'TLSError',
        message: `The TLS certificate of ${hostPort(url)} is not valid for host "${url.hostname}" (${net.code}); use a URL whose host the certificate names, or set tls_settings.reject_unauthorized: false only if you accept an unverified connection.`,
        wrongTransport: false,
      };
    }
    if (net.code.startsWith('ERR_SSL_') || net.code === 'EPROTO') {
      return {
        reason: 'TLSError',
        message: `The TLS handshake with ${hostPort(url)} failed (${net.code}); check that the server speaks HTTPS on this port, or use an http:// URL if it does not.`,
        wrongTransport: false,
      };
    }
    return {
      reason: 'TLSError',
      message: `The TLS certificate of ${hostPort(url)} could not be verified (${net.code}); set tls_settings.ca_cert to the CA that signed it, or, only if you accept an unverified connection, tls_settings.reject_unauthorized: false.`,
      wrongTransport: false,
    };
  }
  if (net?.kind === 'bad-port') {
    return {
      reason: 'Unreachable',
      message: `Port ${hostPort(url).split(':').pop()} is on the Fetch standard's list of blocked ports, so ${hostPort(url)} cannot be reached over HTTP; serve the MCP server on another port.`,
      wrongTransport: false,
    };
  }
  if (net?.kind === 'unreachable') {
    return {
      reason: 'Unreachable',
      message: `Cannot reach the MCP server at ${hostPort(url)} (${net.code}); check the URL and that the server is running.`,
      wrongTransport: false,
    };
  }

  if (status === 401 || status === 403) {
    const seen = [...observed.failedResponses].reverse().find((r) => r.status === status && r.wwwAuthenticate);
    const asked = seen?.wwwAuthenticate ? sanitize(seen.wwwAuthenticate, secrets, 200) : undefined;
    const challenge = asked ? ` (WWW-Authenticate: ${asked})` : '';
    return {
      reason: 'AuthenticationRequired',
      message: `MCP server at ${hostPort(url)} answered HTTP ${status}${challenge}; configure auth_data with credentials the server accepts.`,
      httpStatus: status,
      ...(asked ? { challenge: asked } : {}),
      wrongTransport: false,
    };
  }
  if (status !== undefined) {
    const wrong = status >= 400 && status < 500;
    const advice = status >= 500 ? "the server failed; check its health and logs" : 'check that the URL points at the MCP endpoint';
    return {
      reason: 'ProtocolError',
      message: `MCP server at ${safeUrl(url)} answered HTTP ${status} over ${transportName(transport)}; ${advice}.`,
      httpStatus: status,
      wrongTransport: wrong,
    };
  }

  const detail = detailOf(error, secrets);
  // EventSource got a 200 that is not an event stream: this URL does not serve HTTP+SSE.
  const wrongTransport = transport === 'sse' && /content type|event-stream/i.test(detail);
  return {
    reason: 'ProtocolError',
    message: `MCP server at ${safeUrl(url)} did not complete discovery over ${transportName(transport)} (${detail}); check that the URL points at an MCP endpoint.`,
    wrongTransport,
  };
}
