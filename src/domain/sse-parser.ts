// An incremental parser of the WHATWG event stream format (text/event-stream), fed bytes as they arrive.
//
// Contract: linear in the bytes fed, whatever the chunking: each byte is scanned once (line ends are
// found with Buffer.indexOf and remembered across lines), and a line's bytes are joined and decoded once,
// when its end has come, so a UTF-8 sequence split between chunks decodes whole and a CRLF split between
// chunks is one line end. An event (every byte since the last blank line: its lines, comments and line
// ends) larger than `maxEventBytes` throws SseEventTooLargeError from push() as soon as its bytes pass
// the cap, before they are kept; the stream must then be dropped (the parser is not fed again).
// Without `onEvent` the parser only checks sizes and keeps no bytes at all (a guard on a stream someone
// else parses). A leading byte order mark is not stripped.

export interface SseEvent {
  /** The event field; undefined when the event had none ("message"). */
  event: string | undefined;
  data: string;
  /** The last event ID (it carries over to later events without one, as the standard says). */
  id: string | undefined;
}

export class SseEventTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`an event of the stream exceeded ${limitBytes} bytes`);
    this.name = 'SseEventTooLargeError';
  }
}

export interface SseParserOptions {
  /** Each complete event with data. Absent: sizes are checked, nothing is decoded or kept. */
  onEvent?: (event: SseEvent) => void;
  /** A valid retry field, in ms. */
  onRetry?: (ms: number) => void;
  /** The largest event, in bytes. Default: unbounded. */
  maxEventBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

export class SseParser {
  private readonly onEvent: ((event: SseEvent) => void) | undefined;
  private readonly onRetry: (ms: number) => void;
  private readonly maxEventBytes: number;
  /** The bytes of the line not yet ended (kept only with onEvent). */
  private pieces: Buffer[] = [];
  private lineBytes = 0;
  /** Bytes of the current event so far, line ends included. */
  private eventBytes = 0;
  /** The last chunk ended with CR: an LF at the start of the next belongs to that line end. */
  private afterCr = false;
  private type: string | undefined;
  private data: string[] = [];
  private lastId: string | undefined;
  private dispatchedId: string | undefined;

  /** The last event ID as of the last complete event (to resume a stream with Last-Event-ID). */
  get lastEventId(): string | undefined {
    return this.dispatchedId;
  }

  constructor(options: SseParserOptions = {}) {
    this.onEvent = options.onEvent;
    this.onRetry = options.onRetry ?? (() => undefined);
    this.maxEventBytes = options.maxEventBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Feeds the next bytes; throws SseEventTooLargeError (or what onEvent throws). */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (buf.length > 0 && buf[0] === LF) {
        start = 1;
        this.count(1);
      }
    }
    // The next CR and LF at or after `start`; -1: none in this chunk (never searched again).
    let nextCr = -2;
    let nextLf = -2;
    while (start < buf.length) {
      if (nextCr !== -1 && nextCr < start) nextCr = buf.indexOf(CR, start);
      if (nextLf !== -1 && nextLf < start) nextLf = buf.indexOf(LF, start);
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (end === -1) {
        this.count(buf.length - start);
        this.keep(buf.subarray(start));
        return;
      }
      let terminator = 1;
      if (buf[end] === CR) {
        if (end + 1 < buf.length) terminator = buf[end + 1] === LF ? 2 : 1;
        else this.afterCr = true;
      }
      this.count(end - start + terminator);
      this.keep(buf.subarray(start, end));
      this.endLine();
      start = end + terminator;
    }
  }

  private count(bytes: number): void {
    this.eventBytes += bytes;
    if (this.eventBytes > this.maxEventBytes) throw new SseEventTooLargeError(this.maxEventBytes);
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.lineBytes += bytes.length;
    if (this.onEvent) this.pieces.push(bytes);
  }

  private endLine(): void {
    const blank = this.lineBytes === 0;
    const line = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.length === 0 ? undefined : Buffer.concat(this.pieces, this.lineBytes);
    this.pieces = [];
    this.lineBytes = 0;
    if (blank) {
      this.eventBytes = 0;
      this.dispatch();
      return;
    }
    if (line !== undefined) this.field(line);
  }

  private dispatch(): void {
    const data = this.data;
    const type = this.type;
    this.data = [];
    this.type = undefined;
    this.dispatchedId = this.lastId;
    if (data.length > 0) this.onEvent?.({ event: type === '' ? undefined : type, data: data.join('\n'), id: this.lastId });
  }

  private field(line: Buffer): void {
    if (line[0] === COLON) return;
    const colon = line.indexOf(COLON);
    const name = (colon === -1 ? line : line.subarray(0, colon)).toString('utf8');
    let valueStart = colon === -1 ? line.length : colon + 1;
    if (line[valueStart] === SPACE) valueStart++;
    const value = line.subarray(valueStart).toString('utf8');
    if (name === 'data') this.data.push(value);
    else if (name === 'event') this.type = value;
    else if (name === 'id' && !value.includes('\0')) this.lastId = value;
    else if (name === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}
