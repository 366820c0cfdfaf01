// Large JSON answers passed on to the client as they arrive (answer-pipe.ts): the client starts reading
// before the upstream finished; bytes that prove not to be the answer end the client's connection (the
// request fails, the session goes on); a declared length past the cap is refused cleanly before a byte is
// read; a client that leaves mid-answer stops the upstream read.
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import { STREAM_ANSWER_FROM_BYTES } from '../../src/gateway/data-plane/answer-pipe.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'streamed-answer-test-token-0123456789';
const CAP = 4 * 1024 * 1024;
const SIZE = 4 * STREAM_ANSWER_FROM_BYTES;

/** A tools/call answer of `size` bytes of text for `id`; `tail` goes at the end of the text. */
function answer(id: unknown, size: number, tail = ''): string {
  return JSON.stringify({ result: { content: [{ type: 'text', text: 'x'.repeat(size) }] }, jsonrpc: '2.0', id }).replace(`${'x'.repeat(8)}"`, `${'x'.repeat(8)}${tail}"`);
}

let upstream: Server;
let http: Server;
let dir: string;
let store: SqliteGatewayStore;
let dataPlane: DataPlane;
let base: string;
/** "held" answers that wrote their first half and wait. */
let held: (() => void)[] = [];
/** Answers whose client (the gateway) closed the connection before they were written in full. */
let cutOff = 0;

/** Writes `body` with its length declared: the first half now, the rest after `release` (when given). */
function declared(res: ServerResponse, body: string, release?: Promise<void>): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  const half = bytes.length >> 1;
  res.write(bytes.subarray(0, half));
  res.once('close', () => {
    if (!res.writableFinished) cutOff++;
  });
  void (release ?? Promise.resolve()).then(() => {
    if (!res.destroyed) res.end(bytes.subarray(half));
  });
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string; params?: { name?: string; protocolVersion?: string } };
      if (m.id === undefined) return void res.writeHead(202).end();
      const json = (value: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'streamed-session' });
        res.end(JSON.stringify(value));
      };
      if (m.method === 'initialize') {
        return json({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'streamed', version: '1' } } });
      }
      const tools = ['held', 'small', 'control-byte', 'other-id', 'too-big', 'endless'];
      if (m.method === 'tools/list') return json({ jsonrpc: '2.0', id: m.id, result: { tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })) } });
      switch (m.params?.name) {
        case 'held':
          return declared(res, answer(m.id, SIZE), new Promise((resolve) => held.push(resolve)));
        case 'small':
          return json({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'small answer' }] } });
        case 'control-byte':
          // A raw control character near the end, long after the answer began to be passed on.
          return declared(res, answer(m.id, SIZE, '\u0001'));
        case 'other-id':
          return declared(res, answer(`not-${String(m.id)}`, SIZE));
        case 'too-big':
          // Declares more than the cap, and would send it only when asked to.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(CAP + 1) });
          res.once('close', () => {
            if (!res.writableFinished) cutOff++;
          });
          return void res.write('{"result":{');
        case 'endless':
          // Declared, half written, never finished: the client leaves in the middle.
          return declared(res, answer(m.id, SIZE), new Promise(() => undefined));
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-streamed-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  const entry: GatewayEntry = {
    fqn: 'default:mcp-server:streamed',
    tenant: 'default',
    name: 'streamed',
    resourceId: 'id-streamed',
    accountId: 'default',
    upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`,
    transport: 'streamable-http',
    headers: {},
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    disabledTools: [],
    toolOverrides: {},
    collaborators: [],
    generation: 1,
  };
  await store.apply(entry);
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    upstreamLimits: { maxMessageBytes: CAP, maxResponseBytes: CAP },
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp/streamed`;
});

afterAll(async () => {
  for (const release of held) release();
  await dataPlane.close();
  for (const server of [http, upstream]) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A session through the gateway over plain HTTP, so each answer's bytes can be read as they come. */
async function session(): Promise<(message: object) => Promise<Response>> {
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  expect(init.status).toBe(200);
  await init.text();
  const sessionHeaders = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
  await (await fetch(base, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return (message) => fetch(base, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', ...message }) });
}

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
  const before = cutOff;
  try {
    const error = await client.callTool({ name: 'too-big', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).message).toContain(`larger than ${CAP} bytes`);
    expect((error as McpError).message).toContain('--upstream-max-message-bytes');
    await waitFor(() => cutOff > before, { what: 'the oversized answer to be hung up on' });
    expect((await client.callTool({ name: 'small', arguments: {} })).content).toEqual([{ type: 'text', text: 'small answer' }]);
  } finally {
    await client.close();
  }
});

it('stops reading the upstream when the client leaves in the middle of a passed-on answer', async () => {
  const send = await session();
  const before = cutOff;
  const res = await send({ id: 10, method: 'tools/call', params: { name: 'endless', arguments: {} } });
  const reader = res.body!.getReader();
  expect((await reader.read()).done).toBe(false);
  await reader.cancel();
  await waitFor(() => cutOff > before, { what: 'the gateway to hang up on the upstream answer' });
  const small = (await (await send({ id: 11, method: 'tools/call', params: { name: 'small', arguments: {} } })).json()) as { id: number };
  expect(small.id).toBe(11);
});
