import { SseEventTooLargeError, SseParser, type SseEvent } from '../../src/domain/sse-parser.js';

function parse(chunks: Array<string | Buffer>, maxEventBytes?: number): { events: SseEvent[]; retries: number[] } {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms), ...(maxEventBytes !== undefined ? { maxEventBytes } : {}) });
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return { events, retries };
}

/** Every way to cut `bytes` in two, and byte by byte: the answer must not depend on the chunking. */
function everyChunking(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
  ways.push([...bytes].map((b) => Buffer.from([b])));
  return ways;
}

const ev = (data: string, extra: Partial<SseEvent> = {}): SseEvent => ({ event: undefined, id: undefined, data, ...extra });

describe('SseParser', () => {
  const table: Array<[string, string, SseEvent[], number[]?]> = [
    ['one event, LF', 'data: hello\n\n', [ev('hello')]],
    ['CRLF line ends', 'data: a\r\ndata: b\r\n\r\n', [ev('a\nb')]],
    ['CR line ends', 'data: a\rdata: b\r\r', [ev('a\nb')]],
    ['mixed line ends', 'event: x\r\ndata: 1\rdata: 2\n\r\n', [ev('1\n2', { event: 'x' })]],
    ['no space after the colon; only one space is stripped', 'data:a\ndata:  b\n\n', [ev('a\n b')]],
    ['a field without a colon is a field with an empty value', 'data\n\n', [ev('')]],
    ['comments are skipped', ': keep-alive\ndata: x\n: more\n\n', [ev('x')]],
    ['an event without data is not dispatched, and its type does not carry over', 'event: a\n\ndata: b\n\n', [ev('b')]],
    ['the id carries over to later events', 'id: 7\ndata: a\n\ndata: b\n\n', [ev('a', { id: '7' }), ev('b', { id: '7' })]],
    ['an id with NUL is ignored', 'id: 1\ndata: a\n\nid: 2\u0000\ndata: b\n\n', [ev('a', { id: '1' }), ev('b', { id: '1' })]],
    ['an empty event type is "message"', 'event:\ndata: a\n\n', [ev('a')]],
    ['an unfinished event is not dispatched', 'data: a\n\ndata: b\n', [ev('a')]],
    ['retry with digits only', 'retry: 1500\nretry: 1.5\nretry: x\ndata: a\n\n', [ev('a')], [1500]],
    ['unknown fields are ignored', 'foo: bar\ndata: a\n\n', [ev('a')]],
    ['multi-byte UTF-8', 'data: grüße 🌍 ✓\n\n', [ev('grüße 🌍 ✓')]],
  ];

  it.each(table)('%s, however the bytes are chunked', (_name, text, expected, retries = []) => {
    for (const chunks of everyChunking(Buffer.from(text, 'utf8'))) {
      const got = parse(chunks);
      expect(got.events).toEqual(expected);
      expect(got.retries).toEqual(retries);
    }
  });

  it('decodes invalid UTF-8 with the replacement character', () => {
    expect(parse([Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a])]).events).toEqual([ev('\ufffd')]);
  });

  it('throws once an event passes the cap, counting every byte since the last blank line', () => {
    // "data: 12345\n" is 12 bytes, the blank line 1: 13 bytes fit a cap of 13.
    expect(parse(['data: 12345\n\n'], 13).events).toEqual([ev('12345')]);
    expect(() => parse(['data: 12345\n\n'], 12)).toThrow(SseEventTooLargeError);
    // Comments count too (an endless stream of comments is an endless event).
    expect(() => parse([': 1234567\n', ': 1234567\n'], 15)).toThrow('an event of the stream exceeded 15 bytes');
    // Each event has the whole cap.
    expect(parse(['data: 1234\n\ndata: 5678\n\ndata: 9abc\n\n'], 12).events.map((e) => e.data)).toEqual(['1234', '5678', '9abc']);
  });

  it('throws on an endless line while it streams, before the line ends', () => {
    const parser = new SseParser({ onEvent: () => undefined, maxEventBytes: 1000 });
    parser.push(Buffer.from('data: '));
    const chunk = Buffer.alloc(100, 0x61);
    let fed = 0;
    expect(() => {
      for (;;) {
        parser.push(chunk);
        fed += chunk.length;
      }
    }).toThrow(SseEventTooLargeError);
    expect(fed).toBeLessThan(1000);
  });

  it('checks sizes without onEvent (a guard), blank lines split across chunks included', () => {
    const guard = new SseParser({ maxEventBytes: 20 });
    for (let i = 0; i < 100; i++) {
      guard.push(Buffer.from('data: 0123456789\r'));
      guard.push(Buffer.from('\n\r'));
      guard.push(Buffer.from('\n'));
    }
    expect(() => guard.push(Buffer.from('data: 0123456789\r\ndata: x\r\n'))).toThrow(SseEventTooLargeError);
  });

  it('feeds a large event in small chunks and answers it whole', () => {
    const payload = 'x'.repeat(200_000);
    const bytes = Buffer.from(`data: ${payload}\n\n`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    expect(parse(chunks).events).toEqual([ev(payload)]);
  });
});
