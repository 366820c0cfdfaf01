// The strict HTTP/1.1 response parser (src/upstream/http1-response-parser.ts) fed the same answers split at
// every byte position, and byte by byte, into one reused buffer (as the dispatcher's socket reads them): the
// head, the body bytes and the end are the same however the reads fall; limits hold across reads.
import { errors } from 'undici';
import { ResponseParser, type ResponseHead } from '../../src/upstream/http1-response-parser.js';

interface Seen {
  head?: ResponseHead;
  body: Buffer[];
  ended: number;
}

/** Parses `bytes` as reads of the given sizes, each copied into one buffer that is reused (stale bytes after it). */
function parse(bytes: Buffer, sizes: number[], maxHeaderSize = 16 * 1024): Seen & { stoppedEarly: boolean } {
  const seen: Seen = { body: [], ended: 0 };
  const parser = new ResponseParser(maxHeaderSize, {
    head: (head) => (seen.head = head),
    body: (chunk) => seen.body.push(Buffer.from(chunk)),
    end: () => seen.ended++,
  });
  parser.start('POST');
  const buffer = Buffer.alloc(bytes.length + 16, 0x41);
  let at = 0;
  let stoppedEarly = false;
  for (const size of sizes) {
    buffer.fill(0x0a);
    bytes.copy(buffer, 0, at, at + size);
    const stopped = parser.execute(buffer, 0, size);
    if (stopped < size) stoppedEarly = true;
    at += size;
  }
  return { ...seen, stoppedEarly };
}

function splits(length: number): number[][] {
  const out: number[][] = [];
  for (let cut = 1; cut < length; cut++) out.push([cut, length - cut]);
  out.push(Array.from({ length }, () => 1));
  return out;
}

const CHUNKED = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Two: a\r\nx-two: b\r\n\r\n5;ext=1\r\nhello\r\n1a\r\n, world and the rest of it\r\n0\r\nx-trailer: t\r\n\r\n');
const SIZED = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 201 Created\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world');

it('a chunked answer with extensions and trailers, read in two parts split anywhere or byte by byte', () => {
  for (const sizes of splits(CHUNKED.length)) {
    const seen = parse(CHUNKED, sizes);
    expect(seen.head).toEqual({ statusCode: 200, statusMessage: 'OK', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-two': ['a', 'b'] }, keepAlive: true });
    expect(Buffer.concat(seen.body).toString()).toBe('hello, world and the rest of it');
    expect(seen.ended).toBe(1);
    expect(seen.stoppedEarly).toBe(false);
  }
});

it('a sized HTTP/1.0 keep-alive answer after a 100, split anywhere or byte by byte', () => {
  for (const sizes of splits(SIZED.length)) {
    const seen = parse(SIZED, sizes);
    expect(seen.head).toEqual({ statusCode: 201, statusMessage: 'Created', headers: { 'content-length': '11', connection: 'keep-alive' }, keepAlive: true });
    expect(Buffer.concat(seen.body).toString()).toBe('hello world');
    expect(seen.ended).toBe(1);
  }
});

it('stops at the answer\'s end: the bytes after it are not read', () => {
  const bytes = Buffer.concat([Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'), Buffer.from('HTTP/1.1 200 OK\r\n')]);
  const seen = parse(bytes, [bytes.length]);
  expect(seen.head?.statusCode).toBe(204);
  expect(seen.ended).toBe(1);
  expect(seen.stoppedEarly).toBe(true);
});

it('the head limit holds over reads, byte by byte', () => {
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(2000)}\r\ncontent-length: 0\r\n\r\n`);
  expect(() => parse(head, Array.from({ length: head.length }, () => 1), 1024)).toThrow(errors.HeadersOverflowError);
  expect(parse(head, [head.length], 4096).ended).toBe(1);
});

it('trailers count against the head limit, a chunk-size line against its own', () => {
  const trailers = Buffer.from(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n${'x-t: 1234567890\r\n'.repeat(100)}\r\n`);
  expect(() => parse(trailers, [trailers.length], 1024)).toThrow(errors.HeadersOverflowError);
  const longSize = Buffer.from(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;${'e'.repeat(2000)}\r\n{}\r\n0\r\n\r\n`);
  expect(() => parse(longSize, [longSize.length])).toThrow(errors.HTTPParserError);
});

it('an answer without length ends with the connection', () => {
  const seen: Seen = { body: [], ended: 0 };
  const parser = new ResponseParser(16 * 1024, { head: (h) => (seen.head = h), body: (c) => seen.body.push(Buffer.from(c)), end: () => seen.ended++ });
  parser.start('POST');
  const bytes = Buffer.from('HTTP/1.1 200 OK\r\n\r\nuntil the end');
  expect(parser.execute(bytes, 0, bytes.length)).toBe(bytes.length);
  expect(seen.head?.keepAlive).toBe(false);
  expect(parser.untilClose).toBe(true);
  expect(parser.finish()).toBe(true);
  expect(Buffer.concat(seen.body).toString()).toBe('until the end');
  expect(seen.ended).toBe(1);
});
