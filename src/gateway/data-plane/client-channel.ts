// The server side of Streamable HTTP for one client session, written against node's http objects.
// It keeps the SDK transport's protocol (the same status codes and JSON-RPC errors for a bad Accept,
// Content-Type, session or protocol version, 202 for posts without requests, one GET stream, DELETE)
// but not its cost: the SDK's transport turns every request into a web Request and answers through
// web streams, and always answers a request with an event stream.
//
// Here a POST with requests is answered as JSON (one write, headers and body together) unless a
// message about one of its requests (progress, a request to the client) must go out before the
// answer: then the answer becomes an event stream, as the spec allows either.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isMessage, mediaType, sseEvent } from './json-rpc.js';

/** As the SDK's transport: at most this many messages in one POST. */
const MAX_BATCH_SIZE = 100;
/** A comment line on every open event stream this often, so proxies keep them (the SDK's default). */
const KEEP_ALIVE_MS = 15_000;
const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' };

export interface ClientChannelOptions {
  /** The client's initialize was accepted; the session id is set. */
  onInitialized: () => void;
  /** The client opened its GET stream: messages without a request may go out now. */
  onStreamOpened: () => void;
}

/** The answer to one POST that carried requests. */
class PostAnswer {
  /** Answers held until every request of the POST has one (JSON), in request order. */
  readonly answers = new Map<RequestId, JSONRPCMessage | undefined>();
  private streaming = false;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    readonly res: ServerResponse,
    private readonly sessionId: string | undefined,
    requestIds: RequestId[],
  ) {
    for (const id of requestIds) this.answers.set(id, undefined);
  }

  get done(): boolean {
    return this.res.writableEnded;
  }

  /** A message about one of the requests (not its answer): the answer becomes an event stream. */
  message(message: JSONRPCMessage): void {
    if (!this.streaming) {
      this.streaming = true;
      this.res.writeHead(200, this.headers(SSE_HEADERS));
      this.keepAlive = keepAlive(this.res);
      // Answers already given (a batch) go first.
      for (const answer of this.answers.values()) if (answer) this.res.write(sseEvent(answer));
    }
    this.res.write(sseEvent(message));
  }

  /** Answers true once every request has its answer (the response is then complete). */
  answer(id: RequestId, message: JSONRPCMessage): boolean {
    this.answers.set(id, message);
    if (this.streaming) this.res.write(sseEvent(message));
    const answers = [...this.answers.values()];
    if (answers.some((a) => a === undefined)) return false;
    if (this.streaming) {
      this.end();
    } else {
      this.res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
      this.res.end(JSON.stringify(answers.length === 1 ? answers[0] : answers));
    }
    return true;
  }

  /** The session ended before every answer came: end the stream (as the SDK does). */
  end(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.res.writableEnded) return;
    if (!this.res.headersSent) this.res.writeHead(200, this.headers(SSE_HEADERS));
    this.res.end();
  }

  private headers(base: Record<string, string>): Record<string, string> {
    return this.sessionId === undefined ? base : { ...base, 'mcp-session-id': this.sessionId };
  }
}

export class ClientChannel {
  sessionId: string | undefined;
  /** Each message the client sent, in order. */
  onmessage: ((message: JSONRPCMessage) => void) | undefined;
  /** The client ended the session (DELETE), or close() was called. */
  onclose: (() => void) | undefined;
  private initialized = false;
  private closed = false;
  private stream: { res: ServerResponse; keepAlive: NodeJS.Timeout | undefined } | undefined;
  /** Requests still unanswered, by id, with the POST that waits for each. */
  private readonly waiting = new Map<RequestId, PostAnswer>();

  constructor(private readonly options: ClientChannelOptions) {}

  /** The client holds its GET stream open. */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  /** `body`: the parsed JSON of a POST (undefined when it was not JSON). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    if (this.closed) return refuse(res, 404, -32001, 'Session not found');
    if (req.method === 'POST') return this.post(req, res, body);
    if (req.method === 'GET') return this.get(req, res);
    if (req.method === 'DELETE') return this.delete(req, res);
    res.writeHead(405, { Allow: 'GET, POST, DELETE', 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
  }

  /**
   * Sends a message to the client: an answer on the POST of its request, a message about a request
   * (relatedRequestId) on that POST too, anything else on the GET stream. Answers false when the
   * message has nowhere to go (that POST or the GET stream is gone).
   */
  send(message: JSONRPCMessage, relatedRequestId?: RequestId): boolean {
    if (this.closed) return false;
    const isAnswer = 'result' in message || 'error' in message;
    const id = isAnswer ? (message as { id: RequestId }).id : relatedRequestId;
    if (id === undefined) {
      if (isAnswer || !this.stream) return false;
      this.stream.res.write(sseEvent(message));
      return true;
    }
    const post = this.waiting.get(id);
    if (!post || post.done) return false;
    if (!isAnswer) {
      post.message(message);
      return true;
    }
    this.waiting.delete(id);
    if (post.answer(id, message)) for (const other of post.answers.keys()) this.waiting.delete(other);
    return true;
  }

  /** Ends every open response and the session. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const post of this.waiting.values()) post.end();
    this.waiting.clear();
    this.endStream();
    this.onclose?.();
  }

  private post(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return refuse(res, 406, -32000, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    }
    if (mediaType(req.headers['content-type']) !== 'application/json') {
      return refuse(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    if (Array.isArray(body) && body.length > MAX_BATCH_SIZE) {
      return refuse(res, 400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`);
    }
    const messages = (Array.isArray(body) ? body : [body]) as unknown[];
    if (!messages.every(isMessage)) return refuse(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
    if (messages.some((m) => 'method' in m && m.method === 'initialize' && 'id' in m)) {
      if (this.initialized) return refuse(res, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1) return refuse(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = randomUUID();
      this.initialized = true;
      this.options.onInitialized();
    } else if (!this.admitted(req, res)) {
      return;
    }
    const requestIds = messages.filter((m) => 'method' in m && 'id' in m).map((m) => (m as { id: RequestId }).id);
    if (requestIds.length === 0) {
      res.writeHead(202).end();
      for (const message of messages) this.onmessage?.(message);
      return;
    }
    const post = new PostAnswer(res, this.sessionId, requestIds);
    for (const id of requestIds) this.waiting.set(id, post);
    res.on('close', () => {
      if (post.done) return;
      // The client went away: later messages for these requests have no one to reach.
      post.end();
      for (const id of requestIds) if (this.waiting.get(id) === post) this.waiting.delete(id);
    });
    for (const message of messages) this.onmessage?.(message);
  }

  private get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return refuse(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    }
    if (!this.admitted(req, res)) return;
    if (this.stream) return refuse(res, 409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId! });
    res.flushHeaders();
    const stream = { res, keepAlive: keepAlive(res) };
    this.stream = stream;
    res.on('close', () => {
      clearInterval(stream.keepAlive);
      if (this.stream === stream) this.stream = undefined;
    });
    this.options.onStreamOpened();
  }

  private delete(req: IncomingMessage, res: ServerResponse): void {
    if (!this.admitted(req, res)) return;
    res.writeHead(200).end();
    this.close();
  }

  /** The session and protocol version checks of every request after initialize. */
  private admitted(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.initialized) return refuse(res, 400, -32000, 'Bad Request: Server not initialized'), false;
    const sessionId = req.headers['mcp-session-id'];
    if (!sessionId) return refuse(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required'), false;
    if (sessionId !== this.sessionId) return refuse(res, 404, -32001, 'Session not found'), false;
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      const message = `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`;
      return refuse(res, 400, -32000, message), false;
    }
    return true;
  }

  private endStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    clearInterval(stream.keepAlive);
    stream.res.end();
  }
}

function keepAlive(res: ServerResponse): NodeJS.Timeout {
  const timer = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
  timer.unref();
  return timer;
}

function refuse(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
