// Header values lose their leading and trailing blanks (SP, HTAB) in one pass: a run of blanks inside a
// value costs its length, not its length squared (a regex's `[\t ]+$` rescans the run from each of its
// starts: 16 KiB of blanks took ≈0.1 s, 1 MiB would take minutes). And the parser's errors carry undici's
// codes (`HPE_…` once).
import { ResponseParser, parserError, trimBlanks, type ResponseHead } from '../../src/upstream/http1-response-parser.js';

it('trims blanks at both ends only', () => {
  expect(trimBlanks('  \t a \t b \t ')).toBe('a \t b');
  expect(trimBlanks('\t\t')).toBe('');
  expect(trimBlanks('')).toBe('');
  expect(trimBlanks('plain')).toBe('plain');
  expect(trimBlanks(` x${' '.repeat(1000)}y `)).toBe(`x${' '.repeat(1000)}y`);
});

it('parses a head whose value holds a 1 MiB run of blanks, keeping them (linear: a quadratic trim would not finish)', () => {
  const blanks = ' '.repeat(1024 * 1024);
  const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nX-Wide: a${blanks}b\r\nX-Edge:${blanks}c${blanks}\r\nContent-Length: 2\r\n\r\nhi`, 'latin1');
  let head: ResponseHead | undefined;
  const body: Buffer[] = [];
  const parser = new ResponseParser(4 * 1024 * 1024, { head: (h) => (head = h), body: (c) => body.push(Buffer.from(c)), end: () => undefined });
  parser.start('POST');
  parser.execute(bytes, 0, bytes.length);
  expect(head!.headers['x-wide']).toBe(`a${blanks}b`);
  expect(head!.headers['x-edge']).toBe('c');
  expect(Buffer.concat(body).toString()).toBe('hi');
});

it("gives errors undici's codes", () => {
  expect((parserError('Invalid status line', 'HPE_INVALID_STATUS') as Error & { code?: string }).code).toBe('HPE_INVALID_STATUS');
});
