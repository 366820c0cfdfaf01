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
// joined); string contents are skipped four bytes at a time.

import { isUtf8 } from 'node:buffer';

export interface AnswerEnvelope {
  id: string | number;
  /** An error answer (else a result). */
  isError: boolean;
}

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

/** Returned by the scanners for bytes that are not JSON. */
const BAD = -1;

/**
 * The envelope of the answer whose bytes are `chunks`, in order; undefined when it does not vouch for
 * them. `plain[k]`, when given, is isPlain(chunks[k]), found as the chunks arrived: the scan then skips
 * those chunks inside a string at once.
 */
export function scanAnswerEnvelope(chunks: readonly Uint8Array[], plain?: readonly boolean[]): AnswerEnvelope | undefined {
  const s = new Scanner(chunks, plain);
  let i = s.ws(0);
  if (s.at(i) !== OPEN_BRACE) return undefined;
  i = s.ws(i + 1);
  let jsonrpc: string | undefined;
  let id: string | number | undefined;
  let kind: 'result' | 'error' | undefined;
  const seen = new Set<string>();
  if (s.at(i) === CLOSE_BRACE) return undefined;
  for (;;) {
    if (s.at(i) !== QUOTE) return undefined;
    const keyEnd = s.string(i);
    if (keyEnd === BAD) return undefined;
    const key = s.plainText(i, keyEnd);
    if (key === undefined) return undefined; // an escaped key: JSON.parse decides what it names
    if (seen.has(key)) return undefined;
    seen.add(key);
    i = s.ws(keyEnd);
    if (s.at(i) !== COLON) return undefined;
    i = s.ws(i + 1);
    const valueStart = i;
    i = s.value(i);
    if (i === BAD) return undefined;
    if (key === 'method') return undefined;
    if (key === 'jsonrpc') jsonrpc = s.at(valueStart) === QUOTE ? s.plainText(valueStart, i) : undefined;
    else if (key === 'id') id = s.id(valueStart, i);
    else if (key === 'result' || key === 'error') {
      if (kind !== undefined || s.at(valueStart) !== OPEN_BRACE) return undefined;
      kind = key;
    }
    i = s.ws(i);
    if (s.at(i) === COMMA) {
      i = s.ws(i + 1);
      continue;
    }
    if (s.at(i) !== CLOSE_BRACE) return undefined;
    i = s.ws(i + 1);
    break;
  }
  if (i !== s.length || jsonrpc !== '2.0' || id === undefined || kind === undefined) return undefined;
  return { id, isError: kind === 'error' };
}

/** Whether `chunk` holds no quote, backslash or control character (inside a string it is all content). */
export function isPlain(chunk: Uint8Array): boolean {
  return run(chunk, 0) === chunk.length;
}

/**
 * Whether `chunks` in order are UTF-8, each checked where it lies; a character split between two chunks
 * is checked whole (one split over three chunks answers false, and the caller decodes the usual way).
 */
export function chunksAreUtf8(chunks: readonly Buffer[]): boolean {
  let carry: Buffer | undefined;
  for (let k = 0; k < chunks.length; k++) {
    let chunk = chunks[k]!;
    if (carry) {
      const need = sequenceLength(carry[0]!) - carry.length;
      if (chunk.length < need || !isUtf8(Buffer.concat([carry, chunk.subarray(0, need)]))) return false;
      chunk = chunk.subarray(need);
      carry = undefined;
    }
    const complete = k === chunks.length - 1 ? chunk.length : completeLength(chunk);
    if (!isUtf8(chunk.subarray(0, complete))) return false;
    if (complete < chunk.length) carry = chunk.subarray(complete);
  }
  return true;
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

class Scanner {
  readonly length: number;
  /** Where each chunk starts in the whole. */
  private readonly starts: number[] = [];
  /** The chunk at() read last, and its bounds. */
  private cur: Uint8Array;
  /** The index of `cur` in chunks. */
  private k = 0;
  private lo = 0;
  private hi: number;

  constructor(
    private readonly chunks: readonly Uint8Array[],
    private readonly plain?: readonly boolean[],
  ) {
    let total = 0;
    for (const chunk of chunks) {
      this.starts.push(total);
      total += chunk.length;
    }
    this.length = total;
    this.cur = chunks[0] ?? new Uint8Array(0);
    this.hi = this.cur.length;
  }

  /** The byte at `i` of the whole; undefined past its end. */
  at(i: number): number | undefined {
    if (i < this.lo || i >= this.hi) {
      if (i < 0 || i >= this.length) return undefined;
      this.seek(i);
    }
    return this.cur[i - this.lo];
  }

  private seek(i: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.starts[mid]! <= i) low = mid;
      else high = mid - 1;
    }
    // Empty chunks share a start with the next: take the one that holds i.
    while (this.chunks[low]!.length === 0 || this.starts[low]! + this.chunks[low]!.length <= i) low++;
    this.cur = this.chunks[low]!;
    this.k = low;
    this.lo = this.starts[low]!;
    this.hi = this.lo + this.cur.length;
    return low;
  }

  ws(i: number): number {
    for (;;) {
      const c = this.at(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
      i++;
    }
  }

  /** One JSON value at `i` (no leading whitespace): the index after it, or BAD. */
  value(i: number): number {
    /** true: an object is open, false: an array. */
    const open: boolean[] = [];
    for (;;) {
      // A value starts at i.
      const c = this.at(i);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (open.length >= MAX_DEPTH) return BAD;
        i = this.ws(i + 1);
        if (this.at(i) === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
          i++;
        } else {
          open.push(c === OPEN_BRACE);
          if (c === OPEN_BRACE) {
            i = this.member(i);
            if (i === BAD) return BAD;
          }
          continue;
        }
      } else if (c === QUOTE) {
        i = this.string(i);
      } else if (c === 0x2d || isDigit(c)) {
        i = this.number(i);
      } else if (c === 0x74) {
        i = this.literal(i, 'true');
      } else if (c === 0x66) {
        i = this.literal(i, 'false');
      } else if (c === 0x6e) {
        i = this.literal(i, 'null');
      } else {
        return BAD;
      }
      if (i === BAD) return BAD;
      // After a value: close containers, or go on to the next element.
      for (;;) {
        if (open.length === 0) return i;
        i = this.ws(i);
        const isObject = open[open.length - 1]!;
        const next = this.at(i);
        if (next === COMMA) {
          i = this.ws(i + 1);
          if (isObject) {
            i = this.member(i);
            if (i === BAD) return BAD;
          }
          break;
        }
        if (next !== (isObject ? CLOSE_BRACE : CLOSE_BRACKET)) return BAD;
        open.pop();
        i++;
      }
    }
  }

  /** A member's key and colon at `i`: the index of its value. */
  private member(i: number): number {
    if (this.at(i) !== QUOTE) return BAD;
    i = this.string(i);
    if (i === BAD) return BAD;
    i = this.ws(i);
    if (this.at(i) !== COLON) return BAD;
    return this.ws(i + 1);
  }

  /** The string at `i` (its opening quote): the index after its closing quote, or BAD. */
  string(i: number): number {
    i++;
    for (;;) {
      i = this.plainRun(i);
      const c = this.at(i);
      if (c === undefined) return BAD;
      if (c === QUOTE) return i + 1;
      if (c !== BACKSLASH) return BAD; // a raw control character
      const e = this.at(i + 1);
      if (e === 0x75) {
        for (let k = i + 2; k < i + 6; k++) if (!isHex(this.at(k))) return BAD;
        i += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else {
        return BAD;
      }
    }
  }

  /** The first index at or after `i` holding a quote, a backslash or a control character (or the length). */
  private plainRun(i: number): number {
    while (i < this.length) {
      if (i < this.lo || i >= this.hi) this.seek(i);
      if (this.plain?.[this.k] === true) {
        i = this.hi;
        continue;
      }
      const found = run(this.cur, i - this.lo);
      if (found < this.cur.length) return this.lo + found;
      i = this.hi;
    }
    return this.length;
  }

  private number(i: number): number {
    if (this.at(i) === 0x2d) i++;
    if (this.at(i) === 0x30) i++;
    else if (isDigit(this.at(i))) while (isDigit(this.at(i))) i++;
    else return BAD;
    if (this.at(i) === 0x2e) {
      i++;
      if (!isDigit(this.at(i))) return BAD;
      while (isDigit(this.at(i))) i++;
    }
    const e = this.at(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = this.at(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(this.at(i))) return BAD;
      while (isDigit(this.at(i))) i++;
    }
    return i;
  }

  private literal(i: number, word: string): number {
    for (let k = 0; k < word.length; k++) if (this.at(i + k) !== word.charCodeAt(k)) return BAD;
    return i + word.length;
  }

  /** Bytes [start, end) of the whole. */
  private slice(start: number, end: number): Buffer {
    const bytes = Buffer.allocUnsafe(end - start);
    for (let k = start; k < end; k++) bytes[k - start] = this.at(k)!;
    return bytes;
  }

  /** The text of the string from `start` (its quote) to `end` (after its quote); undefined when it has escapes (or is long). */
  plainText(start: number, end: number): string | undefined {
    if (end - start > MAX_KEY_BYTES) return undefined;
    const bytes = this.slice(start + 1, end - 1);
    return bytes.includes(BACKSLASH) ? undefined : bytes.toString('utf8');
  }

  /** An id as isMessage takes it: a string without escapes, or an integer. */
  id(start: number, end: number): string | number | undefined {
    const c = this.at(start);
    if (c === QUOTE) return this.plainText(start, end);
    if (c !== 0x2d && !isDigit(c)) return undefined;
    if (end - start > MAX_KEY_BYTES) return undefined;
    const n = Number(this.slice(start, end).toString('latin1'));
    return Number.isInteger(n) ? n : undefined;
  }
}

/** Keys, jsonrpc and ids longer than this are left to JSON.parse. */
const MAX_KEY_BYTES = 1024;

/** The first index at or after `i` in `b` holding a special byte, or b.length; four bytes at a time where aligned. */
function run(b: Uint8Array, i: number): number {
  const end = b.length;
  const base = (4 - (b.byteOffset % 4)) % 4;
  while (i < end && (i < base || (i - base) % 4 !== 0)) {
    if (special(b[i]!)) return i;
    i++;
  }
  const words = Math.max(0, (end - base) >>> 2);
  if (i < end && words > 0) {
    const view = new Uint32Array(b.buffer, b.byteOffset + base, words);
    let w = (i - base) >>> 2;
    while (w < words && !specialWord(view[w]!)) w++;
    i = base + w * 4;
  }
  while (i < end) {
    if (special(b[i]!)) return i;
    i++;
  }
  return end;
}

/** Whether any byte of the word is below 0x20, a quote or a backslash (exact as a whole). */
function specialWord(x: number): boolean {
  const q = x ^ 0x22222222;
  const s = x ^ 0x5c5c5c5c;
  return ((((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080) !== 0;
}

function special(c: number): boolean {
  return c < 0x20 || c === QUOTE || c === BACKSLASH;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
