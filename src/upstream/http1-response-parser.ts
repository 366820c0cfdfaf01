// HTTP/1.x response framing, strict, parsing in place: body bytes are handed on as views of the buffer
// given to execute() (nothing is copied but the partial line a read may end in). Every framing rule the
// reused-read dispatcher relies on is checked here, and refused as undici (llhttp) refuses it:
// - the head (status line and header lines) and the trailers each at most `maxHeaderSize` bytes, counted
//   over every read (HeadersOverflowError);
// - lines end in CRLF; a header name is a token; a value holds no control character but HTAB (obs-fold
//   refused);
// - Content-Length: one header, digits only; not together with Transfer-Encoding;
// - Transfer-Encoding: chunked when `chunked` is the last coding; otherwise the body ends with the
//   connection (RFC 9112 6.3, as llhttp reads a response);
// - a chunk-size line is 1*HEXDIG (at most 13 digits), an optional `;extension`, CRLF; a chunk's data is
//   followed by CRLF;
// - 1xx heads are skipped (101 refused: no upgrade was asked); 204, 304 and answers to HEAD have no body.
// Anything else is an HTTPParserError; the parser is then of no further use (the socket goes).
import { errors } from 'undici';
import { BAD_VALUE_CHAR, TOKEN } from './http1-grammar.js';

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  /** undici's shape: names lower-cased, values latin1, a repeated header as an array. */
  headers: Record<string, string | string[]>;
  /** HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `keep-alive`; false when the body ends with the connection. */
  keepAlive: boolean;
}

export interface ResponseEvents {
  head(head: ResponseHead): void;
  /** A view of the buffer given to execute(), valid during this call only. */
  body(chunk: Buffer): void;
  end(): void;
}

const enum State {
  Status,
  Header,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  UntilClose,
  Done,
}

/** The longest chunk-size line (with its extensions), bytes. */
const MAX_CHUNK_LINE = 1024;
const LF = 10;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})(?:;[\t\x20-\x7e\x80-\xff]*)?$/;

/** undici's HTTPParserError, whose `code` is `code` (its constructor prefixes "HPE_" itself). */
export function parserError(reason: string, code: string): Error {
  const Make = errors.HTTPParserError as unknown as new (message: string, code?: string) => Error;
  return new Make(`Response does not match the HTTP/1.1 protocol (${reason})`, code.replace(/^HPE_/, ''));
}

/** text without leading and trailing SP and HTAB: one pass from each end (a regex's `[\t ]+$` rescans a run of blanks from each of its starts). */
export function trimBlanks(text: string): string {
  let from = 0;
  let to = text.length;
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

export class ResponseParser {
  private state = State.Done;
  private noBody = false;
  /** The line read so far when a read ended inside it (latin1). */
  private line = '';
  /** Bytes of the head (or of the trailers) so far. */
  private counted = 0;
  private raw: string[] = [];
  private remaining = 0;

  constructor(
    private readonly maxHeaderSize: number,
    private readonly events: ResponseEvents,
  ) {}

  /** Ready for the answer to a new request (`HEAD`: an answer without body). */
  start(method: string): void {
    this.state = State.Status;
    this.noBody = method === 'HEAD';
    this.line = '';
    this.counted = 0;
    this.raw = [];
  }

  /** The answer's body runs until the connection closes. */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Parses buffer[from, to). Returns where it stopped: `to`, or earlier once the answer ended (the bytes
   * after it are not part of it). Throws HTTPParserError / HeadersOverflowError (or what an event threw).
   */
  execute(buffer: Buffer, from: number, to: number): number {
    let i = from;
    while (i < to && this.state !== State.Done) {
      switch (this.state) {
        case State.Length: {
          const take = Math.min(this.remaining, to - i);
          this.remaining -= take;
          const chunk = buffer.subarray(i, i + take);
          i += take;
          if (this.remaining === 0) this.state = State.Done;
          this.events.body(chunk);
          if (this.state === State.Done) this.events.end();
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, to - i);
          this.remaining -= take;
          const chunk = buffer.subarray(i, i + take);
          i += take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          this.events.body(chunk);
          break;
        }
        case State.UntilClose: {
          const chunk = buffer.subarray(i, to);
          i = to;
          this.events.body(chunk);
          break;
        }
        default: {
          const at = this.lineEnd(buffer, i, to);
          const end = at === -1 ? to : at + 1;
          this.account(end - i);
          if (at === -1) {
            this.line += buffer.toString('latin1', i, to);
            i = to;
            break;
          }
          const text = this.line + buffer.toString('latin1', i, at);
          this.line = '';
          i = end;
          if (text.charCodeAt(text.length - 1) !== 13) throw parserError('Missing expected CR after line', 'HPE_LF_EXPECTED');
          this.onLine(text.slice(0, -1));
          if ((this.state as State) === State.Done) this.events.end();
        }
      }
    }
    return i;
  }

  /** The connection ended: an answer whose body runs until then is complete (true). */
  finish(): boolean {
    if (this.state !== State.UntilClose) return false;
    this.state = State.Done;
    this.events.end();
    return true;
  }

  private lineEnd(buffer: Buffer, from: number, to: number): number {
    for (let j = from; j < to; j++) if (buffer[j] === LF) return j;
    return -1;
  }

  /** Bytes of a line are counted against the limit of the part they belong to. */
  private account(bytes: number): void {
    this.counted += bytes;
    if (this.state === State.Status || this.state === State.Header || this.state === State.Trailer) {
      if (this.counted > this.maxHeaderSize) throw new errors.HeadersOverflowError();
    } else if (this.line.length + bytes > MAX_CHUNK_LINE) {
      throw parserError('Chunk size line too long', 'HPE_INVALID_CHUNK_SIZE');
    }
  }

  private onLine(text: string): void {
    switch (this.state) {
      case State.Status: {
        const m = STATUS_LINE.exec(text);
        if (!m) throw parserError('Invalid status line', 'HPE_INVALID_STATUS');
        this.raw = [m[1]!, m[2]!, m[3] ?? ''];
        this.state = State.Header;
        return;
      }
      case State.Header:
        if (text === '') return this.headComplete();
        this.raw.push(...headerField(text));
        return;
      case State.ChunkSize: {
        const m = CHUNK_SIZE.exec(text);
        if (!m) throw parserError('Invalid character in chunk size', 'HPE_INVALID_CHUNK_SIZE');
        this.remaining = parseInt(m[1]!, 16);
        if (this.remaining === 0) {
          this.state = State.Trailer;
          this.counted = 0;
        } else this.state = State.ChunkData;
        return;
      }
      case State.ChunkDataEnd:
        if (text !== '') throw parserError('Expected CRLF after chunk', 'HPE_STRICT');
        this.counted = 0;
        this.state = State.ChunkSize;
        return;
      case State.Trailer:
        if (text === '') this.state = State.Done;
        else headerField(text);
        return;
      default:
        throw parserError('Unexpected line', 'HPE_INTERNAL');
    }
  }

  private headComplete(): void {
    const [minor, status, statusMessage, ...raw] = this.raw;
    const statusCode = Number(status);
    this.raw = [];
    this.counted = 0;
    if (statusCode < 200) {
      if (statusCode === 101) throw new errors.SocketError('bad upgrade');
      // An informational answer: the real one follows.
      this.state = State.Status;
      return;
    }
    const headers: Record<string, string | string[]> = {};
    let lengths = 0;
    let codings: string[] | undefined;
    let close = false;
    let keepAliveToken = false;
    for (let k = 0; k < raw.length; k += 2) {
      const name = raw[k]!.toLowerCase();
      const value = raw[k + 1]!;
      const had = headers[name];
      if (had === undefined) headers[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else headers[name] = [had, value];
      if (name === 'content-length') lengths++;
      else if (name === 'transfer-encoding') (codings ??= []).push(...value.split(',').map((c) => c.trim().toLowerCase()));
      else if (name === 'connection') {
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t === 'close') close = true;
          else if (t === 'keep-alive') keepAliveToken = true;
        }
      }
    }
    let keepAlive = minor === '1' ? !close : keepAliveToken && !close;
    let next: State;
    if (codings !== undefined) {
      if (lengths > 0) throw parserError("Content-Length can't be present with Transfer-Encoding", 'HPE_UNEXPECTED_CONTENT_LENGTH');
      // RFC 9112 6.3: a response whose last coding is not chunked ends with the connection.
      next = codings[codings.length - 1] === 'chunked' ? State.ChunkSize : State.UntilClose;
    } else if (lengths > 1) {
      throw parserError('Duplicate Content-Length', 'HPE_UNEXPECTED_CONTENT_LENGTH');
    } else if (lengths === 1) {
      const value = headers['content-length'] as string;
      if (!/^\d+$/.test(value)) throw parserError('Invalid character in Content-Length', 'HPE_INVALID_CONTENT_LENGTH');
      const length = Number(value);
      if (!Number.isSafeInteger(length)) throw parserError('Content-Length overflow', 'HPE_INVALID_CONTENT_LENGTH');
      this.remaining = length;
      next = length === 0 ? State.Done : State.Length;
    } else {
      next = State.UntilClose;
      keepAlive = false;
    }
    if (this.noBody || statusCode === 204 || statusCode === 304) next = State.Done;
    if (next === State.UntilClose) keepAlive = false;
    this.state = next;
    this.events.head({ statusCode, statusMessage: statusMessage ?? '', headers, keepAlive });
  }
}

/** `name: value` as [name, value] (value without its surrounding blanks). */
function headerField(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw parserError('Invalid header line', 'HPE_INVALID_HEADER_TOKEN');
  const name = text.slice(0, colon);
  if (!TOKEN.test(name)) throw parserError('Invalid header field char', 'HPE_INVALID_HEADER_TOKEN');
  const value = trimBlanks(text.slice(colon + 1));
  if (BAD_VALUE_CHAR.test(value)) throw parserError('Invalid header value char', 'HPE_INVALID_HEADER_TOKEN');
  return [name, value];
}
