// The envelope of a JSON-RPC answer read from its raw UTF-8 bytes, without parsing them into values:
// the relay checks an upstream's answer this way and hands the client the upstream's own bytes, so a
// large result costs one scan instead of a decode, a parse and the garbage of both.
//
// Contract: answers an envelope only when `JSON.parse` of the bytes' text would succeed and give an
// object with "jsonrpc": "2.0", an id (a string, or an integer number) and exactly one of "result" or
// "error", each an object, and no "method". The grammar is checked in full (RFC 8259: every string
// closed, escapes valid, no raw control character in a string, numbers and literals well formed,
// brackets balanced, nothing after the value); UTF-8 validity is the caller's (buffer.isUtf8 of each
// chunk, with a character split between chunks checked whole). Anything it does not vouch for answers
// undefined, and the caller parses the usual way: an escaped or repeated envelope key, a batch, nesting
// deeper than MAX_DEPTH. Linear in the bytes, read where they lie (the chunks as they came, never
// joined); string contents are skipped sixteen bytes at a time (answer-special-bytes.ts).

import { isUtf8 } from 'node:buffer';
import { SpecialBytes } from './answer-special-bytes.js';

export interface AnswerEnvelope {
  id: string | number;
  /** An error answer (else a result). */
  isError: boolean;
}

const NO_BYTES = Buffer.alloc(0);

/** Deeper nesting is left to JSON.parse. */
const MAX_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** The envelope of the answer whose bytes are `chunks`, in order; undefined when it does not vouch for them. */
export function scanAnswerEnvelope(chunks: readonly Uint8Array[]): AnswerEnvelope | undefined {
  const scanner = new EnvelopeScanner();
  for (const chunk of chunks) if (!scanner.push(chunk)) return undefined;
  return scanner.end();
}

/** Whether `chunks` in order are UTF-8, each checked where it lies; a character split between chunks is checked whole. */
export function chunksAreUtf8(chunks: readonly Buffer[]): boolean {
  const check = new Utf8Check();
  for (const chunk of chunks) if (!check.push(chunk)) return false;
  return check.end();
}

/** chunksAreUtf8, a chunk at a time as they arrive: push answers false from the first bytes that are not UTF-8. */
export class Utf8Check {
  /** A character cut at the end of the last chunk. */
  private carry: Buffer | undefined;
  private ok = true;

  push(chunk: Buffer): boolean {
    if (!this.ok) return false;
    if (this.carry) {
      const need = sequenceLength(this.carry[0]!) - this.carry.length;
      if (chunk.length < need) {
        // Still cut (a chunk of a byte or two): carried on whole.
        this.carry = Buffer.concat([this.carry, chunk]);
        return true;
      }
      if (!isUtf8(Buffer.concat([this.carry, chunk.subarray(0, need)]))) return (this.ok = false);
      chunk = chunk.subarray(need);
      this.carry = undefined;
    }
    const complete = completeLength(chunk);
    if (!isUtf8(chunk.subarray(0, complete))) return (this.ok = false);
    // A copy: the chunk may be a view of a buffer read into again (reused-read-dispatcher.ts).
    if (complete < chunk.length) this.carry = Buffer.from(chunk.subarray(complete));
    return true;
  }

  /** Every byte pushed was UTF-8, and no character is left cut at the end. */
  end(): boolean {
    return this.ok && this.carry === undefined;
  }
}

function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/** The length of `bytes` without a multi-byte character cut at its end. */
function completeLength(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const c = bytes[bytes.length - back]!;
    if (c < 0x80) return bytes.length;
    if (c >= 0xc0) return sequenceLength(c) > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

// What the scanner expects next.
const S_VALUE = 0; // a value (after a colon, a comma in an array, or at the start)
const S_VALUE_OR_CLOSE = 1; // a value or ']' (after '[')
const S_KEY = 2; // a member's key (after a comma in an object)
const S_KEY_OR_CLOSE = 3; // a key or '}' (after '{')
const S_COLON = 4;
const S_AFTER_VALUE = 5; // ',' or the close of the container
const S_STRING = 6; // inside a string
const S_ESCAPE = 7; // after a backslash in a string
const S_HEX = 8; // in the four hex digits of \u
const S_NUMBER = 9;
const S_LITERAL = 10;
const S_END = 11; // after the whole value: whitespace only

// Where a number is (S_NUMBER).
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRACTION = 4;
const N_E = 5;
const N_E_SIGN = 6;
const N_EXPONENT = 7;

const LITERALS: Record<number, Uint8Array> = { 0x74: Buffer.from('true'), 0x66: Buffer.from('false'), 0x6e: Buffer.from('null') };

/**
 * scanAnswerEnvelope as the bytes arrive: push each chunk (false: it will not vouch, stop pushing), then
 * end(). It keeps no chunk: only a container stack and the few bytes of the envelope's keys, jsonrpc and
 * id, so a large answer's chunks may be passed on (and freed) as soon as they were pushed.
 */
export class EnvelopeScanner {
  private state = S_VALUE;
  private bad = false;
  /** The open containers, outermost first: true an object, false an array. */
  private readonly open: boolean[] = [];
  private inKey = false;
  private hexLeft = 0;
  private numberAt = N_MINUS;
  private literal: Uint8Array = LITERALS[0x74]!;
  private literalAt = 0;
  /**
   * A top-level key, or the jsonrpc or id value, is being read: its bytes are read where they lie, from
   * `captureFrom` in the chunk being pushed (the pieces of earlier chunks, when it was cut, in `capturePieces`).
   */
  private capturing = false;
  private captureFrom = 0;
  private capturePieces: Buffer[] | undefined;
  private captureBytes = 0;
  /** Whether the capture is a string's contents (else a number's text). */
  private captureIsString = false;
  /** The chunk being pushed, and the index of the byte being stepped. */
  private chunk: Buffer = NO_BYTES;
  private at = 0;
  /** The top-level key whose value is being read. */
  private member: string | undefined;
  private readonly seen = new Set<string>();
  private jsonrpc: string | undefined;
  private id: string | number | undefined;
  private kind: 'result' | 'error' | undefined;
  private readonly special = new SpecialBytes();

  /** Scans `chunk`, the next bytes; false once the scan will not vouch for the answer. */
  push(chunk: Uint8Array): boolean {
    if (this.bad) return false;
    this.chunk = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.special.reset(chunk);
    let ok = this.scan(chunk);
    // A capture cut by the chunk's end keeps its piece (a copy: the chunk is not kept past its push).
    if (ok && this.capturing) ok = this.keepCapturePiece();
    this.special.reset(NO_BYTES);
    this.chunk = NO_BYTES;
    return ok;
  }

  private scan(chunk: Uint8Array): boolean {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (this.state === S_STRING) {
        // The body of a string: skipped up to the next quote, backslash or control byte.
        const j = this.special.next(i);
        if (this.capturing && this.captureBytes + (j - this.captureFrom) > MAX_KEY_BYTES) return this.fail();
        i = j;
        if (i === n) break;
      }
      this.at = i;
      if (!this.step(chunk[i]!)) return this.fail();
    }
    return true;
  }

  /** Starts a capture at `from` in the chunk being pushed. */
  private startCapture(from: number, isString: boolean): void {
    this.capturing = true;
    this.captureFrom = from;
    this.capturePieces = undefined;
    this.captureBytes = 0;
    this.captureIsString = isString;
  }

  private keepCapturePiece(): boolean {
    const piece = this.chunk.subarray(this.captureFrom);
    this.captureBytes += piece.length;
    if (this.captureBytes > MAX_KEY_BYTES) return this.fail();
    (this.capturePieces ??= []).push(Buffer.from(piece));
    this.captureFrom = 0;
    return true;
  }

  /** The capture's text, ending before index `end` of the chunk being pushed; the capture is over. */
  private endCapture(end: number, encoding: 'utf8' | 'latin1'): string {
    this.capturing = false;
    const pieces = this.capturePieces;
    this.capturePieces = undefined;
    if (!pieces) return this.chunk.toString(encoding, this.captureFrom, end);
    pieces.push(this.chunk.subarray(this.captureFrom, end));
    return Buffer.concat(pieces).toString(encoding);
  }

  /** The envelope of every byte pushed; undefined when the scan does not vouch for it. */
  end(): AnswerEnvelope | undefined {
    if (this.bad || this.state !== S_END || this.jsonrpc !== '2.0' || this.id === undefined || this.kind === undefined) return undefined;
    return { id: this.id, isError: this.kind === 'error' };
  }

  private fail(): false {
    this.bad = true;
    return false;
  }

  /** One byte `c`; false when it cannot be there. */
  private step(c: number): boolean {
    switch (this.state) {
      case S_STRING:
        if (c === QUOTE) return this.stringEnd();
        if (c !== BACKSLASH || this.capturing) return false; // a raw control character, or an escape in what the envelope reads
        this.state = S_ESCAPE;
        return true;
      case S_ESCAPE:
        if (c === 0x75) {
          this.state = S_HEX;
          this.hexLeft = 4;
          return true;
        }
        this.state = S_STRING;
        return c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
      case S_HEX:
        if (!isHex(c)) return false;
        if (--this.hexLeft === 0) this.state = S_STRING;
        return true;
      case S_NUMBER:
        return this.numberByte(c);
      case S_LITERAL:
        if (c !== this.literal[this.literalAt]) return false;
        if (++this.literalAt === this.literal.length) this.valueEnd();
        return true;
    }
    if (isSpace(c)) return true;
    switch (this.state) {
      case S_VALUE_OR_CLOSE:
        if (c === CLOSE_BRACKET) return this.close(false);
        return this.valueStart(c);
      case S_VALUE:
        return this.valueStart(c);
      case S_KEY_OR_CLOSE:
        if (c === CLOSE_BRACE) return this.close(true);
        return this.keyStart(c);
      case S_KEY:
        return this.keyStart(c);
      case S_COLON:
        if (c !== COLON) return false;
        this.state = S_VALUE;
        return true;
      case S_AFTER_VALUE: {
        const isObject = this.open[this.open.length - 1]!;
        if (c === COMMA) {
          this.state = isObject ? S_KEY : S_VALUE;
          return true;
        }
        return c === (isObject ? CLOSE_BRACE : CLOSE_BRACKET) && this.close(isObject);
      }
      default:
        return false; // S_END: something after the value
    }
  }

  private keyStart(c: number): boolean {
    if (c !== QUOTE) return false;
    this.state = S_STRING;
    this.inKey = true;
    if (this.open.length === 1) this.startCapture(this.at + 1, true);
    return true;
  }

  /** A value starts with `c`. */
  private valueStart(c: number): boolean {
    const top = this.open.length === 1 ? this.member : undefined;
    if (this.open.length === 0 && c !== OPEN_BRACE) return false; // an answer is an object
    if (top === 'result' || top === 'error') {
      if (this.kind !== undefined || c !== OPEN_BRACE) return false;
      this.kind = top;
    } else if (top === 'jsonrpc' || top === 'id') {
      if (!(c === QUOTE || (top === 'id' && (c === 0x2d || isDigit(c))))) return false;
      this.startCapture(c === QUOTE ? this.at + 1 : this.at, c === QUOTE);
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (this.open.length >= MAX_DEPTH) return false;
      this.open.push(c === OPEN_BRACE);
      this.state = c === OPEN_BRACE ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
      return true;
    }
    if (c === QUOTE) {
      this.state = S_STRING;
      this.inKey = false;
      return true;
    }
    if (c === 0x2d || isDigit(c)) {
      this.state = S_NUMBER;
      this.numberAt = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
      return true;
    }
    const literal = LITERALS[c];
    if (!literal) return false;
    this.state = S_LITERAL;
    this.literal = literal;
    this.literalAt = 1;
    return true;
  }

  private numberByte(c: number): boolean {
    const digit = isDigit(c);
    switch (this.numberAt) {
      case N_MINUS:
        if (!digit) return false;
        this.numberAt = c === 0x30 ? N_ZERO : N_INT;
        break;
      case N_DOT:
        if (!digit) return false;
        this.numberAt = N_FRACTION;
        break;
      case N_E:
        if (c === 0x2b || c === 0x2d) this.numberAt = N_E_SIGN;
        else if (digit) this.numberAt = N_EXPONENT;
        else return false;
        break;
      case N_E_SIGN:
        if (!digit) return false;
        this.numberAt = N_EXPONENT;
        break;
      default: {
        // N_ZERO, N_INT, N_FRACTION, N_EXPONENT: the number may end here.
        const at = this.numberAt;
        if (digit && at !== N_ZERO) break;
        if (c === 0x2e && (at === N_ZERO || at === N_INT)) this.numberAt = N_DOT;
        else if ((c === 0x65 || c === 0x45) && at !== N_EXPONENT) this.numberAt = N_E;
        else {
          // The number ended before c, which comes after it.
          this.valueEnd();
          return this.step(c);
        }
      }
    }
    return !this.capturing || this.captureBytes + (this.at + 1 - this.captureFrom) <= MAX_KEY_BYTES;
  }

  private stringEnd(): boolean {
    if (!this.inKey) {
      this.valueEnd();
      return true;
    }
    this.inKey = false;
    this.state = S_COLON;
    if (this.open.length !== 1) return true;
    const key = this.endCapture(this.at, 'utf8');
    if (key === 'method' || this.seen.has(key)) return false; // a request, or a repeated key: JSON.parse decides
    this.seen.add(key);
    this.member = key;
    return true;
  }

  /** A container closes. */
  private close(isObject: boolean): boolean {
    if (this.open.pop() !== isObject) return false;
    this.valueEnd();
    return true;
  }

  /** A value ended: the envelope takes what it reads; the container goes on, or the whole ended. */
  private valueEnd(): void {
    if (this.capturing && this.open.length === 1) {
      // A string ends at its closing quote, a number before the byte after it: both at `at`.
      const text = this.endCapture(this.at, this.captureIsString ? 'utf8' : 'latin1');
      if (this.member === 'jsonrpc') this.jsonrpc = text;
      else if (!this.captureIsString) {
        const n = Number(text);
        this.id = Number.isInteger(n) ? n : undefined;
        if (this.id === undefined) this.bad = true;
      } else this.id = text;
    }
    this.state = this.open.length === 0 ? S_END : S_AFTER_VALUE;
  }
}

/** Keys, jsonrpc and ids longer than this are left to JSON.parse. */
const MAX_KEY_BYTES = 1024;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
