// The per-session log that makes the gateway's event streams resumable: ids, replay by stream, bounds.
import { EventLog, MAX_BYTES, MAX_EVENTS } from '../../src/gateway/data-plane/event-log.js';

const note = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { n } });
const idOf = (frame: string) => /^id: (\d+)\n/.exec(frame)![1]!;

it('numbers every event, and replays what a stream was sent after a cursor, and nothing of other streams', () => {
  const log = new EventLog();
  const primed = log.append('post-1', undefined);
  expect(primed).toMatch(/^id: 1\ndata: \n\n$/);
  log.append('get', note(1));
  const answer = log.append('post-1', { jsonrpc: '2.0', id: 7, result: {} });
  expect(answer).toBe('id: 3\nevent: message\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n');
  expect(log.after('1')).toEqual({ stream: 'post-1', frames: [answer] });
  expect(log.after('3')).toEqual({ stream: 'post-1', frames: [] });
  expect(log.after('2')).toEqual({ stream: 'get', frames: [] });
  for (const unknown of ['0', '4', '', 'x', '1e3', '-1', '01']) expect(log.after(unknown)).toBeUndefined();

  log.forget('post-1');
  expect(log.after('1')).toEqual({ stream: 'post-1', frames: [] });
});

it(`keeps at most ${MAX_EVENTS} events and ${MAX_BYTES} bytes, the newest whatever its size`, () => {
  const log = new EventLog();
  const first = idOf(log.append('get', note(0)));
  for (let n = 1; n <= MAX_EVENTS; n++) log.append('get', note(n));
  expect(log.after(first)).toBeUndefined();
  expect(log.after(String(Number(first) + 1))!.frames).toHaveLength(MAX_EVENTS - 1);

  const huge = log.append('post-2', { jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(MAX_BYTES) } });
  const before = String(Number(idOf(huge)) - 1);
  expect(log.after(before)).toBeUndefined(); // everything older made room
  expect(log.after(idOf(huge))).toEqual({ stream: 'post-2', frames: [] });
});
