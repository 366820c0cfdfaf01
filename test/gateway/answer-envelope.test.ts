import fc from 'fast-check';
import { chunksAreUtf8, scanAnswerEnvelope as scanChunks } from '../../src/gateway/data-plane/answer-envelope.js';

const scanAnswerEnvelope = (bytes: Buffer) => scanChunks([bytes]);

/** `bytes` cut at every `cuts` step, in turn (an empty chunk for a step of 0; some step must be positive). */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const next = Math.min(bytes.length, at + cuts[k % cuts.length]!);
    chunks.push(bytes.subarray(at, next));
    at = next;
  }
  return chunks;
}
import { isMessage } from '../../src/gateway/data-plane/json-rpc.js';

/** What the scan must agree with: JSON.parse, then the shape of an answer as isMessage reads it. */
function reference(text: string): { id: string | number; isError: boolean } | 'not-json' | 'not-answer' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not-json';
  }
  if (!isMessage(value) || 'method' in value) return 'not-answer';
  const m = value as Record<string, unknown>;
  if ('result' in m && 'error' in m) return 'not-answer';
  // The scan takes a result or error that is an object, as the protocol says (isMessage lets an array pass).
  if (Array.isArray(m.result ?? m.error)) return 'not-answer';
  return { id: m.id as string | number, isError: 'error' in m };
}

/** The scan never vouches for what JSON.parse refuses, and when it vouches it agrees with it. */
function check(text: string, bytes = Buffer.from(text, 'utf8')): void {
  const scanned = scanAnswerEnvelope(bytes);
  const expected = reference(text);
  if (scanned) expect(scanned).toEqual(expected);
}

describe('scanAnswerEnvelope', () => {
  it.each([
    ['a result', '{"jsonrpc":"2.0","id":1,"result":{}}', { id: 1, isError: false }],
    ['an error', '{"error":{"code":-32601,"message":"no"},"id":"a-1","jsonrpc":"2.0"}', { id: 'a-1', isError: true }],
    ['whitespace everywhere', ' \t\r\n{ "jsonrpc" : "2.0" ,\n "id" : 7 , "result" : { "a" : [ 1 , -2.5e+3 , true , false , null , "x" ] } }\n', { id: 7, isError: false }],
    ['unknown keys', '{"jsonrpc":"2.0","id":0,"result":{"content":[{"type":"text","text":"hi"}]},"extra":[{}]}', { id: 0, isError: false }],
    ['escapes and multi-byte text in a value', '{"jsonrpc":"2.0","id":2,"result":{"t":"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9 grüße 🌍"}}', { id: 2, isError: false }],
    ['a long string of every alignment', `{"jsonrpc":"2.0","id":3,"result":{"t":"${'x'.repeat(1001)}\\"${'y'.repeat(37)}"}}`, { id: 3, isError: false }],
  ])('vouches for %s', (_name, text, expected) => {
    expect(scanAnswerEnvelope(Buffer.from(text))).toEqual(expected);
    expect(reference(text)).toEqual(expected);
  });

  it.each([
    ['a request', '{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}'],
    ['no jsonrpc', '{"id":1,"result":{}}'],
    ['another version', '{"jsonrpc":"1.0","id":1,"result":{}}'],
    ['a fractional id', '{"jsonrpc":"2.0","id":1.5,"result":{}}'],
    ['a null id', '{"jsonrpc":"2.0","id":null,"result":{}}'],
    ['a result that is not an object', '{"jsonrpc":"2.0","id":1,"result":[]}'],
    ['both result and error', '{"jsonrpc":"2.0","id":1,"result":{},"error":{}}'],
    ['a repeated id', '{"jsonrpc":"2.0","id":1,"id":2,"result":{}}'],
    ['an escaped key', '{"jsonrpc":"2.0","\\u0069d":1,"result":{}}'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"result":{}}]'],
    ['a raw control character in a string', '{"jsonrpc":"2.0","id":1,"result":{"t":"a\u0001b"}}'],
    ['a raw line break in a string', '{"jsonrpc":"2.0","id":1,"result":{"t":"a\nb"}}'],
    ['a bad escape', '{"jsonrpc":"2.0","id":1,"result":{"t":"\\q"}}'],
    ['a short unicode escape', '{"jsonrpc":"2.0","id":1,"result":{"t":"\\u12"}}'],
    ['an unclosed string', '{"jsonrpc":"2.0","id":1,"result":{"t":"abc}}'],
    ['a trailing comma', '{"jsonrpc":"2.0","id":1,"result":{"a":1,}}'],
    ['a leading zero', '{"jsonrpc":"2.0","id":1,"result":{"a":01}}'],
    ['a bare minus', '{"jsonrpc":"2.0","id":1,"result":{"a":-}}'],
    ['a bad literal', '{"jsonrpc":"2.0","id":1,"result":{"a":nul}}'],
    ['an unbalanced bracket', '{"jsonrpc":"2.0","id":1,"result":{"a":[1}}'],
    ['something after the value', '{"jsonrpc":"2.0","id":1,"result":{}} x'],
    ['two values', '{"jsonrpc":"2.0","id":1,"result":{}}{}'],
    ['nesting past the scan depth', `{"jsonrpc":"2.0","id":1,"result":{"a":${'['.repeat(1001)}${']'.repeat(1001)}}}`],
    ['empty', ''],
    ['not JSON', 'The upstream is having a bad day.'],
  ])('leaves %s to JSON.parse', (_name, text) => {
    expect(scanAnswerEnvelope(Buffer.from(text))).toBeUndefined();
  });

  it('reads bytes at any offset of their buffer (the word view is aligned on its own)', () => {
    const text = `{"jsonrpc":"2.0","id":"k","result":{"t":"${'z'.repeat(200)}\\n"}}`;
    for (let offset = 0; offset < 8; offset++) {
      const backing = Buffer.alloc(text.length + offset + 3);
      backing.write(text, offset, 'utf8');
      expect(scanAnswerEnvelope(backing.subarray(offset, offset + Buffer.byteLength(text)))).toEqual({ id: 'k', isError: false });
    }
  });

  it('agrees with JSON.parse on generated answers and on their mutations', () => {
    const answer = fc.record({
      jsonrpc: fc.constantFrom('2.0', '2.0', '1.0'),
      id: fc.oneof(fc.integer(), fc.string(), fc.double()),
      result: fc.jsonValue(),
    });
    fc.assert(
      fc.property(answer, fc.nat(), fc.integer({ min: 0, max: 127 }), (a, at, byte) => {
        const text = JSON.stringify(a);
        check(text);
        // What JSON.stringify writes has no escaped or repeated keys: every answer among it is vouched for
        // (but an id with escapes, which the scan leaves to JSON.parse).
        const expected = reference(text);
        if (typeof expected === 'object' && !JSON.stringify(a.id).includes('\\')) expect(scanAnswerEnvelope(Buffer.from(text))).toEqual(expected);
        // One byte changed anywhere: the scan must never vouch for what JSON.parse refuses.
        const bytes = Buffer.from(text, 'utf8');
        if (bytes.length > 0) {
          bytes[at % bytes.length] = byte;
          check(bytes.toString('utf8'), bytes);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('answers the same however the bytes are cut into chunks, and checks UTF-8 across the cuts', () => {
    const filler = fc.array(fc.constantFrom('x', 'é', '"', '\\', '\n', 'q', '\u0001', '🌍', '✓'), { maxLength: 12 });
    fc.assert(
      fc.property(fc.nat({ max: 20_000 }), filler, fc.nat({ max: 300 }), fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 6 }), (before, middle, after, cuts) => {
        const text = `{"jsonrpc":"2.0","id":9,"result":{"t":"${'a'.repeat(before)}${JSON.stringify(middle.join('')).slice(1, -1)}${middle.join('')}${'b'.repeat(after)}"}}`;
        const bytes = Buffer.from(text, 'utf8');
        const chunks = cut(bytes, [...cuts, 1]);
        expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
        const alone = scanAnswerEnvelope(bytes);
        expect(scanChunks(chunks)).toEqual(alone);
        expect(alone === undefined).toBe(reference(text) === 'not-json');
        // A character split over any number of chunks is checked whole.
        expect(chunksAreUtf8(chunks)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('finds bytes that are not UTF-8, within a chunk or split between two', () => {
    const bad = [Buffer.from([0xc3]), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from([0xff]), Buffer.from([0xf0, 0x9f, 0x8c])];
    for (const b of bad) {
      const bytes = Buffer.concat([Buffer.from('{"a":"x'), b, Buffer.from('y"}')]);
      for (let at = 0; at <= bytes.length; at++) expect(chunksAreUtf8([bytes.subarray(0, at), bytes.subarray(at)])).toBe(false);
    }
    const good = Buffer.from('{"a":"grüße 🌍 ✓"}');
    for (let at = 0; at <= good.length; at++) {
      expect(chunksAreUtf8([good.subarray(0, at), good.subarray(at)])).toBe(true);
      // Cut into single bytes: every character is split over as many chunks as it has bytes.
      expect(chunksAreUtf8([...good].map((b) => Buffer.from([b])))).toBe(true);
    }
    for (const b of bad) {
      const bytes = Buffer.concat([Buffer.from('{"a":"x'), b, Buffer.from('y"}')]);
      expect(chunksAreUtf8([...bytes].map((c) => Buffer.from([c])))).toBe(false);
    }
  });
});
