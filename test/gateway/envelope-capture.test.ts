// The envelope scanner reads the top-level keys, jsonrpc and id where they lie in each chunk, keeping only
// the piece of one cut by a chunk's end: whatever the cuts, it reads what JSON.parse reads, up to the
// 1024 bytes a key or value may have (longer ones are left to JSON.parse: no envelope).
import { EnvelopeScanner } from '../../src/gateway/data-plane/answer-envelope.js';

/** The scanner's envelope of `text` pushed in pieces of `size` bytes (after a first piece of `first`). */
function scanned(text: string, first: number, size: number): ReturnType<EnvelopeScanner['end']> {
  const bytes = Buffer.from(text, 'utf8');
  const scanner = new EnvelopeScanner();
  let at = 0;
  let next = Math.min(bytes.length, first);
  while (at < bytes.length) {
    if (!scanner.push(bytes.subarray(at, next))) return undefined;
    at = next;
    next = Math.min(bytes.length, at + size);
  }
  return scanner.end();
}

function everyCut(text: string, expected: ReturnType<EnvelopeScanner['end']>): void {
  const length = Buffer.byteLength(text);
  for (let first = 1; first <= length; first++) expect(scanned(text, first, length)).toEqual(expected);
  for (const size of [1, 2, 3, 7, 64]) expect(scanned(text, size, size)).toEqual(expected);
}

it('reads a string id, a number id and jsonrpc cut anywhere, multi-byte characters included', () => {
  everyCut('{"jsonrpc":"2.0","id":"req-é€😀-7","result":{}}', { id: 'req-é€😀-7', isError: false });
  everyCut('{ "id" : -12345 , "jsonrpc" : "2.0" , "error" : { "code" : 1 } }', { id: -12345, isError: true });
  everyCut('{"result":{"a":[1,"x"]},"id":0,"jsonrpc":"2.0"}', { id: 0, isError: false });
});

it('reads ids of up to 1024 bytes however they are cut, and leaves longer ones to JSON.parse', () => {
  const answer = (id: string) => `{"jsonrpc":"2.0","id":${id},"result":{}}`;
  const longest = 'i'.repeat(1024);
  for (const size of [1, 5, 100, 1000, 5000]) {
    expect(scanned(answer(JSON.stringify(longest)), size, size)).toEqual({ id: longest, isError: false });
    expect(scanned(answer(JSON.stringify(`${longest}i`)), size, size)).toBeUndefined();
    expect(scanned(answer('1'.repeat(1024)), size, size)).toBeUndefined(); // read, but past a double's range: not an integer id
    expect(scanned(answer(`1${'0'.repeat(1024)}`), size, size)).toBeUndefined();
  }
  const key = 'k'.repeat(1025);
  for (const size of [1, 300, 5000]) expect(scanned(`{"${key}":1,"jsonrpc":"2.0","id":1,"result":{}}`, size, size)).toBeUndefined();
});

it('refuses an escape or a control character in what it reads, and a repeated or method key', () => {
  for (const text of [
    '{"jsonrpc":"2.0","id":"a\\u0062","result":{}}',
    '{"jsonrpc":"2\\u002e0","id":1,"result":{}}',
    '{"jsonrpc":"2.0","i\\u0064":1,"result":{}}',
    '{"jsonrpc":"2.0","id":"a\tb","result":{}}',
    '{"jsonrpc":"2.0","id":1,"id":2,"result":{}}',
    '{"jsonrpc":"2.0","id":1,"method":"x","result":{}}',
  ]) {
    for (const size of [1, 4, 1000]) expect(scanned(text, size, size)).toBeUndefined();
  }
});
