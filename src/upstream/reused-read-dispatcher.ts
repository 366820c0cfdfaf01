// The data plane's upstream POSTs over plain http: HTTP/1.1 on keep-alive sockets that read into a
// reused buffer (net's `onread`), parsed in place (http1-response-parser.ts hands body slices of that
// buffer). undici reads a socket with socket.read(), a new 64 KiB buffer per read, and a large answer
// (megabytes) left that many buffers for the data-plane thread's collector to find; here a read allocates
// nothing. A socket borrows its 64 KiB buffer from the process's pool (read-buffer-pool.ts) while a
// request is on it; idle, it reads into 1 KiB of its own.
//
// Contract (what callers rely on; it speaks undici's Dispatcher handler API, so HttpUpstreamTransport's
// Exchange is the same object either way):
// - A chunk given to onResponseData is a view of the socket's read buffer, valid only during that call:
//   whoever keeps bytes copies them. Nothing is read into the buffer again until the handler's controller
//   is resumed, so a consumer that handed the view to a write which did not go out at once pauses, and
//   resumes once that write let go of it. Body bytes that arrive in the same read after a pause are
//   copied and handed on at resume.
// - Every new connection passes the egress policy (egressConnector: the address it resolves to, or the IP
//   literal, is checked), with undici's own connector and its connect timeout, TCP keep-alive and no-delay.
// - Per origin at most `connections` sockets, busy and idle; requests past it wait in order. An idle
//   socket closes after `idleMs` (or the server's Keep-Alive timeout less 2 s, as undici does), so the
//   server's own idle timeout does not meet a request on its way; a socket the server closed while idle is
//   dropped, and a request never goes out on a socket already seen ending.
// - A request whose bytes went out is never sent again: when the socket closes before the answer came,
//   the request fails (undici's SocketError "other side closed", or the socket's error), as with undici
//   (a POST may have been processed).
// - The request head as undici writes it (latin1; its checks, error classes and messages for headers:
//   Host replaces the URL's, `Connection: close` keeps the socket from being reused, Content-Length must
//   match the body; Transfer-Encoding, Keep-Alive, Upgrade, Expect refused).
// - Answer framing undici refuses is refused (HTTPParserError) and the socket not reused.
// - As undici: 1xx answers are skipped; headers past `maxHeaderSize` fail with HeadersOverflowError; the
//   answer's head must come within `headersTimeoutMs` (undici's 300 s); `bodyTimeoutMs` 0: no timeout
//   between body chunks (and none while the consumer is paused); abort mid-answer destroys the socket.
// - HTTP/1.1 without pipelining; no TLS (over TLS each record is decrypted into a new buffer anyway: https
//   stays on undici), no proxy.
import type { Socket } from 'node:net';
import { errors, type Dispatcher } from 'undici';
import { DEFAULT_EGRESS_POLICY, egressConnector, type EgressPolicy } from './egress.js';
import { ResponseParser, type ResponseEvents } from './http1-response-parser.js';
import { BAD_VALUE_CHAR, CONNECTIONS_PER_ORIGIN, KEEP_ALIVE_IDLE_MS, TOKEN } from './http1-grammar.js';
import { IDLE_READ_BYTES, readBuffers } from './read-buffer-pool.js';

export interface ReusedReadDispatcherOptions {
  egress?: EgressPolicy;
  /** The longest silence between two chunks of an answer's body, ms; 0 (the default): none. */
  bodyTimeoutMs?: number;
  /** From sending a request to its answer's head, ms. Default undici's (300 s). */
  headersTimeoutMs?: number;
  /** Idle keep-alive sockets close after this, ms. Default 4 s (below Node's HTTP server's 5 s). */
  idleMs?: number;
  /** Sockets per origin, busy and idle. Default 64. */
  connections?: number;
  /** The largest answer head, bytes. Default Node's (16 KiB), as undici. */
  maxHeaderSize?: number;
}

/** The part of undici's Dispatcher the data plane's transport uses. */
export interface RequestDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

const DEFAULTS = { bodyTimeoutMs: 0, headersTimeoutMs: 300_000, idleMs: KEEP_ALIVE_IDLE_MS, connections: CONNECTIONS_PER_ORIGIN, maxHeaderSize: 16 * 1024 };
/** As undici: a server's Keep-Alive timeout is believed less this, and a socket is kept at most KEEP_ALIVE_MAX_MS. */
const KEEP_ALIVE_THRESHOLD_MS = 2000;
const KEEP_ALIVE_MAX_MS = 600_000;


export class ReusedReadDispatcher implements RequestDispatcher {
  private readonly limits: typeof DEFAULTS;
  private readonly policy: EgressPolicy;
  private readonly origins = new Map<string, Origin>();
  private destroyed = false;

  constructor(options: ReusedReadDispatcherOptions = {}) {
    const { egress, ...rest } = options;
    this.limits = { ...DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    this.policy = egress ?? DEFAULT_EGRESS_POLICY;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const request = new Request(handler);
    handler.onRequestStart?.(request, {});
    if (request.aborted) return true;
    let head: ReturnType<typeof requestHead>;
    let origin: Origin;
    try {
      if (this.destroyed) throw new errors.ClientDestroyedError();
      const url = new URL(String(options.origin));
      if (url.protocol !== 'http:') throw new errors.InvalidArgumentError(`only http: origins, not ${url.protocol}`);
      head = requestHead(options, url.host);
      origin = this.originOf(url);
    } catch (error) {
      request.fail(error as Error);
      return true;
    }
    request.head = head.head;
    request.body = head.body;
    request.close = head.close;
    request.ascii = head.ascii;
    request.method = options.method;
    origin.enqueue(request);
    return true;
  }

  /** Destroys every socket; requests under way or waiting fail. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const origin of this.origins.values()) origin.destroy();
    this.origins.clear();
  }

  close(): Promise<void> {
    return this.destroy();
  }

  /** Sockets open or opening (busy or idle), over all origins. */
  openSockets(): number {
    let n = 0;
    for (const origin of this.origins.values()) n += origin.sockets;
    return n;
  }

  private originOf(url: URL): Origin {
    let origin = this.origins.get(url.origin);
    if (!origin) {
      origin = new Origin(url, this.policy, this.limits, () => this.origins.delete(url.origin));
      this.origins.set(url.origin, origin);
    }
    return origin;
  }
}

/** A headers object as undici reads it: its lines, and the headers the dispatcher writes itself. */
interface RequestHeaders {
  lines: string;
  host: string | undefined;
  contentLength: number | undefined;
  /** `Connection: close`: the socket is not reused after this request. */
  close: boolean;
  /** Every line is ASCII: the head and a UTF-8 body go out as one string. */
  ascii: boolean;
}

/** Each headers object checked once (the transport makes a new object when its headers change; it never edits one it sent). */
const requestHeadersOf = new WeakMap<object, RequestHeaders>();

/** The request's head (latin1) and body as undici writes them: host first, then connection, the headers, the body's length. */
function requestHead(options: Dispatcher.DispatchOptions, urlHost: string): { head: string; body: string | undefined; close: boolean; ascii: boolean } {
  const method = options.method;
  if (!TOKEN.test(method)) throw new errors.InvalidArgumentError('invalid request method');
  const path = options.path;
  if (typeof path !== 'string' || path[0] !== '/' || /[^\x21-\xff]/.test(path)) throw new errors.InvalidArgumentError('invalid request path');
  const given = (options.headers ?? {}) as Record<string, unknown>;
  let headers = requestHeadersOf.get(given);
  if (headers === undefined) requestHeadersOf.set(given, (headers = requestHeaders(given)));
  const body = options.body ?? undefined;
  if (body !== undefined && typeof body !== 'string') throw new errors.InvalidArgumentError('the body must be a string');
  const length = body === undefined ? 0 : Buffer.byteLength(body);
  // As undici: a Content-Length header must match a body that has bytes.
  if (length > 0 && headers.contentLength !== undefined && headers.contentLength !== length) throw new errors.RequestContentLengthMismatchError();
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${headers.host ?? urlHost}\r\nconnection: ${headers.close ? 'close' : 'keep-alive'}\r\n${headers.lines}`;
  const sized = length > 0 || EXPECTS_PAYLOAD.has(method);
  head += sized ? `content-length: ${length}\r\n\r\n` : '\r\n';
  return { head, body: length > 0 ? body : undefined, close: headers.close, ascii: headers.ascii && /^[\x00-\x7f]*$/.test(path) };
}

/** The methods undici sends `content-length: 0` for when there is no body. */
const EXPECTS_PAYLOAD = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/** undici's checks of request headers (core/request.js processHeader), with its error classes and messages. */
function requestHeaders(given: Record<string, unknown>): RequestHeaders {
  const out: RequestHeaders = { lines: '', host: undefined, contentLength: undefined, close: false, ascii: true };
  for (const name of Object.keys(given)) {
    let value = given[name];
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) throw new errors.InvalidArgumentError(`invalid ${name} header`);
    const lower = name.toLowerCase();
    if (!TOKEN.test(lower)) throw new errors.InvalidArgumentError('invalid header key');
    if (Array.isArray(value)) {
      value = value.map((v) => {
        const text = typeof v === 'string' ? v : v === null ? '' : `${v}`;
        if (BAD_VALUE_CHAR.test(text)) throw new errors.InvalidArgumentError(`invalid ${name} header`);
        return text;
      });
    } else {
      value = value === null ? '' : `${value}`;
      if (BAD_VALUE_CHAR.test(value as string)) throw new errors.InvalidArgumentError(`invalid ${name} header`);
    }
    if (lower === 'host') {
      if (out.host !== undefined) throw new errors.InvalidArgumentError('duplicate host header');
      if (typeof value !== 'string') throw new errors.InvalidArgumentError('invalid host header');
      out.host = value;
    } else if (lower === 'content-length') {
      if (out.contentLength !== undefined) throw new errors.InvalidArgumentError('duplicate content-length header');
      if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new errors.InvalidArgumentError('invalid content-length header');
      out.contentLength = parseInt(value, 10);
    } else if (lower === 'transfer-encoding' || lower === 'keep-alive' || lower === 'upgrade') {
      throw new errors.InvalidArgumentError(`invalid ${lower} header`);
    } else if (lower === 'connection') {
      if (typeof value !== 'string') throw new errors.InvalidArgumentError('invalid connection header');
      for (const token of value.toLowerCase().split(',')) {
        const trimmed = token.trim();
        if (!TOKEN.test(trimmed)) throw new errors.InvalidArgumentError('invalid connection header');
        if (trimmed === 'close') out.close = true;
      }
    } else if (lower === 'expect') {
      throw new errors.NotSupportedError('expect header not supported');
    } else {
      for (const v of Array.isArray(value) ? (value as string[]) : [value as string]) out.lines += `${name}: ${v}\r\n`;
    }
  }
  out.ascii = /^[\x00-\x7f]*$/.test(out.lines) && (out.host === undefined || /^[\x00-\x7f]*$/.test(out.host));
  return out;
}

/** One request: its handler, and the controller the handler pauses, resumes and aborts it by. */
class Request implements Dispatcher.DispatchController {
  /** The request line and headers, latin1. */
  head = '';
  body: string | undefined;
  /** The request said `Connection: close`: its socket is not reused. */
  close = false;
  /** The head is ASCII: head and body go out as one UTF-8 string. */
  ascii = true;
  method = '';
  aborted = false;
  paused = false;
  reason: Error | null = null;
  connection: Connection | undefined;
  /** Queued in its origin, not on a socket yet. */
  waiting: Origin | undefined;
  /** Copies of body bytes read after a pause (in the same read), handed on at resume. */
  pending: Buffer[] | undefined;
  /** The answer ended while paused or with bytes pending: onResponseEnd comes at resume. */
  endPending = false;
  private done = false;

  constructor(readonly handler: Dispatcher.DispatchHandler) {}

  pause(): void {
    if (this.done) return;
    this.paused = true;
    this.connection?.paused();
  }

  resume(): void {
    if (!this.paused || this.done) return;
    this.paused = false;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      for (let i = 0; i < pending.length; i++) {
        if (this.done) return;
        this.handler.onResponseData?.(this, pending[i]!);
        if (this.paused) {
          // Paused again: the rest waits for the next resume.
          if (i + 1 < pending.length) this.pending = pending.slice(i + 1);
          return;
        }
      }
    }
    if (this.done) return;
    if (this.endPending) return this.connection?.finish(this);
    this.connection?.resumed();
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    this.reason = reason;
    this.waiting?.unqueue(this);
    const connection = this.connection;
    connection?.broken(this);
    this.fail(reason);
  }

  /** Hands on a body chunk, or a copy of it for later when paused. */
  data(chunk: Buffer): void {
    if (this.done) return;
    if (this.paused || this.pending) (this.pending ??= []).push(Buffer.from(chunk));
    else this.handler.onResponseData?.(this, chunk);
  }

  /** The answer ended: onResponseEnd now, or once resumed and every pending byte was handed on. */
  ended(): boolean {
    if (this.paused || this.pending) {
      this.endPending = true;
      return false;
    }
    this.complete();
    return true;
  }

  complete(): void {
    if (this.done) return;
    this.done = true;
    this.connection = undefined;
    this.handler.onResponseEnd?.(this, {});
  }

  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.connection = undefined;
    this.waiting = undefined;
    this.pending = undefined;
    this.handler.onResponseError?.(this, error);
  }

  get finished(): boolean {
    return this.done;
  }
}

/** The sockets of one origin and the requests waiting for one. */
class Origin {
  /** Every socket, connecting, busy or idle. */
  readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly queue: Request[] = [];
  private destroyed = false;

  constructor(
    readonly url: URL,
    readonly policy: EgressPolicy,
    readonly limits: typeof DEFAULTS,
    private readonly gone: () => void,
  ) {}

  get sockets(): number {
    return this.all.size;
  }

  enqueue(request: Request): void {
    if (this.destroyed) return request.fail(new errors.ClientDestroyedError());
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.usable()) return c.send(request);
      c.destroy();
    }
    if (this.all.size < this.limits.connections) return this.open(request);
    request.waiting = this;
    this.queue.push(request);
  }

  unqueue(request: Request): void {
    const at = this.queue.indexOf(request);
    if (at !== -1) this.queue.splice(at, 1);
  }

  /** A socket is free again: the next waiting request takes it, else it waits idle for `keepMs`. */
  release(connection: Connection, keepMs: number): void {
    const next = this.queue.shift();
    if (next) {
      next.waiting = undefined;
      return connection.send(next);
    }
    this.idle.push(connection);
    connection.idleFor(keepMs);
  }

  /** A socket closed (or never opened): a waiting request may open another. */
  closed(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const next = this.queue.shift();
    if (next) {
      next.waiting = undefined;
      this.open(next);
    } else if (this.all.size === 0) this.gone();
  }

  destroy(): void {
    this.destroyed = true;
    const destroyed = new errors.ClientDestroyedError();
    for (const request of this.queue.splice(0)) request.fail(destroyed);
    for (const c of [...this.all]) c.destroy(destroyed);
  }

  /** Opens a socket for `request`; the egress policy checks where it goes. */
  private open(request: Request): void {
    const connection = new Connection(this);
    this.all.add(connection);
    const url = this.url;
    // A connector per socket (undici's, behind the egress checks): where each read goes is this socket's choice.
    const onread = { buffer: () => connection.nextBuffer(), callback: (n: number, buffer: Buffer) => connection.read(n, buffer) };
    const connect = egressConnector(this.policy, { onread } as Parameters<typeof egressConnector>[1]);
    request.connection = connection;
    connection.connecting = request;
    connect({ hostname: url.hostname.replace(/^\[|\]$/g, ''), host: url.host, protocol: url.protocol, port: url.port } as Parameters<typeof connect>[0], (error, socket) => {
      if (error || !socket) {
        connection.notConnected();
        request.connection = undefined;
        request.fail(error ?? new errors.SocketError('the connector answered no socket'));
        return this.closed(connection);
      }
      connection.connecting = undefined;
      connection.attach(socket as Socket);
      if (request.finished) return connection.destroy();
      connection.send(request);
    });
  }
}

/** One keep-alive socket, its parser, and the request on it. */
class Connection {
  private socket: Socket | undefined;
  private readonly parser: ResponseParser;
  private request: Request | undefined;
  /** The request this socket is being opened for. */
  connecting: Request | undefined;
  /** Seen ending, failed or destroyed: never used again. */
  private over = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The answer of the moment: its head came; whether its socket may be reused, and for how long. */
  private headSeen = false;
  private reuse = false;
  private keepMs = 0;
  /** The answer ended within the read being parsed (its end is handed on after the parse). */
  private completed = false;
  /** The pool's buffer this socket reads into while a request is on it. */
  private lent: Buffer | undefined;
  /** This socket's own small buffer, read into while idle. */
  private idleBuffer: Buffer | undefined;
  /** The request of the moment or the last one: the one views of this socket's buffers went to. */
  private reader: Request | undefined;
  /** Bytes past the end of an answer, or an answer nobody asked for: the socket is not reused. */
  private protocolError = false;

  constructor(private readonly origin: Origin) {
    this.parser = new ResponseParser(origin.limits.maxHeaderSize, this.answerEvents());
  }

  attach(socket: Socket): void {
    this.socket = socket;
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => this.onClosed(error));
    socket.on('close', () => this.onClosed(undefined));
    socket.on('timeout', () => this.onTimeout());
  }

  usable(): boolean {
    const s = this.socket;
    return !this.over && !!s && !s.destroyed && s.readyState === 'open';
  }

  send(request: Request): void {
    if (!this.usable()) {
      // Seen closing before anything of the request was written: it goes on another socket.
      request.connection = undefined;
      this.destroy();
      return this.origin.enqueue(request);
    }
    const socket = this.socket!;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.request = request;
    this.reader = request;
    request.connection = this;
    this.headSeen = this.completed = false;
    this.parser.start(request.method);
    socket.setTimeout(this.origin.limits.headersTimeoutMs);
    if (request.body === undefined) socket.write(request.head, 'latin1');
    else if (request.ascii) socket.write(request.head + request.body);
    else {
      socket.cork();
      socket.write(request.head, 'latin1');
      socket.write(request.body);
      socket.uncork();
    }
    socket.resume();
  }

  idleFor(ms: number): void {
    this.socket?.setTimeout(0);
    this.socket?.resume();
    this.idleTimer = setTimeout(() => this.destroy(), ms);
    this.idleTimer.unref();
  }

  /** net's onread.buffer, asked at connect and after every read: where the next read goes. */
  nextBuffer(): Buffer {
    if (!this.over && (this.request ?? this.connecting)) return (this.lent ??= readBuffers.lend());
    this.returnLent();
    return (this.idleBuffer ??= Buffer.allocUnsafeSlow(IDLE_READ_BYTES));
  }

  /**
   * The lent buffer goes back to the pool; called only where the socket will not read into it again. A
   * consumer paused on views of it keeps it: until its answer's end is handed on, or for good (forgotten by
   * the pool) when its request failed or was aborted while paused.
   */
  private returnLent(): void {
    const lent = this.lent;
    if (!lent) return;
    const reader = this.reader;
    if (reader?.paused) {
      if (reader.endPending && !reader.aborted && !reader.finished) return;
      this.lent = undefined;
      return readBuffers.forget();
    }
    this.lent = undefined;
    readBuffers.giveBack(lent);
  }

  /** The connector failed: the socket it made (if any) reads nothing more. */
  notConnected(): void {
    this.over = true;
    this.returnLent();
  }

  /** net's onread: `n` bytes in `buffer` (the one nextBuffer() gave); false stops reading until resumed. */
  read(n: number, buffer: Buffer): boolean {
    try {
      return this.parse(n, buffer);
    } catch (error) {
      // A handler's callback threw (outside the parse): that request fails with it, as with undici.
      this.destroy(error as Error);
      return false;
    }
  }

  private parse(n: number, buffer: Buffer): boolean {
    const request = this.request;
    if (!request) {
      // Nothing was asked: an idle socket the server writes to is not trusted again.
      this.destroy();
      return false;
    }
    if (this.parser.done) {
      // Bytes after an answer that waits for its consumer to resume: the socket is not reused.
      this.protocolError = true;
      return false;
    }
    let stopped: number;
    try {
      stopped = this.parser.execute(buffer, 0, n);
    } catch (error) {
      // Framing the parser refuses, or a handler's callback threw: the request fails with it, as with undici.
      this.protocolError = true;
      if (this.completed) this.afterAnswer(request);
      else request.fail(error as Error);
      this.destroy();
      return false;
    }
    // Bytes after the answer's end in the same read are not ours: the socket is not reused.
    if (stopped < n) this.protocolError = true;
    if (this.completed) this.afterAnswer(request);
    if (this.over) return false;
    if (this.request && this.request.paused) {
      this.socket!.pause();
      return false;
    }
    return true;
  }

  /** The request on this socket was paused. */
  paused(): void {
    this.socket?.pause();
  }

  /** The request on this socket resumed (every pending byte handed on): read on. */
  resumed(): void {
    if (!this.socket || this.over) return;
    if (this.headSeen) this.socket.setTimeout(this.origin.limits.bodyTimeoutMs);
    this.socket.resume();
  }

  /** The answer ended while paused and now every byte of it was handed on: its end, then the socket is free. */
  finish(request: Request): void {
    if (this.request !== request) return;
    this.afterAnswer(request);
  }

  /** The request was aborted while on this socket: its answer is not read to the end, so the socket goes. */
  broken(request: Request): void {
    if (this.request === request) this.request = undefined;
    this.destroy();
  }

  /** Closes the socket; the request on it, if any, fails with `error`. */
  destroy(error?: Error): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.over = true;
    const request = this.request ?? this.connecting;
    this.request = undefined;
    if (request && error) request.fail(error);
    // Still connecting: the connect callback destroys the socket when it comes (its request is finished).
    this.socket?.destroy();
    if (this.socket) this.returnLent();
  }

  /** The answer ended: its end is handed on (unless paused: then at resume), and the socket freed or closed. */
  private afterAnswer(request: Request): void {
    this.completed = false;
    if (this.request !== request) return;
    if (!request.ended()) {
      this.socket?.pause();
      return;
    }
    this.request = undefined;
    if (this.reuse && !this.protocolError && this.usable()) this.origin.release(this, this.keepMs);
    else this.destroy();
    if (this.over) this.returnLent();
    request.complete();
  }

  private onEnd(): void {
    const request = this.request;
    // No length and no chunks: the answer ends with the connection.
    if (request && this.headSeen && !this.completed && !request.endPending) {
      this.reuse = false;
      try {
        this.parser.finish();
      } catch (error) {
        // A handler's callback threw.
        this.completed = false;
        request.fail(error as Error);
      }
      if (this.completed) this.afterAnswer(request);
    }
    this.over = true;
    // Not this.destroy(): the request still on it (if any) fails in onClosed, with "other side closed".
    this.socket?.destroy();
  }

  private onClosed(error: Error | undefined): void {
    this.over = true;
    this.returnLent();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const request = this.request;
    // An answer that ended, paused with its last bytes pending, is complete: it ends at resume.
    if (request && !request.endPending) {
      this.request = undefined;
      request.fail(error ?? new errors.SocketError('other side closed'));
    }
    if (!error) this.origin.closed(this);
  }

  private onTimeout(): void {
    const request = this.request;
    if (!request) return;
    if (!this.headSeen) return this.destroy(new errors.HeadersTimeoutError());
    // No body timeout while the consumer holds the answer back.
    if (request.paused || this.origin.limits.bodyTimeoutMs === 0) return;
    this.destroy(new errors.BodyTimeoutError());
  }

  /** The parser's events: the answer's head, its body views, its end. */
  private answerEvents(): ResponseEvents {
    return {
      head: (head) => {
        const request = this.request;
        if (!request) return;
        this.headSeen = true;
        this.reuse = head.keepAlive && !request.close;
        this.keepMs = this.origin.limits.idleMs;
        const hint = keepAliveTimeoutMs(head.headers['keep-alive']);
        if (hint !== undefined) {
          const ms = Math.min(hint - KEEP_ALIVE_THRESHOLD_MS, KEEP_ALIVE_MAX_MS);
          if (ms <= 0) this.reuse = false;
          else this.keepMs = Math.min(ms, this.origin.limits.idleMs);
        }
        this.socket!.setTimeout(this.origin.limits.bodyTimeoutMs);
        request.handler.onResponseStart?.(request, head.statusCode, head.headers, head.statusMessage);
      },
      body: (chunk) => this.request?.data(chunk),
      end: () => {
        if (this.request) this.completed = true;
      },
    };
  }
}

/** `Keep-Alive: timeout=5` in ms, when given. */
function keepAliveTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /timeout=(\d+)/i.exec(value);
  return m ? Number(m[1]) * 1000 : undefined;
}
