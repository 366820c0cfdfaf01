// An event of the per-session log written in pieces as its answer arrives (a large answer passed on as an
// event), and the data lines such an answer's JSON is cut into.
import { dataLines } from '../../src/gateway/data-plane/client-channel.js';
import { EventLog, MAX_BYTES } from '../../src/gateway/data-plane/event-log.js';

const joined = (frames: (string | Buffer)[]) => Buffer.concat(frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f))).toString('utf8');

it('replays a streamed event as written so far, and whole once it ended; a trickle of bytes is kept in few pieces', () => {
  const log = new EventLog();
  const priming = log.append('post-1', undefined);
  const event = log.appendStreamed('post-1');
  expect(event.head).toBe('id: 2\nevent: message\ndata: ');
  event.add(Buffer.from('{"jsonrpc":"2.0",'));
  expect(joined(log.after('1')!.frames)).toBe('id: 2\nevent: message\ndata: {"jsonrpc":"2.0",');
  // 40,000 one-byte pieces: joined as they come, not kept one object each.
  for (let i = 0; i < 40_000; i++) event.add(Buffer.from('x'));
  event.add('\n\n');
  const frames = log.after(/^id: (\d+)/.exec(priming)![1]!)!.frames;
  expect(frames.length).toBeLessThan(10);
  expect(joined(frames)).toBe(`id: 2\nevent: message\ndata: {"jsonrpc":"2.0",${'x'.repeat(40_000)}\n\n`);
});

it('drops a discarded streamed event (never replayed), and counts a streamed event against the byte bound', () => {
  const log = new EventLog();
  log.append('post-1', undefined);
  const failed = log.appendStreamed('post-1');
  failed.add(Buffer.alloc(1000, 0x61));
  failed.discard();
  failed.add(Buffer.alloc(1000, 0x61));
  const error = log.append('post-1', { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'bad' } });
  expect(log.after('1')!.frames).toEqual([error]);

  const older = log.append('get', { jsonrpc: '2.0', method: 'notifications/message', params: {} });
  const big = log.appendStreamed('post-2');
  big.add(Buffer.alloc(MAX_BYTES, 0x61));
  // The newest event is kept whatever its size; older ones go to make room.
  expect(log.after(/^id: (\d+)/.exec(older)![1]!)).toBeUndefined();
  expect(log.after('1')).toBeUndefined();
});

it('cuts JSON into data lines at every line break, CR or LF, and leaves a chunk without one as it is', () => {
  const plain = Buffer.from('{"a":1}');
  expect(dataLines(plain)).toBe(plain);
  expect(dataLines(Buffer.from('{\n "a": 1,\r\n "b": 2\r}\n')).toString()).toBe('{\ndata:  "a": 1,\ndata: \ndata:  "b": 2\ndata: }\ndata: ');
  // Many breaks: linear (each search goes on from the last).
  const many = Buffer.from('1,\n'.repeat(100_000));
  expect(dataLines(many).toString().split('\ndata: ')).toHaveLength(100_001);
});
