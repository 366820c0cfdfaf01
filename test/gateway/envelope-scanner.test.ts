// The envelope scanner pushed a chunk at a time (as the relay does while it passes an answer on) answers
// what it answers for the whole, however the bytes are cut: through numbers, literals, escapes and keys.
import fc from 'fast-check';
import { EnvelopeScanner, scanAnswerEnvelope } from '../../src/gateway/data-plane/answer-envelope.js';

function pushed(bytes: Buffer, cuts: number[]): ReturnType<EnvelopeScanner['end']> {
  const scanner = new EnvelopeScanner();
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const next = Math.min(bytes.length, at + Math.max(1, cuts[k % cuts.length]!));
    if (!scanner.push(bytes.subarray(at, next))) return undefined;
    at = next;
  }
  return scanner.end();
}

it('agrees with the whole-buffer scan on generated answers cut into single bytes or at random', () => {
  const answer = fc.record({
    jsonrpc: fc.constantFrom('2.0', '2.0', '1.0'),
    id: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant('-1')),
    result: fc.jsonValue(),
  });
  fc.assert(
    fc.property(answer, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 0, max: 127 }), (a, cuts, at, byte) => {
      const bytes = Buffer.from(JSON.stringify(a), 'utf8');
      const whole = scanAnswerEnvelope([bytes]);
      expect(pushed(bytes, [1])).toEqual(whole);
      expect(pushed(bytes, cuts)).toEqual(whole);
      // One byte changed anywhere: still the same answer however it is cut.
      bytes[at % bytes.length] = byte;
      expect(pushed(bytes, [1])).toEqual(scanAnswerEnvelope([bytes]));
    }),
    { numRuns: 1000 },
  );
});

it('stops at the first byte it cannot vouch for, and answers nothing after it', () => {
  const scanner = new EnvelopeScanner();
  expect(scanner.push(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"t":"ab'))).toBe(true);
  expect(scanner.push(Buffer.from('\u0001'))).toBe(false);
  expect(scanner.push(Buffer.from('c"}}'))).toBe(false);
  expect(scanner.end()).toBeUndefined();
});
