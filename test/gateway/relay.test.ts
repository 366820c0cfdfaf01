// The data plane on its own, as it would run in a process of its own: an express app with nothing but
// the DataPlane router, over a gateway store file that the test writes (here and through a second
// connection, as another process would). Short timeouts, real SDK clients and servers on loopback.
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { SseParser, type SseEvent } from '../../src/domain/sse-parser.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane, type DataPlaneOptions } from '../../src/gateway/data-plane/index.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/control-plane.js';
import { STREAM_AFTER_MS } from '../../src/gateway/data-plane/client-channel.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { EVERYONE_MAY_USE, gatewayEntry } from '../support/gateway-entries.js';
import { startConnectProxy } from './connect-proxy.js';
import { errorOf } from './gateway-support.js';
import { startRichUpstream, type RichUpstream } from './rich-upstream.js';

const TOKEN = 'relay-test-token-0123456789';
const REQUEST_TIMEOUT_MS = 400;

/** Server `name` at `url`, which every caller may use. */
const entry = (name: string, url: string, extra: Partial<GatewayEntry> = {}): GatewayEntry => gatewayEntry(name, url, { collaborators: EVERYONE_MAY_USE, ...extra });

let dir: string;
let store: SqliteGatewayStore;
/** A second connection to the same file: writes through it are what another process's would be. */
let otherProcess: SqliteGatewayStore;
let dataPlane: DataPlane;
let http: Server;
let base: string;
let rich: RichUpstream;
/** The gateway's request deadlines: no request times out unless a test moves this clock. */
let clock: FakeClock;
const clients: Client[] = [];
const closeLater: RunningMcpServer[] = [];

async function startGateway(options: Partial<DataPlaneOptions> = {}) {
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    clock,
    connectTimeoutMs: 2000,
    storePollIntervalMs: 20,
    ...options,
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
}

async function connect(name: string): Promise<Client> {
  const client = new Client({ name: 'relay-test', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => undefined;
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/${name}`), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    }),
  );
  clients.push(client);
  return client;
}

beforeAll(async () => {
  rich = await startRichUpstream();
});
afterAll(async () => {
  await rich.close();
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-relay-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  otherProcess = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  clock = new FakeClock();
  await startGateway();
});
async function stopGateway() {
  await dataPlane.close();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await stopGateway();
  await Promise.all(closeLater.splice(0).map((u) => u.close()));
  await store.close();
  await otherProcess.close();
  rmSync(dir, { recursive: true, force: true });
});

it('relays initialize, resources, prompts, completion, ping, progress and upstream notifications', async () => {
  await store.apply(entry('rich', rich.url));
  const client = await connect('rich');
  expect(client.getServerVersion()).toEqual({ name: 'rich-upstream', version: '2.0.0' });
  expect(client.getInstructions()).toBe('Use memo://one.');
  expect(client.getServerCapabilities()).toMatchObject({ resources: {}, prompts: {}, completions: {}, logging: {}, tools: { listChanged: true } });

  expect((await client.listResources()).resources).toEqual([{ uri: 'memo://one', name: 'one', mimeType: 'text/plain' }]);
  expect((await client.readResource({ uri: 'memo://one' })).contents).toEqual([{ uri: 'memo://one', mimeType: 'text/plain', text: 'contents of memo://one' }]);
  expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet']);
  expect((await client.getPrompt({ name: 'greet', arguments: { who: 'Ada' } })).messages).toEqual([
    { role: 'user', content: { type: 'text', text: 'Hello, Ada' } },
  ]);
  expect((await client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'al' } })).completion.values).toEqual([
    'alice',
    'albert',
  ]);
  await client.ping();
  expect(rich.methods).toEqual(expect.arrayContaining(['resources/list', 'resources/read', 'prompts/list', 'prompts/get', 'completion/complete', 'ping']));

  const progress: number[] = [];
  await client.callTool({ name: 'progress', arguments: {} }, undefined, { onprogress: (p) => void progress.push(p.progress) });
  expect(progress).toEqual([1, 2, 3]);

  const logged: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(n.params.data));
  await client.callTool({ name: 'log', arguments: {} });
  await waitFor(() => logged.length === 1, { what: 'the upstream log message' });
  expect(logged).toEqual(['from upstream']);
});

it('answers a request as JSON, and as an event stream only when a message about it must go first', async () => {
  await store.apply(entry('rich', rich.url));
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const post = (body: unknown, extra: Record<string, string> = {}) => fetch(`${base}/rich`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const opened = await post(initialize);
  expect(opened.headers.get('content-type')).toMatch(/^application\/json/);
  const sessionId = opened.headers.get('mcp-session-id')!;
  expect(((await opened.json()) as { result: { serverInfo: unknown } }).result.serverInfo).toEqual({ name: 'rich-upstream', version: '2.0.0' });
  const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(202);

  const listed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
  expect(listed.headers.get('content-type')).toMatch(/^application\/json/);
  expect(listed.headers.get('mcp-session-id')).toBe(sessionId);
  expect(((await listed.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name)).toEqual(['progress', 'wait', 'log', 'gate']);

  const batch = await post([{ jsonrpc: '2.0', id: 3, method: 'ping' }, { jsonrpc: '2.0', id: 4, method: 'ping' }], session);
  expect(await batch.json()).toEqual([{ jsonrpc: '2.0', id: 3, result: {} }, { jsonrpc: '2.0', id: 4, result: {} }]);

  const call = { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'progress', arguments: {}, _meta: { progressToken: 'p' } } };
  const streamed = await post(call, session);
  expect(streamed.headers.get('content-type')).toBe('text/event-stream');
  const events: SseEvent[] = [];
  new SseParser({ onEvent: (e) => void events.push(e) }).push(Buffer.from(await streamed.arrayBuffer()));
  const messages = events.map((e) => JSON.parse(e.data) as { method?: string; id?: number });
  expect(messages.map((m) => m.method ?? `answer ${m.id}`)).toEqual(['notifications/progress', 'notifications/progress', 'notifications/progress', 'answer 5']);
  // Every event has an id, to resume the stream by.
  expect(new Set(events.map((e) => e.id)).size).toBe(4);

  const wrongVersion = await post({ jsonrpc: '2.0', id: 6, method: 'ping' }, { ...session, 'mcp-protocol-version': '1999-01-01' });
  expect(wrongVersion.status).toBe(400);
  const notAccepted = await post({ jsonrpc: '2.0', id: 7, method: 'ping' }, { ...session, accept: 'application/json' });
  expect(notAccepted.status).toBe(406);
  expect((await fetch(`${base}/rich`, { method: 'DELETE', headers: { authorization: headers.authorization, ...session } })).status).toBe(200);
  await waitFor(() => dataPlane.sessionCount('rich') === 0, { what: 'the session to end' });
});

it("relays the client's cancellation, and answers an upstream that does not answer with an MCP error", async () => {
  await store.apply(entry('rich', rich.url));
  const client = await connect('rich');
  const abort = new AbortController();
  const cancelled = client.callTool({ name: 'wait', arguments: {} }, undefined, { signal: abort.signal }).catch((e: unknown) => e);
  await waitFor(() => rich.waiting === 1, { what: 'the upstream to run the call' });
  abort.abort('changed my mind');
  await cancelled;
  await waitFor(() => rich.cancelled === 1, { what: 'the upstream to see the cancellation' });

  const unanswered = client.callTool({ name: 'wait', arguments: {} }).catch((e: unknown) => e);
  await waitFor(() => rich.waiting === 1, { what: 'the upstream to run the second call' });
  clock.advance(REQUEST_TIMEOUT_MS);
  const timedOut = await unanswered;
  expect(timedOut).toBeInstanceOf(McpError);
  expect((timedOut as McpError).code).toBe(-32001);
  expect((timedOut as McpError).message).toContain(`MCP server "rich" did not answer tools/call within ${REQUEST_TIMEOUT_MS} ms`);
  // The gateway told the upstream to stop, too.
  await waitFor(() => rich.cancelled === 2, { what: 'the upstream to see the gateway cancel the timed-out call' });
});

it('keeps serving other servers while one upstream hangs', async () => {
  await store.apply(entry('rich', rich.url));
  const fast = await startMcpServer({ transport: 'sse', tools: 2 });
  closeLater.push(fast);
  await store.apply(entry('fast', fast.url));
  const hanging = await connect('rich');
  const other = await connect('fast');
  let settled = false;
  const call = hanging.callTool({ name: 'wait', arguments: {} }).finally(() => (settled = true)).catch(() => undefined);
  await waitFor(() => rich.waiting === 1, { what: 'the hanging call' });
  expect((await other.listTools()).tools).toHaveLength(2);
  expect((await other.callTool({ name: 'tool-0001', arguments: {} })).content).toHaveLength(1);
  expect(settled).toBe(false);
  clock.advance(REQUEST_TIMEOUT_MS);
  await call;
});

it('answers 504 when the upstream does not answer initialize in time, and 502 when it cannot be reached', async () => {
  const slow = await startMcpServer({ transport: 'streamable-http', hang: true });
  closeLater.push(slow);
  await store.apply(entry('slow', slow.url, { transport: 'streamable-http' }));
  await stopGateway();
  await startGateway({ connectTimeoutMs: 200 });
  const slowError = await connect('slow').catch((e: unknown) => e);
  expect((slowError as StreamableHTTPError).code).toBe(504);
  expect((slowError as Error).message).toContain('did not answer initialize within 200 ms');

  const gone = await startMcpServer({ transport: 'streamable-http' });
  await gone.close(); // nothing listens on its port now
  await store.apply(entry('gone', gone.url));
  const goneError = await connect('gone').catch((e: unknown) => e);
  expect((goneError as StreamableHTTPError).code).toBe(502);
  expect((goneError as Error).message).toContain(`Cannot reach the MCP server at 127.0.0.1:${gone.port} (ECONNREFUSED)`);
});

it('answers 503 with the reason while an entry is marked unavailable, and ends its sessions', async () => {
  await store.apply(entry('rich', rich.url));
  const client = await connect('rich');
  await store.apply(entry('rich', rich.url, { generation: 2, unavailable: { reason: 'Stalled', message: 'fix spec.url' } }));
  await waitFor(() => dataPlane.sessionCount('rich') === 0, { what: 'the session to end' });
  const res = await fetch(`${base}/rich`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(503);
  expect((await errorOf(res)).message).toBe('MCP server "rich" is not served right now (Stalled): fix spec.url');
  await expect(client.listTools()).rejects.toThrow(StreamableHTTPError);
});

it('follows writes by another process: new entries, tool settings changes and deletions', async () => {
  const upstream = await startMcpServer({ transport: 'streamable-http', tools: 3, stateful: true });
  closeLater.push(upstream);
  await otherProcess.apply(entry('elsewhere', upstream.url));
  const client = await waitFor(() => connect('elsewhere').catch(() => undefined), { what: 'the entry written elsewhere to be served' });
  let notified = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void notified++);
  expect((await client.listTools()).tools).toHaveLength(3);

  await otherProcess.apply(entry('elsewhere', upstream.url, { generation: 2, disabledTools: ['tool-0003'] }));
  await waitFor(() => notified === 1, { what: 'notifications/tools/list_changed' });
  expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);

  await otherProcess.delete(entry('elsewhere', upstream.url).fqn);
  await waitFor(() => dataPlane.sessionCount('elsewhere') === 0, { what: 'the session of the deleted entry to end' });
  await waitFor(() => upstream.requests.some((r) => r.method === 'DELETE'), { what: 'the upstream session to be deleted' });
});

it('ends sessions left idle without a GET stream, keeps listening ones, and answers a malformed body with a JSON-RPC error', async () => {
  await stopGateway();
  await startGateway({ idleSessionTimeoutMs: 200 });
  await store.apply(entry('rich', rich.url));
  const listening = await connect('rich'); // the SDK client holds its GET stream open
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const res = await fetch(`${base}/rich`, { method: 'POST', headers, body: JSON.stringify(initialize) });
  expect(res.headers.get('mcp-session-id')).toBeTruthy();
  expect(await res.text()).toContain('"serverInfo"');
  expect(dataPlane.sessionCount('rich')).toBe(2);
  await waitFor(() => dataPlane.sessionCount('rich') === 1, { what: 'the idle session to end' });
  expect((await listening.listTools()).tools).toHaveLength(4);

  const malformed = await fetch(`${base}/rich`, { method: 'POST', headers, body: '{"jsonrpc": ' });
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not valid JSON.' }, id: null });
});

it('reads bodies as express.json() did: compressed, size-limited, UTF-8 only', async () => {
  await store.apply(entry('rich', rich.url));
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const gzipped = await fetch(`${base}/rich`, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(initialize)) });
  expect(gzipped.status).toBe(200);
  expect(await gzipped.text()).toContain('"serverInfo"');
  await waitFor(() => dataPlane.sessionCount('rich') === 1, { what: 'the session of the gzipped initialize' });

  const large = await fetch(`${base}/rich`, { method: 'POST', headers, body: JSON.stringify({ ...initialize, padding: 'x'.repeat(4 * 1024 * 1024) }) });
  expect(large.status).toBe(413);
  expect(await large.json()).toEqual({ jsonrpc: '2.0', error: { code: -32600, message: 'The request body is larger than 4mb.' }, id: null });
  const squeezed = await fetch(`${base}/rich`, { method: 'POST', headers: { ...headers, 'content-encoding': 'compress' }, body: '{}' });
  expect(squeezed.status).toBe(415);
  const latin1 = await fetch(`${base}/rich`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json; charset=latin1' }, body: '{}' });
  expect(latin1.status).toBe(415);
  const scalar = await fetch(`${base}/rich`, { method: 'POST', headers, body: '"initialize"' });
  expect(scalar.status).toBe(400);
  expect(((await scalar.json()) as { error: { code: number } }).error.code).toBe(-32700);
  expect(dataPlane.sessionCount('rich')).toBe(1);
});

it('follows an upstream redirect within its origin, keeping the method and body', async () => {
  // /old answers 307 to /new; /new hands everything to the rich upstream.
  const target = new URL(rich.url);
  const moved = createServer((req, res) => {
    if (req.url === '/old') return void res.writeHead(307, { location: '/new' }).end();
    const upstream = request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => moved.listen(0, '127.0.0.1', resolve));
  try {
    await store.apply(entry('moved', `http://127.0.0.1:${(moved.address() as AddressInfo).port}/old`, { transport: 'streamable-http' }));
    const client = await connect('moved');
    const before = rich.methods.length;
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['progress', 'wait', 'log', 'gate']);
    expect((await client.callTool({ name: 'log', arguments: {} })).content).toEqual([{ type: 'text', text: 'logged' }]);
    expect(rich.methods.slice(before)).toEqual(expect.arrayContaining(['tools/list', 'tools/call']));
  } finally {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await new Promise<void>((resolve) => {
      moved.close(() => resolve());
      moved.closeAllConnections();
    });
  }
});

describe('per-entry connection settings (connection_type, transport, timeouts, upstream_proxy)', () => {
  it('does not serve a direct connection', async () => {
    await store.apply(entry('direct', rich.url, { connectionType: 'direct' }));
    const before = rich.methods.length;
    const res = await fetch(`${base}/direct`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('NotFound');
    expect(rich.methods).toHaveLength(before);
  });

  it('uses only a pinned transport, and falls back from a detected one', async () => {
    const sse = await startMcpServer({ transport: 'sse', tools: 1 });
    closeLater.push(sse);
    await store.apply(entry('pinned', sse.url, { transport: 'streamable-http', transportPinned: true }));
    await store.apply(entry('detected', sse.url, { transport: 'streamable-http' }));
    const pinned = await connect('pinned').catch((e: unknown) => e);
    expect((pinned as StreamableHTTPError).code).toBe(502);
    expect((pinned as Error).message).toContain('HTTP 405 over Streamable HTTP');
    expect(sse.requests.filter((r) => r.method === 'GET')).toEqual([]);
    expect((await (await connect('detected')).listTools()).tools).toHaveLength(1);
  });

  it("answers with the entry's own request timeout", async () => {
    await store.apply(entry('rich', rich.url, { timeouts: { requestMs: 150, totalMs: 2000 } }));
    const client = await connect('rich');
    let settled = false;
    const call = client.callTool({ name: 'wait', arguments: {} }).finally(() => (settled = true));
    call.catch(() => undefined);
    await waitFor(() => rich.waiting === 1, { what: 'the upstream to run the call' });
    // The entry's 150 ms, not the gateway's default (REQUEST_TIMEOUT_MS).
    clock.advance(149);
    await flushPromises();
    expect(settled).toBe(false);
    // The deadline, and the POST's switch to an event stream (on the same clock).
    expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([1, STREAM_AFTER_MS - 149]);
    clock.advance(1);
    await expect(call).rejects.toThrow('did not answer tools/call within 150 ms');
  });

  it('reaches the upstream through its upstream_proxy, sending the proxy headers to the proxy only', async () => {
    const proxy = await startConnectProxy();
    try {
      const upstream = await startMcpServer({ transport: 'streamable-http', tools: 1 });
      closeLater.push(upstream);
      await store.apply(entry('proxied', upstream.url, { upstreamProxy: { url: proxy.url, headers: { 'Proxy-Authorization': 'Basic cHJveHk6cHc=' } } }));
      const client = await connect('proxied');
      expect((await client.listTools()).tools).toHaveLength(1);
      expect(proxy.connects.map((c) => c.target)).toContain(`127.0.0.1:${upstream.port}`);
      expect(proxy.connects[0]!.headers['proxy-authorization']).toBe('Basic cHJveHk6cHc=');
      expect(upstream.requests.length).toBeGreaterThan(0);
      for (const r of upstream.requests) expect(r.headers['proxy-authorization']).toBeUndefined();
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
      await stopGateway();
      await startGateway();
      await proxy.close();
    }
  });
});
