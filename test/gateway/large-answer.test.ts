// Large JSON answers through the data plane: relayed as the upstream's own bytes when they check as the
// answer to the request (whatever their formatting), still filtered where the gateway reads them
// (tools/list), and refused with a JSON-RPC error when they are not JSON.
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';

const TOKEN = 'large-answer-test-token-0123456789';
const TEXT = `${'x'.repeat(300_000)} grüße 🌍 \\"quoted\\" ${'y'.repeat(200_000)}`;

/** What the upstream answers to tools/call, by tool name: the body's exact text (the id is put in for ID). */
const BODIES: Record<string, string> = {
  // Formatting the gateway would never write: whitespace, the id last, escapes kept as escapes.
  big: `{ "result" : { "content" : [ { "type" : "text", "text" : "${TEXT}" } ] , "isError" : false } ,\n "jsonrpc" : "2.0" , "id" : ID }`,
  // A raw control character inside the string: not JSON.
  broken: `{"jsonrpc":"2.0","id":ID,"result":{"content":[{"type":"text","text":"${'z'.repeat(100_000)}\u0001"}]}}`,
};
const MANY_TOOLS = [...Object.keys(BODIES), ...Array.from({ length: 2000 }, (_, i) => `tool-${i}`)].map((name) => ({ name, description: 'd'.repeat(40), inputSchema: { type: 'object' } }));

let upstream: Server;
let http: Server;
let dir: string;
let store: SqliteGatewayStore;
let dataPlane: DataPlane;
let base: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string; params?: { name?: string; protocolVersion?: string } };
      if (m.id === undefined) return void res.writeHead(202).end();
      const answer = (text: string) => {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'large-session' });
        res.end(text);
      };
      if (m.method === 'initialize') {
        return answer(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'large', version: '1' } } }));
      }
      if (m.method === 'tools/list') return answer(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { tools: MANY_TOOLS } }));
      answer(BODIES[m.params?.name ?? '']!.replace('ID', JSON.stringify(m.id)));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-large-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  const entry: GatewayEntry = {
    fqn: 'default:mcp-server:large',
    tenant: 'default',
    name: 'large',
    resourceId: 'id-large',
    accountId: 'default',
    upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`,
    transport: 'streamable-http',
    headers: {},
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    disabledTools: ['tool-7'],
    toolOverrides: {},
    collaborators: [],
    generation: 1,
  };
  store.apply(entry);
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp/large`;
});

afterAll(async () => {
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

/** A session through the gateway over plain HTTP, so each answer's bytes can be read as they came. */
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

it('relays a large answer as the upstream wrote it, byte for byte', async () => {
  const send = await session();
  const res = await send({ id: 41, method: 'tools/call', params: { name: 'big', arguments: {} } });
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = Buffer.from(await res.arrayBuffer());
  expect(body.equals(Buffer.from(BODIES.big!.replace('ID', '41'), 'utf8'))).toBe(true);
  expect((JSON.parse(body.toString('utf8')) as { result: { content: { text: string }[] } }).result.content[0]!.text).toBe(JSON.parse(`"${TEXT}"`));
});

it('still reads a large answer where the gateway applies the manifest (tools/list without disabled tools)', async () => {
  const send = await session();
  const res = await send({ id: 'list-1', method: 'tools/list' });
  const answer = (await res.json()) as { id: string; result: { tools: { name: string }[] } };
  expect(answer.id).toBe('list-1');
  const names = answer.result.tools.map((t) => t.name);
  expect(names).toHaveLength(MANY_TOOLS.length - 1);
  expect(names).not.toContain('tool-7');
  expect(names).toContain('tool-1999');
});

it('answers a large answer that is not JSON with a JSON-RPC error for that request', async () => {
  const send = await session();
  const res = await send({ id: 43, method: 'tools/call', params: { name: 'broken', arguments: {} } });
  const answer = (await res.json()) as { id: number; error?: { message: string } };
  expect(answer.id).toBe(43);
  expect(answer.error?.message).toMatch(/not JSON/);
});
