// The client side of Streamable HTTP for one upstream session that is already initialized, on the
// server's own undici dispatcher (its TLS, proxy and egress checks). It keeps the SDK client
// transport's behaviour where the gateway depends on it (the same errors: StreamableHTTPError with the
// HTTP status, "Maximum reconnection attempts"; the GET stream opened after notifications/initialized
// and re-opened with backoff; redirects followed within the origin; DELETE to end the session) but
// not its cost: the SDK goes through fetch, so every message is a web Request, a chunked body and a
// web stream read twice over (text decoding, then event parsing). Here a message is one write on the
// dispatcher's own handler API (no promise, stream or abort signal per request, as undici's request()
// would make), and an answer's bytes go straight to the envelope scan (and on to the client as they
// arrive, for a large one: answer-pipe.ts), a JSON.parse or the event stream parser. POSTs to a plain
// http: upstream (no proxy) go on a dispatcher that reads into one reused buffer per socket
// (reused-read-dispatcher.ts); whatever dispatcher carried them, a body chunk is valid only during the
// sink's data() call (BodySink below), and Exchange holds every sink to that.
import type { IncomingHttpHeaders } from 'node:http';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import type { RequestDispatcher } from '../../upstream/reused-read-dispatcher.js';
import { excerpt, secretsOf } from '../../upstream/redaction.js';
import { DEFAULT_UPSTREAM_LIMITS, ResponseTooLargeError } from '../../upstream/response-limits.js';
import { SseEventTooLargeError, SseParser } from '../../domain/sse-parser.js';
import { mediaType } from '../../domain/media-type.js';
import { EnvelopeScanner, Utf8Check } from './answer-envelope.js';
import { STREAM_ANSWER_FROM_BYTES, type AnswerPipe, type AnswerPipeOpener } from './answer-pipe.js';
import { answerFromBytes, decodeUtf8, isMessage, parsedFrom } from './json-rpc.js';

export interface ReconnectionOptions {
  initialReconnectionDelay: number;
  maxReconnectionDelay: number;
  reconnectionDelayGrowFactor: number;
  maxRetries: number;
}

export interface HttpUpstreamOptions {
  url: URL;
  /** Sent with every request (the entry's resolved headers); setHeaders replaces them. */
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  /** Where POSTs to an http: URL go (the reused-read dispatcher), when set; everything else goes on `dispatcher`. */
  postDispatcher?: RequestDispatcher;
  /** Of the session the initialize handshake opened. */
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  reconnection: ReconnectionOptions;
  /** The largest answer or event read (--upstream-max-message-bytes); past it the request it belongs to fails. */
  maxMessageBytes?: number;
}

/** What onmessage learns beside a message: the request whose POST stream carried it, if one did. */
export interface UpstreamMessageExtra extends MessageExtraInfo {
  relatedRequestId?: RequestId;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * What to do with the body of an answer, decided from its head. A chunk is valid only during data(): it may
 * be a view of a socket's read buffer, read into again afterwards. Exchange hands a sink a copy, unless the
 * sink `borrows` (it copies what it keeps, and pauses `flow` while anything it handed on still holds the view).
 */
interface BodySink {
  /** May throw (a body past its cap): the exchange is then aborted and error() gets what was thrown. `flow` pauses and resumes the body. */
  data(chunk: Buffer, flow: Dispatcher.DispatchController): void;
  /** data() keeps nothing of its chunk past the call, nor lets anything hold it unpaused: it gets the chunk itself. */
  borrows?: boolean;
  end(): void;
  /** The connection failed, or the transport closed, before the body ended. */
  error(error: Error): void;
}

/** Reads an answer's head: its status and headers; answers what to do with its body. */
type HeadReader = (status: number, headers: IncomingHttpHeaders) => BodySink;

const NOTHING = (): void => undefined;

const DROP: BodySink = { data: () => undefined, borrows: true, end: () => undefined, error: () => undefined };

/** The bytes of an error answer kept for its message; the rest is read and dropped. */
const ERROR_BODY_BYTES = 1024;

/** Collects the first `maxBytes` of an error answer's body, for its message; the rest is dropped. */
function collect(onBody: (chunks: Buffer[]) => void, onError: (error: Error) => void, maxBytes: number): BodySink {
  const chunks: Buffer[] = [];
  let total = 0;
  return {
    data: (chunk) => {
      chunk = chunk.subarray(0, maxBytes - total);
      total += chunk.length;
      if (chunk.length > 0) chunks.push(Buffer.from(chunk));
    },
    borrows: true,
    end: () => onBody(chunks),
    error: onError,
  };
}

export class HttpUpstreamTransport implements Transport {
  onmessage?: (message: JSONRPCMessage, extra?: UpstreamMessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  /** Where a large JSON answer goes as it arrives (answer-pipe.ts); unset: every answer is read in full. */
  answerPipe?: AnswerPipeOpener;
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private closed = false;
  /** Exchanges under way, aborted by close(); a redirect is followed as a new exchange. */
  private readonly inFlight = new Exchanges((from, to) => this.exchange(from.method, from.headers, from.body, from.onError, from.onHead, to, from.hop + 1));
  /** The headers of every request, made again only when the session or protocol version changes. */
  private common: Record<string, string> | undefined;
  private postHeaders: Record<string, string> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** The retry field of the upstream's event streams, when it sent one. */
  private serverRetryMs: number | undefined;
  private readonly maxMessageBytes: number;
  /** The origin and path of options.url, as dispatch takes them (made once: URL's getters make new strings each time). */
  private readonly target: { origin: string; path: string };

  constructor(private readonly options: HttpUpstreamOptions) {
    this.target = dispatchTarget(options.url);
    this.session = options.sessionId;
    this.protocolVersion = options.protocolVersion;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_UPSTREAM_LIMITS.maxMessageBytes;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.common = this.postHeaders = undefined;
  }

  /** Replaces the headers of every later request (a renewed caller token). */
  setHeaders(headers: Record<string, string>): void {
    this.options.headers = headers;
    this.common = this.postHeaders = undefined;
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => this.post(message, resolve, reject));
  }

  /**
   * As send(), without a promise (the relay of every client request goes through here): `onFailed` hears
   * what send()'s promise would reject with.
   */
  relay(message: JSONRPCMessage, onFailed: (error: Error) => void): void {
    this.post(message, NOTHING, onFailed);
  }

  /** POSTs `message`: `resolve` once it is delivered (a request's answer comes by onmessage), else `reject`. */
  private post(message: JSONRPCMessage, resolve: () => void, reject: (error: Error) => void): void {
    const fail = (error: Error) => {
      this.onerror?.(error);
      reject(error);
    };
    const isRequest = 'method' in message && 'id' in message;
    // An answer past the cap fails this request alone, with a JSON-RPC error in place of the answer.
    const failAnswer = (error: Error) => {
      if (!(isRequest && error instanceof ResponseTooLargeError)) return fail(error);
      this.receive(oversizedAnswer(message.id, error));
      resolve();
    };
    this.postHeaders ??= { ...this.commonHeaders(), 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.exchange('POST', this.postHeaders, JSON.stringify(message), fail, (status, headers) => {
      const sessionId = headers['mcp-session-id'];
      if (typeof sessionId === 'string' && sessionId !== '' && sessionId !== this.session) {
        this.session = sessionId;
        this.common = this.postHeaders = undefined;
      }
      if (status < 200 || status >= 300) {
        // The body is the upstream's: an excerpt at most (an internal service's JSON must not be echoed), without
        // any header value this request sent (an upstream may quote the credential it refuses).
        return collect((chunks) => fail(new StreamableHTTPError(status, `Error POSTing to endpoint: ${excerpt(decodeUtf8(chunks), secretsOf(this.options.headers)) || `HTTP ${status}`}`)), fail, ERROR_BODY_BYTES);
      }
      if (status === 202 || !isRequest) {
        if (status === 202 && 'method' in message && message.method === 'notifications/initialized') {
          this.openStream(undefined).catch(() => undefined);
        }
        resolve();
        return DROP;
      }
      const type = mediaType(headers['content-type']);
      if (type === 'text/event-stream') {
        resolve();
        return this.eventStream(false, isRequest ? message.id : undefined);
      }
      if (type !== 'application/json') {
        fail(new StreamableHTTPError(-1, `Unexpected content type: ${String(headers['content-type'])}`));
        return DROP;
      }
      return this.jsonAnswer(message.id, contentLength(headers['content-length']), resolve, failAnswer);
    });
  }

  /**
   * The JSON answer to request `id`: checked as its chunks arrive (answer-envelope.ts) and relayed as the
   * upstream's own bytes, its result parsed only where the gateway reads it. A declared length past the cap
   * fails at once. An answer that reaches STREAM_ANSWER_FROM_BYTES still checking (and has more to come)
   * goes on to the client as it arrives, when `answerPipe` gives it a way (answer-pipe.ts), under the same
   * cap and checks; otherwise it is read in full, and what the scan does not vouch for is parsed the usual way.
   */
  private jsonAnswer(id: RequestId, declared: number | undefined, resolve: () => void, fail: (error: Error) => void): BodySink {
    const scanner = new EnvelopeScanner();
    const utf8 = new Utf8Check();
    let checking = true;
    let chunks: Buffer[] = [];
    let total = 0;
    let pipe: AnswerPipe | undefined;
    /** The last byte given to the pipe (a copy): written with the next chunk, or once the check is done. */
    let held: Buffer | undefined;
    /** The client closed its connection while the answer was passed on: the rest of it is not read. */
    let clientGone = false;
    const check = (chunk: Buffer) => (checking &&= scanner.push(chunk) && utf8.push(chunk));
    const verdict = () => (checking && utf8.end() ? scanner.end() : undefined);
    /**
     * Writes `given` (nonempty chunks; views, maybe lent) on in one write, but for the last byte, which is
     * held back: reads wait while the client holds them.
     */
    const toPipe = (given: readonly Buffer[], flow: Dispatcher.DispatchController) => {
      const out: Buffer[] = held ? [held] : [];
      const last = given[given.length - 1]!;
      for (let i = 0; i < given.length - 1; i++) out.push(given[i]!);
      if (last.length > 1) out.push(last.subarray(0, last.length - 1));
      held = Buffer.from(last.subarray(last.length - 1));
      if (out.length > 0 && !pipe!.write(out, () => flow.resume())) flow.pause();
    };
    return {
      borrows: true,
      data: (chunk, flow) => {
        if ((declared ?? total + chunk.length) > this.maxMessageBytes || total + chunk.length > this.maxMessageBytes) throw new ResponseTooLargeError(this.maxMessageBytes, 'message');
        total += chunk.length;
        if (chunk.length === 0) return;
        check(chunk);
        if (pipe) {
          if (!checking) throw new Error(NOT_THE_ANSWER);
          return toPipe([chunk], flow);
        }
        chunks.push(Buffer.from(chunk));
        if (!checking || total < STREAM_ANSWER_FROM_BYTES || total === declared) return;
        pipe = this.answerPipe?.(id, declared);
        if (!pipe) return;
        pipe.onClose(() => {
          clientGone = true;
          flow.abort(new Error('the client closed its connection'));
        });
        toPipe(chunks, flow);
        chunks = [];
      },
      end: () => {
        if (pipe) {
          const envelope = verdict();
          if (envelope && envelope.id === id) {
            if (held) pipe.write([held], NOTHING);
            pipe.end(envelope);
          } else pipe.abort(NOT_THE_ANSWER);
          held = undefined;
          return resolve();
        }
        // Not into undici: a throw here (a bad body, a failing handler downstream) fails the one request.
        try {
          const envelope = verdict();
          // The answer to this request, as scanned on its bytes: relayed as it came, parsed only if read.
          if (envelope && envelope.id === id) this.onmessage?.(answerFromBytes(envelope, chunks));
          else {
            const text = chunks.length === 0 ? '' : decodeUtf8(chunks);
            const data = parseJson(text);
            if (Array.isArray(data)) for (const item of data) this.receive(item);
            else {
              parsedFrom(data, text, chunks);
              this.receive(data);
            }
          }
          resolve();
        } catch (error) {
          fail(error as Error);
        }
      },
      error: (error) => {
        if (!pipe) return fail(error);
        held = undefined;
        if (clientGone) return resolve();
        if (error instanceof ResponseTooLargeError) {
          const { message, data } = oversizedAnswer(id, error).error;
          pipe.abort(message, data);
        } else pipe.abort(error.message === NOT_THE_ANSWER ? NOT_THE_ANSWER : `The upstream MCP server's answer broke off (${error.message}).`);
        resolve();
      },
    };
  }

  /** Ends the upstream session (DELETE); a server that does not support it answers 405. */
  terminateSession(): Promise<void> {
    if (!this.session) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.onerror?.(error);
        reject(error);
      };
      this.exchange('DELETE', this.commonHeaders(), undefined, fail, (status) => ({
        ...DROP,
        end: () => {
          if ((status < 200 || status >= 300) && status !== 405) return fail(new StreamableHTTPError(status, `Failed to terminate session: HTTP ${status}`));
          this.session = undefined;
          this.common = this.postHeaders = undefined;
          resolve();
        },
        error: fail,
      }));
    });
  }

  async close(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.closed = true;
    const aborted = new Error('This operation was aborted');
    aborted.name = 'AbortError';
    for (const controller of this.inFlight.controllers()) controller.abort(aborted);
    this.onclose?.();
  }

  private commonHeaders(): Record<string, string> {
    if (this.common) return this.common;
    const headers: Record<string, string> = {};
    if (this.session) headers['mcp-session-id'] = this.session;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    this.common = { ...headers, ...this.options.headers };
    return this.common;
  }

  /** The GET stream of messages the upstream sends on its own; 405: the upstream has none. */
  private openStream(lastEventId: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.onerror?.(error);
        reject(error);
      };
      const headers: Record<string, string> = { ...this.commonHeaders(), accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      this.exchange('GET', headers, undefined, fail, (status) => {
        if (status === 405) {
          resolve();
          return DROP;
        }
        if (status < 200 || status >= 300) {
          fail(new StreamableHTTPError(status, `Failed to open SSE stream: HTTP ${status}`));
          return DROP;
        }
        resolve();
        return this.eventStream(true);
      });
    });
  }

  /**
   * Hands out each message of an event stream. When it ends before an answer came, it is resumed
   * (the GET stream always; a POST's only when its events had ids), as the SDK does. An event past the
   * cap ends the stream; a POST's request (`requestId`) is then answered with a JSON-RPC error.
   */
  private eventStream(reconnectable: boolean, requestId?: string | number): BodySink {
    let answered = false;
    const parser = new SseParser({
      onEvent: (event) => {
        // An event without data is a priming event (a cursor to resume by), not a message.
        if ((event.event !== undefined && event.event !== 'message') || event.data === '') return;
        let message: unknown;
        try {
          message = parseJson(event.data);
          parsedFrom(message, event.data);
        } catch (error) {
          return this.onerror?.(error as Error);
        }
        if (isMessage(message) && ('result' in message || 'error' in message)) answered = true;
        this.receive(message, requestId);
      },
      onRetry: (ms) => (this.serverRetryMs = ms),
      maxEventBytes: this.maxMessageBytes,
    });
    let lastEventId: string | undefined;
    const ended = (error?: Error) => {
      if (error instanceof ResponseTooLargeError && requestId !== undefined && !answered && !this.closed) {
        answered = true;
        return this.receive(oversizedAnswer(requestId, error));
      }
      if (error && !this.closed) this.onerror?.(new Error(`SSE stream disconnected: ${error.message}`));
      if (answered || this.closed) return;
      if (reconnectable || lastEventId !== undefined) return this.reconnect(lastEventId, 0);
      // A POST's stream that ended unanswered and cannot be resumed: its request fails now, not never.
      if (requestId !== undefined) this.receive(unansweredAnswer(requestId, error));
    };
    return {
      data: (chunk) => {
        try {
          parser.push(chunk);
        } catch (error) {
          if (error instanceof SseEventTooLargeError) throw new ResponseTooLargeError(error.limitBytes, 'event');
          throw error;
        } finally {
          lastEventId = parser.lastEventId;
        }
      },
      end: () => ended(),
      error: ended,
    };
  }

  private reconnect(lastEventId: string | undefined, attempt: number): void {
    const { maxRetries, initialReconnectionDelay, reconnectionDelayGrowFactor, maxReconnectionDelay } = this.options.reconnection;
    if (attempt >= maxRetries) {
      this.onerror?.(new Error(`Maximum reconnection attempts (${maxRetries}) exceeded.`));
      return;
    }
    const delay = this.serverRetryMs ?? Math.min(initialReconnectionDelay * reconnectionDelayGrowFactor ** attempt, maxReconnectionDelay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.openStream(lastEventId).catch((error: unknown) => {
        this.onerror?.(new Error(`Failed to reconnect SSE stream: ${error instanceof Error ? error.message : String(error)}`));
        this.reconnect(lastEventId, attempt + 1);
      });
    }, delay);
  }

  /** `relatedRequestId`: the request whose POST stream carried the message. */
  private receive(message: unknown, relatedRequestId?: RequestId): void {
    if (isMessage(message)) this.onmessage?.(message, relatedRequestId === undefined ? undefined : ({ relatedRequestId } satisfies UpstreamMessageExtra));
    // Not quoted: it may be an internal service's body.
    else this.onerror?.(new Error('The upstream sent something that is not a JSON-RPC message.'));
  }

  /**
   * One request, following redirects within the origin (the method and body kept), as the SDK does.
   * `onHead` reads the final answer's head; `onError` hears of a failure before it (no connection, a
   * closed transport), the body's sink of one after it.
   */
  private exchange(
    method: 'GET' | 'POST' | 'DELETE',
    headers: Record<string, string>,
    body: string | undefined,
    onError: (error: Error) => void,
    onHead: HeadReader,
    url: URL = this.options.url,
    hop = 0,
  ): void {
    if (this.closed) {
      const aborted = new Error('This operation was aborted');
      aborted.name = 'AbortError';
      return onError(aborted);
    }
    const handler = new Exchange(this.inFlight, method, headers, body, onError, onHead, url, hop);
    const { origin, path } = url === this.options.url ? this.target : dispatchTarget(url);
    const dispatcher = method === 'POST' && this.options.postDispatcher && url.protocol === 'http:' ? this.options.postDispatcher : this.options.dispatcher;
    dispatcher.dispatch(body === undefined ? { origin, path, method, headers } : { origin, path, method, headers, body }, handler);
  }
}

/**
 * One request on the dispatcher and the answer to it, as undici's handler: one object per request, not a
 * closure per callback. While under way it is in its transport's list of exchanges (Exchanges).
 */
class Exchange implements Dispatcher.DispatchHandler {
  prev: Exchange | undefined;
  next: Exchange | undefined;
  listed = false;
  controller: Dispatcher.DispatchController | undefined;
  private sink: BodySink | undefined;
  private redirect: URL | undefined;

  constructor(
    private readonly list: Exchanges,
    readonly method: 'GET' | 'POST' | 'DELETE',
    readonly headers: Record<string, string>,
    readonly body: string | undefined,
    /** Hears of a failure before the answer's head (no connection, a closed transport); the body's sink of one after it. */
    readonly onError: (error: Error) => void,
    /** Reads the final answer's head. */
    readonly onHead: HeadReader,
    readonly url: URL,
    readonly hop: number,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.list.add(this);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.redirect = this.hop < MAX_REDIRECTS ? redirectTarget(status, headers.location, this.url, this.method) : undefined;
    this.sink = this.redirect ? DROP : this.onHead(status, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      const sink = this.sink!;
      sink.data(sink.borrows ? chunk : Buffer.from(chunk), controller);
    } catch (error) {
      // Past a cap: nothing more is read; the sink hears why, and the abort's own error goes nowhere.
      const failed = this.sink!;
      this.sink = DROP;
      this.list.remove(this);
      controller.abort(error as Error);
      failed.error(error as Error);
    }
  }

  onResponseEnd(): void {
    this.list.remove(this);
    if (this.redirect) this.list.follow(this, this.redirect);
    else this.sink!.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.list.remove(this);
    if (this.sink) this.sink.error(error);
    else this.onError(error);
  }
}

/**
 * The exchanges of a transport under way, as a list threaded through them: joining and leaving it allocates
 * nothing (a Set that empties after every call makes itself a new table each time).
 */
class Exchanges {
  private head: Exchange | undefined;

  constructor(
    /** Follows a redirect: a new exchange of the same request to `to`. */
    readonly follow: (from: Exchange, to: URL) => void,
  ) {}

  add(exchange: Exchange): void {
    if (exchange.listed) return;
    exchange.listed = true;
    exchange.prev = undefined;
    exchange.next = this.head;
    if (this.head) this.head.prev = exchange;
    this.head = exchange;
  }

  remove(exchange: Exchange): void {
    if (!exchange.listed) return;
    exchange.listed = false;
    if (exchange.prev) exchange.prev.next = exchange.next;
    else this.head = exchange.next;
    if (exchange.next) exchange.next.prev = exchange.prev;
    exchange.prev = exchange.next = undefined;
  }

  /** The controllers of the exchanges under way, taken at once (aborting one takes it off the list). */
  controllers(): Dispatcher.DispatchController[] {
    const out: Dispatcher.DispatchController[] = [];
    for (let e = this.head; e; e = e.next) if (e.controller) out.push(e.controller);
    return out;
  }
}

function dispatchTarget(url: URL): { origin: string; path: string } {
  return { origin: url.origin, path: `${url.pathname}${url.search}` };
}

const NOT_THE_ANSWER = 'The upstream MCP server sent something that is not the JSON-RPC answer to this request.';

/** A Content-Length header's value, when it is one. */
function contentLength(value: string | string[] | undefined): number | undefined {
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** JSON.parse, whose error names the problem without quoting the upstream's text. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('The upstream sent something that is not JSON.');
  }
}

/** The answer to `id` that an answer or event past the cap stands in for. */
function oversizedAnswer(id: string | number, error: ResponseTooLargeError): JSONRPCMessage & { error: { message: string; data: Record<string, unknown> } } {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: -32603,
      message: `The upstream MCP server sent ${error.what} larger than ${error.limitBytes} bytes; the gateway relays at most that (${error.flag}).`,
      data: { reason: 'ResponseTooLarge', limitBytes: error.limitBytes },
    },
  };
}

/** The answer to `id` whose event stream ended without one and without event ids to resume it by. */
function unansweredAnswer(id: RequestId, error: Error | undefined): JSONRPCMessage {
  const why = error ? ` (${error.message})` : '';
  return {
    jsonrpc: '2.0',
    id,
    error: { code: -32000, message: `The upstream MCP server closed the stream of this request before answering it${why}; send the request again.` },
  };
}

function redirectTarget(status: number, location: string | string[] | undefined, from: URL, method: string): URL | undefined {
  if (!REDIRECT_STATUSES.has(status) || typeof location !== 'string') return undefined;
  if (!(status === 307 || status === 308 || method === 'GET')) return undefined;
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return undefined;
  }
  if ((target.username || target.password) && (target.username !== from.username || target.password !== from.password)) return undefined;
  const sameOrigin = target.protocol === from.protocol && target.hostname === from.hostname && target.port === from.port;
  const upgrade = target.hostname === from.hostname && from.protocol === 'http:' && from.port === '' && target.protocol === 'https:' && target.port === '';
  return sameOrigin || upgrade ? target : undefined;
}
