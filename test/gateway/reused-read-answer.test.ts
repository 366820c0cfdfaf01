// The data plane's upstream transport on the reused-read dispatcher (POSTs over plain http): a large answer
// goes to a slow client as views of the socket's read buffer, the client holding each write a while (as a
// socket that did not take it at once does): every byte arrives intact, because no read happens until the
// client let go; the last byte is held until the answer was checked; the answer cap applies midway.
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { Agent } from 'undici';
import type { AnswerPipe } from '../../src/gateway/data-plane/answer-pipe.js';
import { HttpUpstreamTransport } from '../../src/gateway/data-plane/upstream-http.js';
import { ReusedReadDispatcher } from '../../src/upstream/reused-read-dispatcher.js';
import { startAnswerUpstream, writeInChunks, type AnswerUpstream } from './answer-upstream.js';

const TEXT = randomBytes(3_000_000).toString('base64');
const answerOf = (id: string | number) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: TEXT }] } }));

let upstream: AnswerUpstream;
let dispatcher: ReusedReadDispatcher;
let agent: Agent;

beforeAll(async () => {
  upstream = await startAnswerUpstream({
    sized: (res: ServerResponse, id) => {
      const body = answerOf(id);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    },
    chunked: (res: ServerResponse, id) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      void writeInChunks(res, answerOf(id), 7000).then(() => res.end());
    },
  });
});

afterAll(async () => {
  await upstream.close();
});

beforeEach(() => {
  dispatcher = new ReusedReadDispatcher();
  agent = new Agent();
});

afterEach(async () => {
  await dispatcher.destroy();
  await agent.destroy();
});

function transport(maxMessageBytes = 32 * 1024 * 1024): HttpUpstreamTransport {
  return new HttpUpstreamTransport({
    url: new URL(upstream.url),
    headers: {},
    dispatcher: agent,
    postDispatcher: dispatcher,
    sessionId: 'answer-upstream-session',
    protocolVersion: '2025-06-18',
    reconnection: { initialReconnectionDelay: 10, maxReconnectionDelay: 10, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
    maxMessageBytes,
  });
}

interface SlowClient {
  pipe: AnswerPipe;
  hash: ReturnType<typeof createHash>;
  bytes: number;
  /** Writes the client held (did not take at once). */
  held: number;
  /** Bytes handed to write() so far, and in the last write. */
  given: number;
  lastWrite: number;
  outcome: Promise<{ ended: boolean; reason?: string; data?: Record<string, unknown> }>;
}

/**
 * A client that takes every other write at once (hashing it) and holds the rest as given (the views
 * themselves, no copy), hashing them only when it lets go of them on a later turn.
 */
function slowClient(): SlowClient {
  let settle!: (v: { ended: boolean; reason?: string; data?: Record<string, unknown> }) => void;
  const client: SlowClient = {
    hash: createHash('sha256'),
    bytes: 0,
    held: 0,
    given: 0,
    lastWrite: 0,
    outcome: new Promise((resolve) => (settle = resolve)),
    pipe: {
      write: (chunks, written) => {
        client.lastWrite = chunks.reduce((n, c) => n + c.length, 0);
        client.given += client.lastWrite;
        const take = () => {
          for (const c of chunks) {
            client.hash.update(c);
            client.bytes += c.length;
          }
        };
        if (client.held++ % 2 === 1) {
          take();
          return true;
        }
        setImmediate(() => {
          take();
          written();
        });
        return false;
      },
      onClose: () => undefined,
      end: () => {
        // The held-back last byte is written just before end(): wait a turn for writes still held.
        setImmediate(() => settle({ ended: true }));
      },
      abort: (reason, data) => settle({ ended: false, reason, ...(data ? { data } : {}) }),
    },
  };
  return client;
}

async function call(t: HttpUpstreamTransport, tool: string, id: number, client: SlowClient): Promise<JSONRPCMessage | undefined> {
  let answered: JSONRPCMessage | undefined;
  t.onmessage = (m) => (answered = m);
  let opened: number | undefined;
  t.answerPipe = (_id, contentLength) => {
    opened = contentLength;
    return client.pipe;
  };
  t.relay({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } }, (error) => (answered = { jsonrpc: '2.0', id, error: { code: 0, message: error.message } }));
  const outcome = await Promise.race([client.outcome, new Promise<undefined>((resolve) => (t.onmessage = (m) => resolve(void (answered = m))))]);
  expect(opened === undefined || typeof opened === 'number').toBe(true);
  return outcome ? undefined : answered;
}

it.each(['sized', 'chunked'])('passes a %s answer to a slow client intact while reads wait for it', async (tool) => {
  const t = transport();
  const client = slowClient();
  const answered = await call(t, tool, 7, client);
  expect(answered).toBeUndefined();
  expect(await client.outcome).toEqual({ ended: true });
  const expected = answerOf(7);
  expect(client.bytes).toBe(expected.length);
  expect(client.hash.digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  expect(client.held).toBeGreaterThan(20);
  // The last byte came alone, once the answer was checked, just before end().
  expect(client.lastWrite).toBe(1);
  // Keep-alive: one socket for the session's POSTs.
  expect(dispatcher.openSockets()).toBe(1);
  await t.close();
});

it('a second large answer on the same kept socket arrives intact too', async () => {
  const t = transport();
  for (const id of [8, 9]) {
    const client = slowClient();
    await call(t, 'sized', id, client);
    expect(await client.outcome).toEqual({ ended: true });
    expect(client.hash.digest('hex')).toBe(createHash('sha256').update(answerOf(id)).digest('hex'));
  }
  expect(dispatcher.openSockets()).toBe(1);
  await t.close();
});

it('an answer without a declared length that passes the cap midway is cut off with the cap\'s reason', async () => {
  const t = transport(1_000_000);
  const client = slowClient();
  await call(t, 'chunked', 10, client);
  const outcome = await client.outcome;
  expect(outcome.ended).toBe(false);
  expect(outcome.data).toEqual({ reason: 'ResponseTooLarge', limitBytes: 1_000_000 });
  expect(client.bytes).toBeLessThanOrEqual(1_000_000);
  await t.close();
});

it('an answer that declares a length past the cap is answered with the JSON-RPC error, nothing piped', async () => {
  const t = transport(1_000_000);
  const client = slowClient();
  const answered = await call(t, 'sized', 11, client);
  expect(answered).toMatchObject({ id: 11, error: { data: { reason: 'ResponseTooLarge', limitBytes: 1_000_000 } } });
  expect(client.bytes).toBe(0);
  await t.close();
});
