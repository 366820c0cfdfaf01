// The data plane against clients and servers nobody here wrote: the SDK's client, server-everything
// (Streamable HTTP) and the rich test upstream, each feature compared with what the upstream answers
// directly. The data plane runs on its own (an express app with nothing but its handler) over a
// gateway store in a temp dir; deadlines run on an injected clock.
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { SseParser } from '../../src/domain/sse-parser.js';
import { DataPlane, type DataPlaneOptions } from '../../src/gateway/data-plane/index.js';
import { noopDataPlaneMetrics } from '../../src/gateway/data-plane/metrics.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/control-plane.js';
import { DELIVERED_REPLAY_MS, STREAM_AFTER_MS } from '../../src/gateway/data-plane/client-channel.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { EVERYONE_MAY_USE, gatewayEntry } from '../support/gateway-entries.js';
import { startChunkyUpstream } from './chunky-upstream.js';
import { startRichUpstream, type RichUpstream } from './rich-upstream.js';

const TOKEN = 'protocol-test-token-0123456789';

/** Server `name` at `url`, which every caller may use. */
const entry = (name: string, url: string, extra: Partial<GatewayEntry> = {}): GatewayEntry => gatewayEntry(name, url, { collaborators: EVERYONE_MAY_USE, ...extra });

let dir: string;
let store: SqliteGatewayStore;
let dataPlane: DataPlane;
let http: Server;
let base: string;
/** Client connections the gateway's server saw close. */
let closedConnections: number;
let clock: FakeClock;
let everything: { peer: PeerProcess; url: string };
const clients: Client[] = [];
/** Client requests the gateway answered, as `method outcome`. */
let answered: string[];
const closeLater: { close(): Promise<void> }[] = [];

async function startGateway(options: Partial<DataPlaneOptions> = {}) {
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    connectTimeoutMs: 5000,
    storePollIntervalMs: 20,
    clock,
    metrics: { ...noopDataPlaneMetrics, request: (_server, method, outcome) => void answered.push(`${method} ${outcome}`) },
    ...options,
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  closedConnections = 0;
  http.on('connection', (socket) => socket.on('close', () => closedConnections++));
}

/** An SDK client on `url` (a gateway route, or an upstream directly), with the capabilities server-everything's task tools ask for. */
async function connectTo(url: string, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }): Promise<Client> {
  const client = new Client({ name: 'protocol-test', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {}, roots: {} } });
  client.onerror = () => undefined;
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers },
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    }),
  );
  clients.push(client);
  return client;
}

const viaGateway = (name: string) => connectTo(`${base}/${name}`);
const direct = (url: string) => connectTo(url, {});

beforeAll(async () => {
  const port = await freePort();
  everything = { peer: await startPeer(PEERS.everything, ['streamableHttp'], { env: { PORT: String(port) }, ports: [port] }), url: `http://127.0.0.1:${port}/mcp` };
});
afterAll(async () => {
  await everything.peer.kill();
});
beforeEach(async () => {
  clock = new FakeClock(Date.now());
  answered = [];
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-protocol-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  await startGateway();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await dataPlane.close();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
  await Promise.all(closeLater.splice(0).map((u) => u.close()));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a task-style tool call, then follows it with tasks/get, tasks/list and tasks/result. */
async function taskLifecycle(client: Client): Promise<{ status: string; listed: boolean; result: CallToolResult }> {
  const created = await client.request(
    { method: 'tools/call', params: { name: 'simulate-research-query', arguments: { topic: 'gateways' }, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
  const { taskId } = created.task;
  const got = await client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema);
  const listed = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
  // tasks/result waits for the task to finish (a few seconds of simulated research).
  const result = await client.request({ method: 'tasks/result', params: { taskId } }, CallToolResultSchema, { timeout: 60_000 });
  return { status: got.taskId === taskId ? got.status : 'wrong task', listed: listed.tasks.some((t) => t.taskId === taskId), result };
}

it('relays the task lifecycle (tools/call as a task, tasks/get, tasks/list, tasks/result) as the upstream serves it directly', async () => {
  await store.apply(entry('everything', everything.url));
  const gateway = await viaGateway('everything');
  expect(gateway.getServerCapabilities()?.tasks).toEqual((await direct(everything.url)).getServerCapabilities()?.tasks);

  const relayed = await taskLifecycle(gateway);
  expect(['working', 'submitted']).toContain(relayed.status);
  expect(relayed.listed).toBe(true);
  expect(relayed.result.isError).toBeFalsy();
  expect(JSON.stringify(relayed.result.content)).toContain('gateways');

  // tasks/cancel reaches the upstream too: a finished task cannot be cancelled, and the upstream says so.
  const task = await gateway.request(
    { method: 'tools/call', params: { name: 'simulate-research-query', arguments: { topic: 'cancel me' }, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
  const cancelled = await gateway.request({ method: 'tasks/cancel', params: { taskId: task.task.taskId } }, GetTaskResultSchema);
  expect(cancelled.status).toBe('cancelled');
}, 60_000);

it('relays methods it does not know, so the upstream answers them as it would directly', async () => {
  await store.apply(entry('everything', everything.url));
  const gateway = await viaGateway('everything');
  const viaGatewayError = await gateway.request({ method: 'no-such/method', params: {} }, CallToolResultSchema).catch((e: unknown) => e);
  const directError = await (await direct(everything.url)).request({ method: 'no-such/method', params: {} }, CallToolResultSchema).catch((e: unknown) => e);
  expect(directError).toBeInstanceOf(McpError);
  expect(viaGatewayError).toBeInstanceOf(McpError);
  expect((viaGatewayError as McpError).code).toBe((directError as McpError).code);
  expect((viaGatewayError as McpError).message).toBe((directError as McpError).message);
});

it('answers an unknown or disabled tool with a tools/call result that is an error, as the upstream does', async () => {
  await store.apply(entry('everything', everything.url, { disabledTools: ['get-env'] }));
  const directly = await (await direct(everything.url)).callTool({ name: 'no-such-tool', arguments: {} });
  expect(directly.isError).toBe(true);

  const gateway = await viaGateway('everything');
  const unknown = await gateway.callTool({ name: 'no-such-tool', arguments: {} });
  expect(unknown.isError).toBe(true);
  expect(unknown.content).toEqual([{ type: 'text', text: expect.stringContaining('"no-such-tool" is not a tool of MCP server "everything"') }]);
  const disabled = await gateway.callTool({ name: 'get-env', arguments: {} });
  expect(disabled.isError).toBe(true);
  expect(disabled.content).toEqual([{ type: 'text', text: expect.stringContaining('"get-env" is disabled') }]);
  expect((await gateway.callTool({ name: 'echo', arguments: { message: 'hi' } })).isError).toBeFalsy();
});

describe('deadlines', () => {
  let rich: RichUpstream;
  beforeEach(async () => {
    rich = await startRichUpstream();
    closeLater.push(rich);
  });

  it('sets no deadline of its own: a call answered after 70 s (of the injected clock) reaches the client', async () => {
    await store.apply(entry('rich', rich.url));
    const client = await viaGateway('rich');
    const call = client.callTool({ name: 'gate', arguments: {} }, undefined, { timeout: 10 * 60_000 });
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
    clock.advance(70_000);
    rich.openGates();
    expect((await call).content).toEqual([{ type: 'text', text: 'opened' }]);
  });

  it('keeps timeouts.request_ms as a cap, and progress restarts it', async () => {
    await store.apply(entry('rich', rich.url, { timeouts: { requestMs: 5000, totalMs: 5000 } }));
    const client = await viaGateway('rich');
    let progressed = 0;
    const reporting = client.callTool({ name: 'gate', arguments: {} }, undefined, { timeout: 10 * 60_000, onprogress: () => void progressed++ });
    const silent = client.callTool({ name: 'gate', arguments: {} }, undefined, { timeout: 10 * 60_000 }).catch((e: unknown) => e);
    await waitFor(() => rich.gated === 2, { what: 'the upstream to run both calls' });
    clock.advance(4000);
    rich.gateProgress();
    await waitFor(() => progressed === 1, { what: 'the progress to reach the client' });
    clock.advance(4000); // 8 s since the calls started: past the cap, but not since the progress
    const timedOut = await silent;
    expect(timedOut).toBeInstanceOf(McpError);
    expect((timedOut as McpError).message).toContain('did not answer tools/call within 5000 ms');
    rich.openGates();
    expect((await reporting).content).toEqual([{ type: 'text', text: 'opened' }]);
  });

  it('answers a request at once with an error when the upstream goes away before answering it', async () => {
    await store.apply(entry('rich', rich.url));
    const client = await viaGateway('rich');
    const call = client.callTool({ name: 'gate', arguments: {} }, undefined, { timeout: 10 * 60_000 }).catch((e: unknown) => e);
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
    await rich.close();
    const failed = await call;
    expect(failed).toBeInstanceOf(McpError);
    expect((failed as McpError).message).toMatch(/closed the stream of this request before answering it|session with MCP server "rich" ended/);
  });
});

describe('an HTTP+SSE upstream', () => {
  let sse: { peer: PeerProcess; url: string };
  beforeAll(async () => {
    const port = await freePort();
    sse = { peer: await startPeer(PEERS.everything, ['sse'], { env: { PORT: String(port) }, ports: [port] }), url: `http://127.0.0.1:${port}/sse` };
  });
  afterAll(async () => {
    await sse.peer.kill();
  });

  it('keeps a session whose stream is quiet past any body timeout; one whose stream drops ends with an error for its open requests', async () => {
    await store.apply(entry('everything-sse', sse.url, { transport: 'sse', transportPinned: true }));
    const lasting = await viaGateway('everything-sse');
    expect((await lasting.listTools()).tools.length).toBeGreaterThan(0);
    // From here on, the lasting session's upstream stream carries nothing.

    // A second data plane whose upstream answers may be silent for 150 ms at most.
    const strict = new DataPlane({
      gateway: store,
      authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
      policy: new RoleAccessPolicy(),
      tenant: 'default',
      logger: silentLogger,
      connectTimeoutMs: 5000,
      upstreamBodyTimeoutMs: 150,
    });
    const app = express();
    app.use('/mcp', strict.handler);
    const strictHttp = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    closeLater.push({
      close: async () => {
        await strict.close();
        await new Promise<void>((resolve) => {
          strictHttp.close(() => resolve());
          strictHttp.closeAllConnections();
        });
      },
    });
    const dropping = await connectTo(`http://127.0.0.1:${(strictHttp.address() as AddressInfo).port}/mcp/everything-sse`);
    // A long operation that sends nothing until it is done: its session's stream goes quiet and is dropped.
    const call = dropping
      .callTool({ name: 'trigger-long-running-operation', arguments: { duration: 600, steps: 1 } }, undefined, { timeout: 10 * 60_000 })
      .catch((e: unknown) => e);
    await waitFor(() => strict.sessionCount('everything-sse') === 0, { what: "the strict data plane's session to end when its quiet stream drops" });
    const failed = await call;
    expect(failed).toBeInstanceOf(McpError);
    expect((failed as McpError).message).toContain('The gateway session with MCP server "everything-sse" ended');

    // The lasting session was quiet for longer than that, and still works.
    expect(dataPlane.sessionCount('everything-sse')).toBe(1);
    expect((await lasting.callTool({ name: 'echo', arguments: { message: 'still here' } })).content).toEqual([{ type: 'text', text: 'Echo: still here' }]);
  });
});

describe('resumability', () => {
  let rich: RichUpstream;
  beforeEach(async () => {
    rich = await startRichUpstream();
    closeLater.push(rich);
    await store.apply(entry('rich', rich.url));
  });

  const VERSION = '2025-11-25';
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  /** A raw session at protocol 2025-11-25 (whose clients take priming events); answers its headers. */
  async function rawSession(version = VERSION): Promise<Record<string, string>> {
    const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const opened = await fetch(`${base}/rich`, { method: 'POST', headers, body: JSON.stringify(initialize) });
    await opened.text();
    const session = { ...headers, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': version };
    await fetch(`${base}/rich`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    return session;
  }

  /** Reads `res`'s event stream until `until` holds (called again, reads on); answers the messages so far and the last event id. */
  const streams = new WeakMap<Response, { messages: unknown[]; parser: SseParser; reader: ReadableStreamDefaultReader<Uint8Array> }>();
  async function readEvents(res: Response, until: (messages: unknown[], lastEventId: string | undefined) => boolean) {
    let state = streams.get(res);
    if (!state) {
      const messages: unknown[] = [];
      // An event without data is a priming event: a cursor, no message.
      const parser = new SseParser({ onEvent: (e) => void (e.data !== '' && messages.push(JSON.parse(e.data))) });
      state = { messages, parser, reader: res.body!.getReader() };
      streams.set(res, state);
    }
    const { messages, parser, reader } = state;
    while (!until(messages, parser.lastEventId)) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    return { messages, lastEventId: parser.lastEventId, reader };
  }

  it('streams a slow answer with a priming event, and a client that dropped gets the answer on resuming with Last-Event-ID', async () => {
    const session = await rawSession();
    const call = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'gate', arguments: {} } });

    // The answer comes while the client is away: it is replayed.
    const aborted = new AbortController();
    const firstAnswer = fetch(`${base}/rich`, { method: 'POST', headers: session, body: call(1), signal: aborted.signal });
    // Unanswered for STREAM_AFTER_MS of the data plane's clock: the answer becomes an event stream.
    await waitFor(() => clock.pendingTimers().some((t) => t.inMs === STREAM_AFTER_MS), { what: 'the gateway to take the call' });
    clock.advance(STREAM_AFTER_MS);
    const first = await firstAnswer;
    expect(first.headers.get('content-type')).toBe('text/event-stream');
    const primed = await readEvents(first, (_m, id) => id !== undefined);
    expect(primed.lastEventId).toBeDefined();
    // The gateway must have seen the client leave: an answer written before that counts as delivered.
    const closedBefore = closedConnections;
    aborted.abort();
    await waitFor(() => closedConnections > closedBefore, { what: 'the gateway to see the client leave' });
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
    rich.openGates();
    await waitFor(() => answered.includes('tools/call ok'), { what: 'the gateway to receive the answer' });
    const replayed = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': primed.lastEventId! } });
    expect(replayed.status).toBe(200);
    const afterDrop = await readEvents(replayed, (m) => m.length === 1);
    expect(afterDrop.messages).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'opened' }] } }]);

    // The client comes back before the answer: the resumed stream carries it.
    const again = new AbortController();
    const secondAnswer = fetch(`${base}/rich`, { method: 'POST', headers: session, body: call(2), signal: again.signal });
    await waitFor(() => clock.pendingTimers().some((t) => t.inMs === STREAM_AFTER_MS), { what: 'the gateway to take the second call' });
    clock.advance(STREAM_AFTER_MS);
    const second = await secondAnswer;
    const primedAgain = await readEvents(second, (_m, id) => id !== undefined);
    again.abort();
    const resumed = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': primedAgain.lastEventId! } });
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the second call' });
    rich.openGates();
    const live = await readEvents(resumed, (m) => m.length === 1);
    expect(live.messages).toEqual([{ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'opened' }] } }]);

    // A cursor the session does not hold is refused with a reason.
    const unknown = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': '99999' } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('Last-Event-ID "99999" is not an event this session still holds');
  });

  it('replays a streamed answer written in full to a client that resumes within DELIVERED_REPLAY_MS, and nothing after', async () => {
    const session = await rawSession();
    const opened = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'opened' }] } };
    const answer = fetch(`${base}/rich`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'gate', arguments: {} } }) });
    await waitFor(() => clock.pendingTimers().some((t) => t.inMs === STREAM_AFTER_MS), { what: 'the gateway to take the call' });
    clock.advance(STREAM_AFTER_MS);
    const streamed = await answer;
    const primed = await readEvents(streamed, (_m, id) => id !== undefined);
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
    rich.openGates();
    // The whole stream, to its end: as far as the gateway can tell, the answer was delivered.
    expect((await readEvents(streamed, () => false)).messages).toEqual([opened]);

    // The client's connection may have died before it read those bytes: resuming replays the answer.
    const resumed = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': primed.lastEventId! } });
    expect(resumed.status).toBe(200);
    expect((await readEvents(resumed, () => false)).messages).toEqual([opened]);

    // After DELIVERED_REPLAY_MS of the data plane's clock the frames are given back: the stream replays nothing.
    await waitFor(() => clock.pendingTimers().some((t) => t.inMs === DELIVERED_REPLAY_MS), { what: 'the gateway to keep the delivered stream' });
    clock.advance(DELIVERED_REPLAY_MS);
    const late = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': primed.lastEventId! } });
    expect(late.status).toBe(200);
    expect((await readEvents(late, () => false)).messages).toEqual([]);
  });

  it("puts an upstream message on the stream of the request it came with, and others on the GET stream, never on another request's answer", async () => {
    const session = await rawSession('2025-06-18');
    const call = (id: number, name: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });
    // No GET stream yet: a message about no request waits for one instead of riding on an open answer.
    const pending = fetch(`${base}/rich`, { method: 'POST', headers: session, body: call(1, 'gate') });
    await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
    await store.apply(entry('rich', rich.url, { disabledTools: ['wait'], generation: 2 })); // seen at once (the same store object)
    const listening = await fetch(`${base}/rich`, { method: 'GET', headers: session });
    const held = await readEvents(listening, (m) => m.length === 1);
    expect(held.messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    rich.openGates();
    const answer = await pending;
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await answer.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'opened' }] } });

    // The upstream logs during a call, on that call's stream: the log goes with the call's answer.
    const logged = await fetch(`${base}/rich`, { method: 'POST', headers: session, body: call(2, 'log') });
    expect(logged.headers.get('content-type')).toBe('text/event-stream');
    const onAnswer = await readEvents(logged, (m) => m.length === 2);
    expect(onAnswer.messages).toEqual([
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'warning', data: 'from upstream' } },
      { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'logged' }] } },
    ]);
    // ... and not on the GET stream, whose next message is the next one about no request.
    await store.apply(entry('rich', rich.url, { disabledTools: [], generation: 3 }));
    const next = await readEvents(listening, (m) => m.length === 2);
    expect(next.messages[1]).toEqual({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  });

  it('gives the GET stream event ids, and replays what it carried after a cursor', async () => {
    const session = await rawSession();
    const listening = await fetch(`${base}/rich`, { method: 'GET', headers: session });
    // The gateway's own message on the GET stream: tools changed.
    await store.apply(entry('rich', rich.url, { disabledTools: ['wait'], generation: 2 }));
    const seen = await readEvents(listening, (m) => m.length === 1);
    expect(seen.messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    const cursor = seen.lastEventId!;
    expect(cursor).toBeDefined();
    await seen.reader.cancel();
    await store.apply(entry('rich', rich.url, { disabledTools: [], generation: 3 }));
    // Sent while no GET stream was open: kept for the next one, which the resumed stream is.
    const resumed = await fetch(`${base}/rich`, { method: 'GET', headers: { ...session, 'last-event-id': cursor } });
    const after = await readEvents(resumed, (m) => m.length === 1);
    expect(after.messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    expect(after.lastEventId).not.toBe(cursor);
  });
});

describe('large messages', () => {
  it('relays an 8 MB result that arrives in 16 KiB chunks, while another session is answered meanwhile', async () => {
    const bytes = 8 * 1024 * 1024;
    const chunky = await startChunkyUpstream(bytes);
    closeLater.push(chunky);
    await dataPlane.close();
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    await startGateway({ upstreamLimits: { maxMessageBytes: 16 * 1024 * 1024, maxResponseBytes: 64 * 1024 * 1024 } });
    await store.apply(entry('chunky', chunky.url));
    const large = await viaGateway('chunky');
    const other = await viaGateway('chunky');
    const result = large.callTool({ name: 'big', arguments: {} }, undefined, { timeout: 10 * 60_000 });
    await waitFor(() => chunky.halfway === 1, { what: 'the upstream to send half of the large result' });
    // The large event is half read and still open: another session's request is answered all the same.
    await other.ping();
    expect(await other.listTools()).toEqual({ tools: [{ name: 'big', inputSchema: { type: 'object' } }] });
    chunky.release();
    const text = ((await result).content as { text: string }[])[0]!.text;
    expect(text.length).toBe(bytes);
    expect(text === 'a'.repeat(bytes)).toBe(true);
  }, 120_000);
});

it('answers at once, with an error, a request in flight when the upstream restarts and one sent right after; a new session then works', async () => {
  const port = await freePort();
  const start = () => startPeer(PEERS.everything, ['streamableHttp'], { env: { PORT: String(port) }, ports: [port] });
  let peer = await start();
  closeLater.push({ close: () => peer.kill() });
  await store.apply(entry('restarting', `http://127.0.0.1:${port}/mcp`));
  const client = await viaGateway('restarting');
  await client.listTools(); // so the call below is the one request it makes upstream
  const posts = () => peer.output().split('Received MCP POST request').length;
  const before = posts();
  const inFlight = client
    .callTool({ name: 'trigger-long-running-operation', arguments: { duration: 600, steps: 1 } }, undefined, { timeout: 10 * 60_000 })
    .catch((e: unknown) => e);
  await waitFor(() => posts() > before, { what: 'the upstream to receive the call' });
  await peer.kill();
  peer = await start();
  const sentAfter = await client.callTool({ name: 'echo', arguments: { message: 'after the restart' } }, undefined, { timeout: 10 * 60_000 }).catch((e: unknown) => e);
  const failed = await inFlight;
  expect(failed).toBeInstanceOf(McpError);
  // Which words depends on how far the answer had come when the process died (its head sent or not).
  expect((failed as Error).message).toMatch(/closed the stream of this request before answering it|session with MCP server "restarting" ended|could not send tools\/call/);
  // The restarted upstream does not know the session: the client is told so, and starts a new one.
  expect(sentAfter).toBeInstanceOf(Error);
  expect((sentAfter as Error).message).toMatch(/Session not found|session with MCP server "restarting" ended|could not send tools\/call/);
  const fresh = await viaGateway('restarting');
  expect((await fresh.callTool({ name: 'echo', arguments: { message: 'new session' } })).content).toEqual([{ type: 'text', text: 'Echo: new session' }]);
}, 60_000);
