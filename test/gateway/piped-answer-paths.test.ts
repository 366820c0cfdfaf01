// The two ways a large JSON answer used to be read in full before it was relayed, now passed on as it
// arrives under the same cap and checks (answer-pipe.ts): an answer without a declared length (chunked),
// and an answer on a POST that has already become an event stream (a client of protocol 2025-11-25 not
// answered within STREAM_AFTER_MS, on the data plane's injected clock). Real SDK clients, a real upstream
// writing 8 MB in 16 KiB chunks; order is asserted by what happened, never by time.
import type { ServerResponse } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { STREAM_AFTER_MS } from '../../src/gateway/data-plane/client-channel.js';
import { SseParser } from '../../src/domain/sse-parser.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { rawSession, startAnswerGateway, startAnswerUpstream, writeInChunks, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'piped-answer-test-token-0123456789';
const SIZE = 8 * 1024 * 1024;
const CAP = 12 * 1024 * 1024;
const CHUNK = 16 * 1024;
const TEXT = 'a'.repeat(SIZE);

/**
 * The answer as an upstream may format it: line breaks (LF and CRLF) between its tokens, so that on an
 * event stream it takes many data lines; `tail` goes at the end of the text.
 */
function answerBytes(id: string | number, text: string, tail = ''): Buffer {
  const body = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'TEXT' }], isError: false } }, null, 1).replace('\n', '\r\n');
  return Buffer.from(body.replace('"TEXT"', `"${text}${tail}"`), 'utf8');
}

/** Calls held by the upstream at a named step until the test lets them on. */
const held = new Map<string, (() => void)[]>();
function holdAt(step: string): Promise<void> {
  return new Promise((resolve) => held.set(step, [...(held.get(step) ?? []), resolve]));
}
const heldAt = (step: string) => held.get(step)?.length ?? 0;
function letOn(step: string): void {
  const waiting = held.get(step) ?? [];
  held.delete(step);
  for (const go of waiting) go();
}

/** Writes `bytes` without a declared length in 16 KiB chunks: first held at "start", then at "half" when `halfway`. */
async function chunked(res: ServerResponse, bytes: Buffer, halfway: boolean): Promise<void> {
  await holdAt('start');
  res.writeHead(200, { 'content-type': 'application/json' });
  const half = halfway ? bytes.length >> 1 : bytes.length;
  await writeInChunks(res, bytes.subarray(0, half), CHUNK);
  if (halfway) await holdAt('half');
  await writeInChunks(res, bytes.subarray(half), CHUNK);
  res.end();
}

let upstream: AnswerUpstream;
let gateway: AnswerGateway;
let clock: FakeClock;

beforeAll(async () => {
  upstream = await startAnswerUpstream({
    large: (res, id) => void chunked(res, answerBytes(id, TEXT), true),
    // A raw control byte near the end of the text: not JSON, found long after the answer began to pass.
    broken: (res, id) => void chunked(res, answerBytes(id, TEXT, '\u0001'), false),
    // The answer to another request.
    'other-id': (res, id) => void chunked(res, answerBytes(`not-${String(id)}`, TEXT), false),
    // Twice the cap, with no length declared to refuse it by.
    oversized: (res, id) => void chunked(res, answerBytes(id, 'b'.repeat(2 * CAP)), false),
    small: (res, id) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'small answer' }] } }));
    },
  });
  clock = new FakeClock(Date.now());
  gateway = await startAnswerGateway({ name: 'piped', upstreamUrl: upstream.url, token: TOKEN, maxMessageBytes: CAP, clock });
});

afterAll(async () => {
  letOn('start');
  letOn('half');
  await gateway.close();
  await upstream.close();
});

interface Counted {
  client: Client;
  /** Body bytes the client has received so far, over all its responses. */
  readonly received: number;
  /** The content type of each response to a POST, in order. */
  types: string[];
}

/** An SDK client (protocol 2025-11-25) whose fetch counts the bytes it received as they come. */
async function sdkClient(): Promise<Counted> {
  let received = 0;
  const types: string[] = [];
  const counting = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(url, init);
    if (init?.method === 'POST') types.push(res.headers.get('content-type') ?? '');
    if (!res.body) return res;
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const client = new Client({ name: 'piped-test', version: '1.0.0' });
  client.onerror = () => undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL(gateway.base), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } }, fetch: counting }));
  return {
    client,
    get received() {
      return received;
    },
    types,
  };
}

/** The message of what a call rejected with (an error of fetch's realm is not an Error of the test's). */
function failure(error: unknown): string | undefined {
  return typeof (error as { message?: unknown } | undefined)?.message === 'string' ? (error as { message: string }).message : undefined;
}

type Mode = 'chunked JSON' | 'an event stream';
const MODES: Mode[] = ['chunked JSON', 'an event stream'];
const CONTENT_TYPE: Record<Mode, string> = { 'chunked JSON': 'application/json', 'an event stream': 'text/event-stream' };

/** Calls `tool` and lets the upstream start its answer once the client's POST is in `mode`. */
async function call(counted: Counted, tool: string, mode: Mode): Promise<{ result: Promise<unknown> }> {
  const before = heldAt('start');
  const result = counted.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: 120_000 });
  result.catch(() => undefined);
  await waitFor(() => heldAt('start') === before + 1, { what: `the upstream to take the call of ${tool}` });
  // Unanswered for STREAM_AFTER_MS on the gateway's clock: the POST becomes an event stream (synchronously).
  if (mode === 'an event stream') clock.advance(STREAM_AFTER_MS);
  letOn('start');
  return { result };
}

/**
 * Calls `tool` as `call` does and answers what the call failed with: on an event stream the gateway
 * still writes a JSON-RPC error, which the SDK raises as an McpError.
 */
async function failedCall(counted: Counted, tool: string, mode: Mode): Promise<unknown> {
  const { result } = await call(counted, tool, mode);
  const error = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failure(error)).toBeTruthy();
  if (mode === 'an event stream') expect(error).toBeInstanceOf(McpError);
  return error;
}

describe.each(MODES)('a large answer on %s', (mode) => {
  it('is passed on as it arrives (the client reads it before the upstream finished), while another session is answered', async () => {
    const large = await sdkClient();
    const other = await sdkClient();
    try {
      const { result } = await call(large, 'large', mode);
      let settled = false;
      void result.then(
        () => (settled = true),
        () => (settled = true),
      );
      await waitFor(() => heldAt('half') === 1, { what: 'the upstream to write half of the answer' });
      // Half of it reaches the client while the upstream holds the rest back.
      await waitFor(() => large.received >= SIZE / 2 - 64 * 1024, { what: 'the client to receive the first half' });
      // Another session's request is answered meanwhile.
      await other.client.ping();
      expect(settled).toBe(false);
      letOn('half');
      const answer = (await result) as { content: { type: string; text: string }[] };
      expect(answer.content[0]!.text).toBe(TEXT);
      expect(large.types.at(-1)).toBe(CONTENT_TYPE[mode]);
      // The session goes on.
      expect(((await large.client.callTool({ name: 'small', arguments: {} })) as { content: unknown }).content).toEqual([{ type: 'text', text: 'small answer' }]);
    } finally {
      await large.client.close();
      await other.client.close();
    }
  });

  it.each([
    ['not JSON', 'broken'],
    ['the answer to another request', 'other-id'],
  ])('that proves %s midway fails that request alone; the session goes on', async (_what, tool) => {
    const counted = await sdkClient();
    try {
      const error = await failedCall(counted, tool, mode);
      if (mode === 'an event stream') expect((error as McpError).message).toContain('not the JSON-RPC answer to this request');
      expect(counted.types.at(-1)).toBe(CONTENT_TYPE[mode]);
      expect(((await counted.client.callTool({ name: 'small', arguments: {} })) as { content: unknown }).content).toEqual([{ type: 'text', text: 'small answer' }]);
    } finally {
      await counted.client.close();
    }
  });

  it('past the cap is refused midway, the upstream hung up on; the session goes on', async () => {
    const counted = await sdkClient();
    const cutOff = upstream.cutOff;
    try {
      const error = await failedCall(counted, 'oversized', mode);
      if (mode === 'an event stream') {
        expect((error as McpError).message).toContain(`larger than ${CAP} bytes`);
        expect((error as McpError).message).toContain('--upstream-max-message-bytes');
      }
      await waitFor(() => upstream.cutOff > cutOff, { what: 'the gateway to hang up on the oversized answer' });
      // Never more than the cap went to the client.
      expect(counted.received).toBeLessThan(CAP + 64 * 1024);
      expect(((await counted.client.callTool({ name: 'small', arguments: {} })) as { content: unknown }).content).toEqual([{ type: 'text', text: 'small answer' }]);
    } finally {
      await counted.client.close();
    }
  });
});

it('goes on into the event log when the client drops in the middle of the event: resuming with Last-Event-ID gets it whole', async () => {
  const send = await rawSession(gateway, '2025-11-25');
  const aborted = new AbortController();
  const before = heldAt('start');
  const answering = fetch(gateway.base, {
    method: 'POST',
    headers: send.headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 'resumed', method: 'tools/call', params: { name: 'large', arguments: {} } }),
    signal: aborted.signal,
  });
  await waitFor(() => heldAt('start') === before + 1, { what: 'the upstream to take the call' });
  clock.advance(STREAM_AFTER_MS);
  letOn('start');
  const res = await answering;
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  // Read the priming event's id, then some of the answer's event, and leave.
  const reader = res.body!.getReader();
  let text = '';
  while (!/^id: (\d+)\ndata: \n\n/.test(text) || text.length < 256 * 1024) text += Buffer.from((await reader.read()).value!).toString('latin1');
  const priming = /^id: (\d+)\n/.exec(text)![1]!;
  await waitFor(() => heldAt('half') === 1, { what: 'the upstream to write half of the answer' });
  aborted.abort();
  letOn('half');
  // The rest of the answer went into the log meanwhile: the replay carries the whole event.
  const messages: unknown[] = [];
  const parser = new SseParser({ onEvent: (e) => void (e.data !== '' && messages.push(JSON.parse(e.data))), maxEventBytes: 2 * CAP });
  const replay = await fetch(gateway.base, { method: 'GET', headers: { ...send.headers, accept: 'text/event-stream', 'last-event-id': priming } });
  expect(replay.status).toBe(200);
  // What was logged so far, then the rest as it comes; the stream ends with the answer.
  parser.push(Buffer.from(await replay.arrayBuffer()));
  expect(messages).toEqual([{ jsonrpc: '2.0', id: 'resumed', result: { content: [{ type: 'text', text: TEXT }], isError: false } }]);
});
