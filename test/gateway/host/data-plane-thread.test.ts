// --data-plane thread end to end: the data-plane thread owns the public listener and serves /mcp itself
// (a real SDK client → the thread → a real SDK upstream); every other request (the API, a watch stream,
// /metrics) reaches the control plane through it on the same port. A crash of the thread takes its
// listener with it and is reported; close drains both.
import { connect as tcpConnect } from 'node:net';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../../support/mcp-servers.js';
import { WatchClient } from '../../http/watch-client.js';
import { connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, type GatewayClient } from '../gateway-support.js';
import { DataPlaneThread } from '../../../src/gateway/host/data-plane-thread.js';
import { HOST_SECRET_HEADER } from '../../../src/gateway/host/host-options.js';

const THREAD_ARGS = [...GATEWAY_TEST_ARGS, '--discovery-interval', '10m', '--data-plane', 'thread'];

let upstream: RunningMcpServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, stateful: true });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
});

async function connect(cp: TestControlPlane, name: string): Promise<GatewayClient> {
  const c = await connectClient(cp, name);
  clients.push(c);
  return c;
}

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('--data-plane thread', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: THREAD_ARGS });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('runs the data plane on its own thread, which serves /mcp on the public port', async () => {
    expect(cp.config.dataPlane).toBe('thread');
    expect(cp.dataPlane).toBeInstanceOf(DataPlaneThread);
    await putServer(cp, { name: 'threaded', url: upstream.url });
    const { client } = await connect(cp, 'threaded');
    const listed = await client.listTools();
    expect(listed.tools.map((t) => t.name)).toContain('echo');
    const called = await client.callTool({ name: 'echo', arguments: { text: 'through the thread' } });
    expect(JSON.stringify(called.structuredContent)).toContain('through the thread');
    // The thread reports its sessions to the control plane.
    await waitFor(() => cp.dataPlane.sessionCount('threaded') === 1, { what: 'the session to be counted' });
    // /MCP/ too, as express routes it inline.
    const upper = await fetch(`${cp.url}/MCP/threaded`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' });
    expect(upper.status).toBe(401);
    expect(upper.headers.get('www-authenticate')).toContain('invalid_token');
    // The host's secret never reaches an upstream.
    expect(upstream.requests.length).toBeGreaterThan(0);
    expect(upstream.requests.every((r) => r.headers[HOST_SECRET_HEADER] === undefined)).toBe(true);
  });

  it('passes every other request to the control plane on the same port', async () => {
    const listed = await cp.api('/api/svc/v1/mcp-servers');
    expect(listed.status).toBe(200);
    expect((await cp.api('/healthz', { token: null })).json).toEqual({ status: 'ok' });
    expect((await cp.api('/api/svc/v1/mcp-servers', { token: 'not-a-token' })).status).toBe(401);
    // A secret sent by a client is dropped by the host: it gets nothing it would not get without it.
    const guessed = await cp.api('/api/svc/v1/mcp-servers', { token: null, headers: { [HOST_SECRET_HEADER]: 'guess' } });
    expect(guessed.status).toBe(401);
  });

  it('answers /metrics with the control plane\'s and the thread\'s metrics, each name once', async () => {
    await putServer(cp, { name: 'metered', url: upstream.url });
    const { client } = await connect(cp, 'metered');
    await client.listTools();
    const res = await cp.api('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/mcp_gateway_requests_total\{[^}]*server="metered"/);
    expect(res.text).toMatch(/mcp_cp_reconcile_total/);
    expect(res.text).toMatch(/mcp_cp_http_request_duration_seconds_count\{[^}]*route="\/mcp\/\{name\}"/);
    const helps = res.text.split('\n').filter((l) => l.startsWith('# HELP '));
    expect(new Set(helps).size).toBe(helps.length);
  });

  it('streams a watch through the host as events happen', async () => {
    const watch = await WatchClient.open(cp.url);
    try {
      expect(watch.contentType).toMatch(/^text\/event-stream/);
      await watch.waitFor((e) => e.type === 'BOOKMARK' || e.type === 'ADDED', { what: 'the first frame', timeoutMs: 10_000 });
      const from = watch.events.length;
      const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name: 'watched-live' }) } });
      expect(put.status).toBe(200);
      await watch.waitFor((e) => e.object?.name === 'watched-live', { from, what: 'the live frame of the new server', timeoutMs: 10_000 });
    } finally {
      await watch.close();
    }
  });

  it("hands what the thread sees of an upstream to the server's status", async () => {
    // Discovery runs only every 10 minutes here and retries after 10: only the thread's report can flip Ready.
    const doomed = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, stateful: true });
    try {
      await putServer(cp, { name: 'dies', url: doomed.url });
      const { client } = await connect(cp, 'dies');
      await client.listTools();
      await doomed.close();
      await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow();
      await waitFor(
        async () => {
          const ready = ((await cp.api('/api/svc/v1/mcp-servers/name/dies')).json.data.status.conditions as { type: string; status: string; reason: string }[]).find((c) => c.type === 'Ready');
          return ready?.status === 'False' && ready.reason === 'Unreachable';
        },
        { what: 'Ready=False Unreachable from the thread\'s report' },
      );
    } finally {
      await doomed.close();
    }
  });

  it('ends the sessions of a deleted server', async () => {
    await putServer(cp, { name: 'doomed-thread', url: upstream.url });
    const { client } = await connect(cp, 'doomed-thread');
    await client.listTools();
    await waitFor(() => cp.dataPlane.sessionCount('doomed-thread') === 1, { what: 'the session to be counted' });
    expect((await cp.api('/api/svc/v1/mcp-servers/name/doomed-thread', { method: 'DELETE' })).status).toBeLessThan(300);
    await waitFor(() => cp.dataPlane.sessionCount('doomed-thread') === 0, { what: 'the session of the deleted server to end' });
  });
});

describe('--data-plane thread lifecycle', () => {
  it('reports a crash of the thread, whose listener is gone with it', async () => {
    const lost: Error[] = [];
    const cp = await startTestControlPlane({ args: THREAD_ARGS, onDataPlaneLost: (err) => void lost.push(err) });
    try {
      expect(await accepts(cp.port)).toBe(true);
      await (cp.dataPlane as DataPlaneThread).worker.terminate();
      await waitFor(() => lost.length === 1, { what: 'the loss of the data-plane thread to be reported' });
      expect(await accepts(cp.port)).toBe(false);
    } finally {
      await cp.dispose();
    }
  });

  it('drains on close: open sessions end, the port closes, the process can start again on it', async () => {
    const cp = await startTestControlPlane({ args: THREAD_ARGS });
    let disposed = false;
    try {
      await putServer(cp, { name: 'draining', url: upstream.url });
      const { client } = await connect(cp, 'draining');
      await client.listTools();
      const port = cp.port;
      await cp.stop();
      expect(await accepts(port)).toBe(false);
      // The same data directory and port again: nothing of the first is left holding them.
      const again = await startTestControlPlane({ args: [...THREAD_ARGS, '--port', String(port)], dataDir: cp.dataDir });
      try {
        expect(again.port).toBe(port);
        expect((await again.api('/api/svc/v1/mcp-servers/name/draining')).status).toBe(200);
      } finally {
        await again.stop();
      }
      await cp.dispose();
      disposed = true;
    } finally {
      if (!disposed) await cp.dispose();
    }
  });
});
