// The server side of Streamable HTTP for one client session, written against node's http objects.
// It keeps the SDK transport's protocol (the same status codes and JSON-RPC errors for a bad Accept,
// Content-Type, session or protocol version, 202 for posts without requests, one GET stream, DELETE)
// but not its cost: the SDK's transport turns every request into a web Request and answers through
// web streams, and always answers a request with an event stream.
//
// Here a POST with requests is answered as JSON (one write, headers and body together) unless a
// message about one of its requests (progress, a request to the client) must go out before the
// answer, or the answer takes longer than STREAM_AFTER_MS for a client that can resume (protocol
// 2025-11-25 and later: a priming event gives it a cursor): then the answer becomes an event stream,
// as the spec allows either. A large upstream answer may instead be written as it arrives (pipe(),
// answer-pipe.ts): as JSON (with the upstream's length, or chunked), or as one event of the stream.
//
// Resumability: every event on every stream has an id (event-log.ts). A streamed POST whose client went
// away goes on being answered into the log; a GET with Last-Event-ID replays what its stream was sent
// since that event and carries the rest of it (the GET stream, or that POST's answers); a stream written in
// full stays replayable for DELIVERED_REPLAY_MS.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { systemClock, type Clock, type TimerHandle } from '../../domain/clock.js';
import { DISCARDED_EVENT, type AnswerPipe } from './answer-pipe.js';
import { EventLog, type Frame } from './event-log.js';
import { mediaType } from '../../domain/media-type.js';
import { isMessage, serialize, sourceBytes } from './json-rpc.js';

/** As the SDK's transport: at most this many messages in one POST. */
const MAX_BATCH_SIZE = 100;
/** A comment line on every open event stream this often, so proxies keep them (the SDK's default). */
const KEEP_ALIVE_MS = 15_000;
/** A POST unanswered this long becomes an event stream (with a priming event), if its client can resume it. */
export const STREAM_AFTER_MS = 200;
/**
 * A streamed answer written in full stays replayable this long: "written" means handed to the kernel, and a
 * connection that died meanwhile loses what it had not delivered, which its client then asks for again with
 * Last-Event-ID. (The session's log bounds what is kept whatever this is: event-log.ts.)
 */
export const DELIVERED_REPLAY_MS = 30_000;
/** An upstream's answer up to this size is written with its head in one write (a copy of it costs less than a writev). */
const ONE_WRITE_BYTES = 16 * 1024;
/** The first protocol version whose clients take an event without data (a priming event). */
const PRIMING_VERSION = '2025-11-25';
/** The GET stream's key in the event log. */
const GET_STREAM = 'get';
const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' };

export interface ClientChannelOptions {
  /** The client's initialize was accepted; the session id is set. */
  onInitialized: () => void;
  /** The client opened its GET stream: messages without a request may go out now. */
  onStreamOpened: () => void;
  /** Makes the session id (a replica's sessions name it: session-owners.ts). Default: a random UUID. */
  newSessionId?: () => string;
  /** The clock of the switch to an event stream after STREAM_AFTER_MS. Default: the system clock. */
  clock?: Clock;
}

/** The answer to one POST that carried requests. */
class PostAnswer {
  /** Answers held until every request of the POST has one (JSON), in request order. */
  readonly answers = new Map<RequestId, JSONRPCMessage | undefined>();
  /** The client's connection; undefined while a streamed answer's client is away (resumable). */
  res: ServerResponse | undefined;
  private streaming = false;
  private complete = false;
  /** An answer is being written as one event, as it arrives: other frames wait in `deferred` until it ends. */
  private piping = false;
  private readonly deferred: Frame[] = [];
  private keepAlive: NodeJS.Timeout | undefined;
  /**
   * When (clock.now()) the answer becomes an event stream if it has not come by then (a resumable client);
   * undefined once it cannot any more. The channel's one switch timer reads it (ClientChannel.switchDue).
   */
  dueAt: number | undefined;
  /** Requests of `answers` without their answer yet. */
  private unanswered = 0;

  constructor(
    res: ServerResponse,
    /** Its key in the event log. */
    readonly key: string,
    private readonly log: EventLog,
    private readonly sessionId: string | undefined,
    requestIds: RequestId[],
    /** Becomes an event stream with a priming event when not answered within STREAM_AFTER_MS. */
    resumable: boolean,
    private readonly clock: Clock,
  ) {
    this.res = res;
    for (const id of requestIds) this.answers.set(id, undefined);
    this.unanswered = this.answers.size;
    if (resumable) this.dueAt = clock.now() + STREAM_AFTER_MS;
  }

  /** The answer did not come in time: it becomes an event stream, with a priming event. */
  switchToStream(): void {
    this.startStream(true);
  }

  /** Every request has its answer (sent, or logged for a client that may resume). */
  get done(): boolean {
    return this.complete;
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  /** A message about one of the requests (not its answer): the answer becomes an event stream. */
  message(message: JSONRPCMessage): void {
    this.startStream(false);
    this.write(this.log.append(this.key, message));
  }

  /** Answers true once every request has its answer (the response is then complete). */
  answer(id: RequestId, message: JSONRPCMessage): boolean {
    if (this.answers.get(id) === undefined) this.unanswered--;
    this.answers.set(id, message);
    if (this.streaming) this.write(this.log.append(this.key, message));
    if (this.unanswered > 0) return false;
    this.complete = true;
    if (this.streaming) {
      this.end();
    } else {
      this.stopTimer();
      const res = this.res!;
      const single = this.answers.size === 1;
      const bytes = single ? sourceBytes(message) : undefined;
      if (bytes) {
        // The upstream's own bytes, as they came: no serializing or encoding again.
        let length = 0;
        for (const chunk of bytes) length += chunk.length;
        res.writeHead(200, this.headers({ 'Content-Type': 'application/json', 'Content-Length': String(length) }));
        if (bytes.length === 1 && length <= ONE_WRITE_BYTES) {
          // As latin1 text, byte for byte: node writes it behind the head in one write, not a writev of two.
          res.end(bytes[0]!.toString('latin1'), 'latin1');
        } else if (bytes.length === 1) {
          res.end(bytes[0]);
        } else {
          res.cork();
          for (const chunk of bytes) res.write(chunk);
          res.end();
          res.uncork();
        }
      } else {
        res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
        res.end(single ? serialize(message) : `[${[...this.answers.values()].map((a) => serialize(a!)).join(',')}]`);
      }
    }
    return true;
  }

  /**
   * The answer to the one request of this POST, as JSON bytes that arrive later (answer-pipe.ts): the JSON
   * response, or one event when the POST is an event stream already. `onSettled` is called once the POST
   * needs no resuming any more. Undefined when it cannot be (several requests, the client gone from a JSON one).
   */
  pipe(contentLength: number | undefined, onSettled: () => void): AnswerPipe | undefined {
    if (this.answers.size !== 1 || this.complete || this.piping) return undefined;
    if (this.streaming) return this.pipeEvent(onSettled);
    const res = this.res;
    if (!res || res.headersSent) return undefined;
    this.stopTimer();
    this.complete = true;
    onSettled();
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    // Without the upstream's length the body is chunked: cut short, it is as plainly incomplete.
    if (contentLength !== undefined) headers['Content-Length'] = String(contentLength);
    res.writeHead(200, this.headers(headers));
    let ended = false;
    return {
      // The views go to the socket as they are: in one write (a writev), and when the socket did not take
      // them at once, the reads wait for the write's callback.
      write: (chunks, written) => {
        if (res.destroyed || res.writableEnded) return true;
        let waiting = false;
        const done = () => {
          if (!waiting) return;
          waiting = false;
          res.off('close', done);
          written();
        };
        res.cork();
        for (let i = 0; i < chunks.length; i++) res.write(chunks[i]!, i === chunks.length - 1 ? done : undefined);
        res.uncork();
        if (res.writableLength === 0) return true;
        waiting = true;
        res.once('close', done);
        return false;
      },
      onClose: (stop) =>
        void res.once('close', () => {
          if (!ended) stop();
        }),
      end: () => {
        ended = true;
        res.end();
      },
      abort: () => {
        ended = true;
        res.destroy();
      },
    };
  }

  /**
   * The answer as one event of this stream, written as it arrives: its data lines are the JSON's lines. It
   * is logged as it goes (a client that drops may resume in the middle of it), and goes on into the log
   * while the client is away.
   */
  private pipeEvent(onSettled: () => void): AnswerPipe {
    const id = this.answers.keys().next().value as RequestId;
    const event = this.log.appendStreamed(this.key);
    this.piping = true;
    this.put(event.head);
    const settle = () => {
      this.piping = false;
      for (const frame of this.deferred.splice(0)) this.put(frame);
    };
    return {
      // Kept in the log: copies (dataLines makes one where it breaks lines).
      write: (chunks, written) => {
        const res = this.res;
        let full = false;
        for (const chunk of chunks) {
          let piece = dataLines(chunk);
          if (piece === chunk) piece = Buffer.from(chunk);
          event.add(piece);
          if (res && !res.destroyed && !res.writableEnded && !res.write(piece)) full = true;
        }
        if (!full) return true;
        whenDrained(res!, written);
        return false;
      },
      // The client may resume the stream: the answer goes on into the log.
      onClose: () => undefined,
      end: () => {
        event.add(EVENT_END);
        this.put(EVENT_END);
        settle();
        this.complete = true;
        onSettled();
        this.end();
      },
      abort: (reason, data) => {
        event.discard();
        this.put(`\nevent: ${DISCARDED_EVENT}\n\n`);
        settle();
        this.answer(id, { jsonrpc: '2.0', id, error: { code: ErrorCode.InternalError, message: reason, ...(data ? { data } : {}) } });
        onSettled();
      },
    };
  }

  /** The client went away: a streamed answer goes on into the log (answers true); a JSON one is over. */
  detach(): boolean {
    this.stopTimer();
    this.stopKeepAlive();
    this.res = undefined;
    return this.streaming && !this.complete;
  }

  /** A client resumed the stream (Last-Event-ID) on `res`: the rest of it goes there. */
  reattach(res: ServerResponse): void {
    this.res = res;
    if (this.complete) return this.end();
    this.startKeepAlive();
  }

  /** Ends the stream: complete, or the session ended before every answer came (as the SDK does). */
  end(): void {
    this.stopTimer();
    this.stopKeepAlive();
    const res = this.res;
    if (!res || res.writableEnded) return;
    if (!res.headersSent) res.writeHead(200, this.headers(SSE_HEADERS));
    // Every byte of a complete stream went out: kept a while for a client whose connection died before them.
    if (this.complete) res.once('finish', () => this.clock.setTimeout(() => this.log.forget(this.key), DELIVERED_REPLAY_MS));
    res.end();
  }

  private startStream(priming: boolean): void {
    this.stopTimer();
    if (this.streaming || this.complete || !this.res) return;
    this.streaming = true;
    this.res.writeHead(200, this.headers(SSE_HEADERS));
    this.startKeepAlive();
    if (priming) this.write(this.log.append(this.key, undefined));
    // Answers already given (a batch) go first.
    for (const answer of this.answers.values()) if (answer) this.write(this.log.append(this.key, answer));
  }

  /** Writes `frame` after the event being piped, if one is. */
  private write(frame: string): void {
    if (this.piping) this.deferred.push(frame);
    else this.put(frame);
  }

  private put(frame: Frame): void {
    if (this.res && !this.res.destroyed && !this.res.writableEnded) this.res.write(frame);
  }

  /** A comment now and then, never in the middle of an event being piped. */
  private startKeepAlive(): void {
    this.stopKeepAlive();
    this.keepAlive = setInterval(() => {
      if (!this.piping) this.put(KEEP_ALIVE_FRAME);
    }, KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  private stopTimer(): void {
    this.dueAt = undefined;
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
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
  /**
   * POSTs that became event streams and are not answered in full yet, by their key in the event log (to resume
   * them). A POST answered as JSON never enters it: a map emptied again on every call costs a new table each time.
   */
  private readonly posts = new Map<string, PostAnswer>();
  private readonly log = new EventLog();
  private postCount = 0;
  private readonly clock: Clock;
  /**
   * The one timer of the switch to an event stream, for every POST of the session (not one per POST): armed
   * while a resumable POST waits for its answer, for the earliest one due.
   */
  private switchTimer: TimerHandle | undefined;

  constructor(private readonly options: ClientChannelOptions) {
    this.clock = options.clock ?? systemClock;
  }

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
      this.stream.res.write(this.log.append(GET_STREAM, message));
      return true;
    }
    const post = this.waiting.get(id);
    if (!post || post.done) return false;
    if (!isAnswer) {
      this.posts.set(post.key, post);
      post.message(message);
      return true;
    }
    this.waiting.delete(id);
    if (post.answer(id, message)) {
      for (const other of post.answers.keys()) this.waiting.delete(other);
      this.posts.delete(post.key);
    }
    return true;
  }

  /**
   * The answer to request `id` as JSON bytes that arrive later (answer-pipe.ts), on the POST that waits for
   * it; undefined when that POST cannot take it so (it answers the usual way).
   */
  pipeAnswer(id: RequestId, contentLength: number | undefined): AnswerPipe | undefined {
    const post = this.closed ? undefined : this.waiting.get(id);
    // Settled: answered in full (an event stream's answer is, once its event ended), so not resumed any more.
    const pipe = post?.pipe(contentLength, () => this.posts.delete(post.key));
    if (!post || !pipe) return undefined;
    this.waiting.delete(id);
    return pipe;
  }

  /** Ends every open response and the session. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.switchTimer) this.clock.clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    for (const post of this.waiting.values()) post.end();
    this.waiting.clear();
    this.posts.clear();
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
    // One pass: the messages are checked, and the ids of their requests (and whether one initializes) read.
    const requestIds: RequestId[] = [];
    let initializes = false;
    for (const m of messages) {
      if (!isMessage(m)) return refuse(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
      if ('method' in m && 'id' in m) {
        requestIds.push(m.id);
        if (m.method === 'initialize') initializes = true;
      }
    }
    if (initializes) {
      if (this.initialized) return refuse(res, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1) return refuse(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = this.options.newSessionId?.() ?? randomUUID();
      this.initialized = true;
      this.options.onInitialized();
    } else if (!this.admitted(req, res)) {
      return;
    }
    if (requestIds.length === 0) {
      res.writeHead(202).end();
      for (const message of messages) this.onmessage?.(message as JSONRPCMessage);
      return;
    }
    const version = req.headers['mcp-protocol-version'];
    const resumable = typeof version === 'string' && version >= PRIMING_VERSION;
    const post = new PostAnswer(res, `post-${++this.postCount}`, this.log, this.sessionId, requestIds, resumable, this.clock);
    for (const id of requestIds) this.waiting.set(id, post);
    if (resumable) this.armSwitch(STREAM_AFTER_MS);
    res.on('close', () => this.postClosed(post, res));
    for (const message of messages) this.onmessage?.(message as JSONRPCMessage);
  }

  private get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return refuse(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    }
    if (!this.admitted(req, res)) return;
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string' && lastEventId !== '') return this.resume(res, lastEventId);
    if (this.stream) return refuse(res, 409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    this.openStream(res, []);
  }

  /** `res` becomes the GET stream, after `frames` (a resumed stream's replay). */
  private openStream(res: ServerResponse, frames: Frame[]): void {
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId! });
    if (frames.length === 0) res.flushHeaders();
    for (const frame of frames) res.write(frame);
    const stream = { res, keepAlive: keepAlive(res) };
    this.stream = stream;
    res.on('close', () => {
      clearInterval(stream.keepAlive);
      if (this.stream === stream) this.stream = undefined;
    });
    this.options.onStreamOpened();
  }

  /** GET with Last-Event-ID: what the stream of that event was sent since, then the rest of that stream. */
  private resume(res: ServerResponse, lastEventId: string): void {
    const found = this.log.after(lastEventId);
    if (!found) {
      const message = `Bad Request: Last-Event-ID ${JSON.stringify(lastEventId.slice(0, 40))} is not an event this session still holds; open the GET stream without it (events sent since are lost).`;
      return refuse(res, 400, -32000, message);
    }
    if (found.stream === GET_STREAM) {
      // A client resuming its GET stream may come back before its old connection was seen to close.
      if (this.stream) this.endStream();
      return this.openStream(res, found.frames);
    }
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId! });
    if (found.frames.length === 0) res.flushHeaders();
    for (const frame of found.frames) res.write(frame);
    const post = this.posts.get(found.stream);
    // Answered in full: the replay held every answer.
    if (!post) return void res.end();
    const previous = post.res;
    post.reattach(res);
    if (previous && previous !== res) previous.end();
    res.on('close', () => this.postClosed(post, res));
  }

  private armSwitch(delayMs: number): void {
    if (this.switchTimer || this.closed) return;
    this.switchTimer = this.clock.setTimeout(() => {
      this.switchTimer = undefined;
      this.switchDue();
    }, delayMs);
  }

  /** Each POST whose answer is due and did not come becomes an event stream; the timer is armed again for the next. */
  private switchDue(): void {
    const now = this.clock.now();
    let next: number | undefined;
    // Every POST that may still switch waits for an answer (a batch's is met once per request).
    for (const post of this.waiting.values()) {
      const due = post.dueAt;
      if (due === undefined) continue;
      // A clock set back counts as due: no answer waits longer than STREAM_AFTER_MS for it.
      if (due <= now || due - now > STREAM_AFTER_MS) {
        this.posts.set(post.key, post);
        post.switchToStream();
      } else next = next === undefined ? due - now : Math.min(next, due - now);
    }
    if (next !== undefined) this.armSwitch(next);
  }

  /** A POST's connection closed: over, unless a streamed answer's client may resume it. */
  private postClosed(post: PostAnswer, res: ServerResponse): void {
    if (post.done || post.res !== res) return;
    if (post.detach()) return;
    // The client went away from a JSON answer: later messages for these requests have no one to reach.
    for (const id of post.answers.keys()) if (this.waiting.get(id) === post) this.waiting.delete(id);
    this.posts.delete(post.key);
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

const KEEP_ALIVE_FRAME = ': keepalive\n\n';
const EVENT_END = '\n\n';
const DATA_BREAK = Buffer.from('\ndata: ');
const LF = 0x0a;
const CR = 0x0d;

function keepAlive(res: ServerResponse): NodeJS.Timeout {
  const timer = setInterval(() => res.write(KEEP_ALIVE_FRAME), KEEP_ALIVE_MS);
  timer.unref();
  return timer;
}

/** `resume` once `res` took what was written, or closed. */
function whenDrained(res: ServerResponse, resume: () => void): void {
  if (res.destroyed || res.writableEnded) return resume();
  const go = () => {
    res.off('drain', go);
    res.off('close', go);
    resume();
  };
  res.on('drain', go);
  res.on('close', go);
}

/**
 * `chunk` of a JSON text as the data of an event: each line break (CR or LF; JSON has them only as
 * whitespace) starts a new "data:" line, as an event's lines end at either. The chunk itself when it has none.
 */
export function dataLines(chunk: Buffer): Buffer {
  let lf = chunk.indexOf(LF);
  let cr = chunk.indexOf(CR);
  if (lf < 0 && cr < 0) return chunk;
  const pieces: Buffer[] = [];
  let from = 0;
  for (;;) {
    const at = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (at < 0) break;
    pieces.push(chunk.subarray(from, at), DATA_BREAK);
    from = at + 1;
    // Each search starts where the last found one ended: linear in the chunk.
    if (lf === at) lf = chunk.indexOf(LF, from);
    if (cr === at) cr = chunk.indexOf(CR, from);
  }
  pieces.push(chunk.subarray(from));
  return Buffer.concat(pieces);
}

function refuse(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
