// What a small relayed call costs the data plane, as contracts: one switch timer per session (not one per
// POST) that still switches each POST exactly STREAM_AFTER_MS after it came; answers read from bytes that
// share one shape; metrics recorded with label objects made once per series, counted as before.
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import { HttpUpstreamTransport } from '../../src/gateway/data-plane/upstream-http.js';
import { answerFromBytes, serialize } from '../../src/gateway/data-plane/json-rpc.js';
import { STREAM_AFTER_MS } from '../../src/gateway/data-plane/client-channel.js';
import { LabelCache, PromDataPlaneMetrics } from '../../src/gateway/data-plane/metrics.js';
import type { Clock, TimerHandle } from '../../src/domain/clock.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { json, rawSession, startAnswerGateway, startAnswerUpstream, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'small-call-path-token-0123456789';

/** A fake clock whose now() can be set back (as a wall clock can), its timers unmoved. */
class SettableClock implements Clock {
  back = 0;
  constructor(private readonly inner: FakeClock) {}
  now(): number {
    return this.inner.now() - this.back;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    this.inner.clearTimeout(handle);
  }
}

describe('the switch to an event stream', () => {
  let upstream: AnswerUpstream;
  let gateway: AnswerGateway;
  let clock: FakeClock;
  let settable: SettableClock;
  const held = new Map<string | number, () => void>();

  beforeAll(async () => {
    upstream = await startAnswerUpstream({
      slow: (res: ServerResponse, id) => held.set(id, () => json(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'late' }] } })),
    });
    clock = new FakeClock(Date.now());
    settable = new SettableClock(clock);
    gateway = await startAnswerGateway({ name: 'small-path', upstreamUrl: upstream.url, token: TOKEN, clock: settable });
  });

  afterAll(async () => {
    for (const release of held.values()) release();
    await gateway.close();
    await upstream.close();
  });

  it(`runs one timer for every waiting POST of a session, and switches each ${STREAM_AFTER_MS} ms after it came`, async () => {
    const send = await rawSession(gateway, '2025-11-25');
    const types = new Map<number, string>();
    const post = (id: number) => send({ id, method: 'tools/call', params: { name: 'slow', arguments: {} } }).then((res) => void types.set(id, res.headers.get('content-type') ?? ''));
    const early = [post(1), post(2), post(3)];
    await waitFor(() => held.has(1) && held.has(2) && held.has(3), { what: 'the upstream to hold three calls' });
    const switchTimers = () => clock.pendingTimers().filter((t) => t.inMs > 0 && t.inMs <= STREAM_AFTER_MS);
    // Three POSTs wait: one timer, not three.
    expect(switchTimers().map((t) => t.inMs)).toEqual([STREAM_AFTER_MS]);

    clock.advance(STREAM_AFTER_MS / 2);
    const late = post(4);
    await waitFor(() => held.has(4), { what: 'the upstream to hold the fourth call' });
    expect(switchTimers()).toHaveLength(1);

    // The first three are due; the fourth came half a period later and is not yet.
    clock.advance(STREAM_AFTER_MS / 2);
    await Promise.all(early);
    expect([types.get(1), types.get(2), types.get(3)]).toEqual(['text/event-stream', 'text/event-stream', 'text/event-stream']);
    await flushPromises();
    expect(types.has(4)).toBe(false);
    expect(switchTimers().map((t) => t.inMs)).toEqual([STREAM_AFTER_MS / 2]);

    clock.advance(STREAM_AFTER_MS / 2 - 1);
    await flushPromises();
    expect(types.has(4)).toBe(false);
    clock.advance(1);
    await late;
    expect(types.get(4)).toBe('text/event-stream');
    // Nothing waits any more: no timer is left armed for the session.
    expect(switchTimers()).toEqual([]);
  });

  it('counts a clock set back as due: no POST waits longer than the period', async () => {
    const send = await rawSession(gateway, '2025-11-25');
    let type: string | undefined;
    const pending = send({ id: 10, method: 'tools/call', params: { name: 'slow', arguments: {} } }).then((res) => (type = res.headers.get('content-type') ?? ''));
    await waitFor(() => held.has(10), { what: 'the upstream to hold the call' });
    // The wall clock goes back an hour while the call waits: it is switched when the period has passed all the same.
    settable.back = 3_600_000;
    try {
      clock.advance(STREAM_AFTER_MS);
      await pending;
      expect(type).toBe('text/event-stream');
    } finally {
      settable.back = 0;
    }
  });
});

describe('answers read from bytes', () => {
  it('share one accessor for their result, so every answer has the same shape', () => {
    const a = answerFromBytes({ id: 1, isError: false } as never, [Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"n":1}}')]);
    const b = answerFromBytes({ id: 2, isError: false } as never, [Buffer.from('{"jsonrpc":"2.0","id":2,"result":{"n":2}}')]);
    expect(Object.getOwnPropertyDescriptor(a, 'result')!.get).toBe(Object.getOwnPropertyDescriptor(b, 'result')!.get);
    // Each still reads its own bytes, once, and then holds the value.
    expect((a as { result: unknown }).result).toEqual({ n: 1 });
    expect((b as { result: unknown }).result).toEqual({ n: 2 });
    expect(Object.getOwnPropertyDescriptor(a, 'result')!.value).toEqual({ n: 1 });
    expect(serialize(b)).toBe('{"jsonrpc":"2.0","id":2,"result":{"n":2}}');
    const e = answerFromBytes({ id: 3, isError: true } as never, [Buffer.from('{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}')]);
    expect('result' in e).toBe(false);
    expect((e as { error: unknown }).error).toEqual({ code: -1, message: 'no' });
  });
});

describe('data-plane metrics', () => {
  it('hand prom-client the same label object for a series each time, and a different one per series', () => {
    const made: string[] = [];
    const cache = new LabelCache((a: string, b: number) => (made.push(`${a}/${b}`), { a, b }));
    expect(cache.get('x', 1)).toBe(cache.get('x', 1));
    expect(cache.get('x', 2)).not.toBe(cache.get('x', 1));
    expect(cache.get('y', 1)).toEqual({ a: 'y', b: 1 });
    expect(made).toEqual(['x/1', 'x/2', 'y/1']);
  });

  it('count requests, latencies and errors by server, method and outcome as before', async () => {
    const registry = new Registry();
    const metrics = new PromDataPlaneMetrics(registry);
    metrics.request('one', 'tools/call', 'ok');
    metrics.request('one', 'tools/call', 'ok');
    metrics.request('one', 'tools/call', 'error');
    metrics.request('two', 'tools/call', 'refused');
    metrics.request('one', 'tasks/get', 'timeout');
    metrics.upstreamLatency('one', 'tools/call', 0.002);
    metrics.upstreamLatency('two', 'ping', 0.5);
    metrics.error('one', 'upstream_send');
    metrics.error('one', 'upstream_send');
    metrics.error('two', 'unknown_session');
    const text = await registry.metrics();
    const sample = (line: string) => Number(new RegExp(`^${line.replace(/[{}/]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('mcp_gateway_requests_total{server="one",method="tools/call",outcome="ok"}')).toBe(2);
    expect(sample('mcp_gateway_requests_total{server="one",method="tools/call",outcome="error"}')).toBe(1);
    expect(sample('mcp_gateway_requests_total{server="two",method="tools/call",outcome="refused"}')).toBe(1);
    expect(sample('mcp_gateway_requests_total{server="one",method="other",outcome="timeout"}')).toBe(1);
    expect(sample('mcp_gateway_upstream_latency_seconds_count{server="one",method="tools/call"}')).toBe(1);
    expect(sample('mcp_gateway_upstream_latency_seconds_bucket{le="0.5",server="two",method="ping"}')).toBe(1);
    expect(sample('mcp_gateway_upstream_latency_seconds_bucket{le="0.25",server="two",method="ping"}')).toBe(0);
    expect(sample('mcp_gateway_errors_total{server="one",kind="upstream_send"}')).toBe(2);
    expect(sample('mcp_gateway_errors_total{server="two",kind="unknown_session"}')).toBe(1);
  });
});

describe('the upstream transport', () => {
  it('aborts every exchange still under way when it closes, whichever joined first, and relays without a promise', async () => {
    const held: (() => void)[] = [];
    let cut = 0;
    const upstream = await startAnswerUpstream({
      slow: (res, id) => {
        res.once('close', () => void (res.writableFinished || cut++));
        held.push(() => json(res, { jsonrpc: '2.0', id, result: { content: [] } }));
      },
      quick: (res, id) => json(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'quick' }] } }),
    });
    const dispatcher = new Agent();
    const transport = new HttpUpstreamTransport({
      url: new URL(upstream.url),
      headers: {},
      dispatcher,
      sessionId: 'answer-upstream-session',
      protocolVersion: '2025-06-18',
      reconnection: { initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
    });
    const answers: unknown[] = [];
    transport.onmessage = (message) => void answers.push(message);
    const failures: Error[] = [];
    try {
      // One answered in full first: it leaves the list before the others join.
      transport.relay({ jsonrpc: '2.0', id: 'q', method: 'tools/call', params: { name: 'quick' } }, (error) => failures.push(error));
      await waitFor(() => answers.length === 1 || undefined, { what: 'the quick answer' });
      for (const id of [1, 2, 3]) transport.relay({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow' } }, (error) => failures.push(error));
      await waitFor(() => held.length === 3 || undefined, { what: 'the upstream to hold three calls' });
      await transport.close();
      await waitFor(() => (failures.length === 3 && cut === 3) || undefined, { what: 'every exchange under way to be aborted' });
      expect(failures.map((e) => e.name)).toEqual(['AbortError', 'AbortError', 'AbortError']);
      expect(answers).toEqual([{ jsonrpc: '2.0', id: 'q', result: { content: [{ type: 'text', text: 'quick' }] } }]);
    } finally {
      await dispatcher.close();
      await upstream.close();
    }
  });
});
