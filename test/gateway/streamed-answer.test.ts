// Large JSON answers passed on to the client as they arrive (answer-pipe.ts): the client starts reading
// before the upstream finished; bytes that prove not to be the answer end the client's connection (the
// request fails, the session goes on); a declared length past the cap is refused cleanly before a byte is
// read; a client that leaves mid-answer stops the upstream read.
import type { ServerResponse } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { STREAM_ANSWER_FROM_BYTES } from '../../src/gateway/data-plane/answer-pipe.js';
import { waitFor } from '../support/wait-for.js';
import { json, rawSession, startAnswerGateway, startAnswerUpstream, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'streamed-answer-test-token-0123456789';
const CAP = 4 * 1024 * 1024;
const SIZE = 4 * STREAM_ANSWER_FROM_BYTES;

/** A tools/call answer of `size` bytes of text for `id`; `tail` goes at the end of the text. */
function answer(id: unknown, size: number, tail = ''): string {
  return JSON.stringify({ result: { content: [{ type: 'text', text: 'x'.repeat(size) }] }, jsonrpc: '2.0', id }).replace(`${'x'.repeat(8)}"`, `${'x'.repeat(8)}${tail}"`);
}

let upstream: AnswerUpstream;
let gateway: AnswerGateway;
let base: string;
/** "held" answers that wrote their first half and wait. */
let held: (() => void)[] = [];

/** Writes `body` with its length declared: the first half now, the rest after `release` (when given). */
function declared(res: ServerResponse, body: string, release?: Promise<void>): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  const half = bytes.length >> 1;
  res.write(bytes.subarray(0, half));
  void (release ?? Promise.resolve()).then(() => {
    if (!res.destroyed) res.end(bytes.subarray(half));
  });
}

beforeAll(async () => {
  upstream = await startAnswerUpstream({
    held: (res, id) => declared(res, answer(id, SIZE), new Promise((resolve) => held.push(resolve))),
    small: (res, id) => json(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'small answer' }] } }),
    // A raw control character near the end, long after the answer began to be passed on.
    'control-byte': (res, id) => declared(res, answer(id, SIZE, '\u0001')),
    'other-id': (res, id) => declared(res, answer(`not-${String(id)}`, SIZE)),
    // Declares more than the cap, and would send it only when asked to.
    'too-big': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(CAP + 1) });
      res.write('{"result":{');
    },
    // Declared, half written, never finished: the client leaves in the middle.
    endless: (res, id) => declared(res, answer(id, SIZE), new Promise(() => undefined)),
  });
  gateway = await startAnswerGateway({ name: 'streamed', upstreamUrl: upstream.url, token: TOKEN, maxMessageBytes: CAP });
  base = gateway.base;
});

afterAll(async () => {
  for (const release of held) release();
  await gateway.close();
  await upstream.close();
});

const session = () => rawSession(gateway);

async function sdkClient(): Promise<Client> {
  const client = new Client({ name: 'streamed-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(base), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  return client;
}

it('passes a large answer on before the upstream finished it, byte for byte, with its length', async () => {
  const send = await session();
  const res = await send({ id: 7, method: 'tools/call', params: { name: 'held', arguments: {} } });
  // The upstream holds the second half back until released: the client already has the head and bytes.
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  const expected = Buffer.from(answer(7, SIZE), 'utf8');
  expect(res.headers.get('content-length')).toBe(String(expected.length));
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  expect(first.value!.length).toBeGreaterThan(0);
  expect(held).toHaveLength(1);
  held.shift()!();
  const chunks: Uint8Array[] = [first.value!];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  expect(Buffer.concat(chunks).equals(expected)).toBe(true);
});

it.each([
  ['a raw control byte near its end', 'control-byte'],
  ['the answer to another id', 'other-id'],
])('ends the client connection when a passed-on answer proves to be %s; the session goes on', async (_what, tool) => {
  const send = await session();
  const res = await send({ id: 8, method: 'tools/call', params: { name: tool, arguments: {} } });
  expect(res.status).toBe(200);
  // The body never completes: fewer bytes than its declared length, then the connection ends.
  await expect(res.arrayBuffer()).rejects.toThrow();
  const small = (await (await send({ id: 9, method: 'tools/call', params: { name: 'small', arguments: {} } })).json()) as { id: number; result: unknown };
  expect(small).toEqual({ jsonrpc: '2.0', id: 9, result: { content: [{ type: 'text', text: 'small answer' }] } });
});

it("an MCP client (the SDK's) sees that one request fail, and calls again on the same session", async () => {
  const client = await sdkClient();
  try {
    await expect(client.callTool({ name: 'control-byte', arguments: {} })).rejects.toThrow();
    expect((await client.callTool({ name: 'small', arguments: {} })).content).toEqual([{ type: 'text', text: 'small answer' }]);
  } finally {
    await client.close();
  }
});

it('refuses a declared length past the cap with a JSON-RPC error, before reading it', async () => {
  const client = await sdkClient();
  const before = upstream.cutOff;
  try {
    const error = await client.callTool({ name: 'too-big', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).message).toContain(`larger than ${CAP} bytes`);
    expect((error as McpError).message).toContain('--upstream-max-message-bytes');
    await waitFor(() => upstream.cutOff > before, { what: 'the oversized answer to be hung up on' });
    expect((await client.callTool({ name: 'small', arguments: {} })).content).toEqual([{ type: 'text', text: 'small answer' }]);
  } finally {
    await client.close();
  }
});

it('stops reading the upstream when the client leaves in the middle of a passed-on answer', async () => {
  const send = await session();
  const before = upstream.cutOff;
  const res = await send({ id: 10, method: 'tools/call', params: { name: 'endless', arguments: {} } });
  const reader = res.body!.getReader();
  expect((await reader.read()).done).toBe(false);
  await reader.cancel();
  await waitFor(() => upstream.cutOff > before, { what: 'the gateway to hang up on the upstream answer' });
  const small = (await (await send({ id: 11, method: 'tools/call', params: { name: 'small', arguments: {} } })).json()) as { id: number };
  expect(small.id).toBe(11);
});
