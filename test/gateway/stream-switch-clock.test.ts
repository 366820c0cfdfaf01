// A POST not answered within STREAM_AFTER_MS becomes an event stream (for a client that can resume one):
// the switch runs on the data plane's injected clock, so it happens when that clock says so, never before.
import type { ServerResponse } from 'node:http';
import { STREAM_AFTER_MS } from '../../src/gateway/data-plane/client-channel.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { json, rawSession, startAnswerGateway, startAnswerUpstream, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'stream-switch-test-token-0123456789';

let upstream: AnswerUpstream;
let gateway: AnswerGateway;
let clock: FakeClock;
/** Calls of "slow" the upstream holds, by id: answer them with release. */
const slow = new Map<string | number, () => void>();

beforeAll(async () => {
  upstream = await startAnswerUpstream({
    slow: (res: ServerResponse, id) => slow.set(id, () => json(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'late' }] } })),
    quick: (res, id) => json(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'quick' }] } }),
  });
  clock = new FakeClock(Date.now());
  gateway = await startAnswerGateway({ name: 'switch', upstreamUrl: upstream.url, token: TOKEN, clock });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

/** Reads event-stream frames from `res` until one carries data; answers every frame read. */
async function framesUntilData(reader: ReadableStreamDefaultReader<Uint8Array>, seen: string[]): Promise<string[]> {
  let text = '';
  for (;;) {
    const frames = text.split('\n\n');
    text = frames.pop()!;
    seen.push(...frames);
    if (frames.some((f) => /^data: \S/m.test(f))) return seen;
    const r = await reader.read();
    if (r.done) return seen;
    text += Buffer.from(r.value).toString('utf8');
  }
}

it(`switches a resumable client's POST to an event stream when the injected clock passes ${STREAM_AFTER_MS} ms, not before`, async () => {
  const send = await rawSession(gateway, '2025-11-25');
  let headed = false;
  const pending = send({ id: 1, method: 'tools/call', params: { name: 'slow', arguments: {} } }).then((res) => ((headed = true), res));
  await waitFor(() => slow.has(1), { what: 'the upstream to hold the call' });
  expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([STREAM_AFTER_MS]);
  clock.advance(STREAM_AFTER_MS - 1);
  // Another request of the session is answered meanwhile; the held one still has no head.
  const quick = (await (await send({ id: 2, method: 'tools/call', params: { name: 'quick', arguments: {} } })).json()) as { id: number };
  expect(quick.id).toBe(2);
  await flushPromises();
  expect(headed).toBe(false);
  clock.advance(1);
  const res = await pending;
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const reader = res.body!.getReader();
  // The priming event (an id, no data) comes before the answer exists.
  const priming: string[] = [];
  const first = await reader.read();
  priming.push(Buffer.from(first.value!).toString('utf8'));
  expect(priming[0]).toMatch(/^id: \d+\ndata: \n\n$/);
  slow.get(1)!();
  const frames = await framesUntilData(reader, []);
  const answer = frames.find((f) => f.includes('data: {'))!;
  expect(JSON.parse(answer.slice(answer.indexOf('data: ') + 6))).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'late' }] } });
});

it('keeps a client of an earlier protocol on JSON however far the clock moves', async () => {
  const send = await rawSession(gateway, '2025-06-18');
  let headed = false;
  const pending = send({ id: 3, method: 'tools/call', params: { name: 'slow', arguments: {} } }).then((res) => ((headed = true), res));
  await waitFor(() => slow.has(3), { what: 'the upstream to hold the call' });
  // No switch is due (a stream delivered earlier may still be kept for replay: DELIVERED_REPLAY_MS).
  expect(clock.pendingTimers().filter((t) => t.inMs === STREAM_AFTER_MS)).toEqual([]);
  clock.advance(60_000);
  await (await send({ id: 4, method: 'tools/call', params: { name: 'quick', arguments: {} } })).json();
  await flushPromises();
  expect(headed).toBe(false);
  slow.get(3)!();
  const res = await pending;
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(((await res.json()) as { id: number }).id).toBe(3);
});
