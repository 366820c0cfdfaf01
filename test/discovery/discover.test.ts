import { createServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { discover, type DiscoveryTarget } from '../../src/discovery/index.js';
import { createServerFetch, MAX_TOOL_PAGES } from '../../src/upstream/index.js';
import { waitFor } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const SECRET = 'Bearer s3cr3t-token-value';

function target(url: string, overrides: Partial<DiscoveryTarget> = {}): DiscoveryTarget {
  return { url, headers: {}, tls: { rejectUnauthorized: true }, timeoutMs: 5000, authConfigured: 'none', ...overrides };
}

/** A port nothing listens on: bound once by the OS, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const servers: RunningMcpServer[] = [];
async function start(opts: Parameters<typeof startMcpServer>[0]): Promise<RunningMcpServer> {
  const server = await startMcpServer(opts);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('transport detection', () => {
  it.each([
    ['stateless', false],
    ['stateful', true],
  ])('discovers a %s Streamable HTTP server with its tools and server info', async (_label, stateful) => {
    const server = await start({
      transport: 'streamable-http',
      stateful,
      serverInfo: { name: 'acme-tools', version: '2.3.4' },
      instructions: 'Use with care.',
      tools: [
        {
          name: 'search',
          title: 'Search',
          description: 'Searches things.',
          inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          outputSchema: { type: 'object', properties: { hits: { type: 'number' } } },
          annotations: { readOnlyHint: true },
        },
        { name: 'delete_all' },
      ],
    });
    const result = await discover(target(server.url, { headers: { 'x-tenant': 'acme' } }));
    expect(result).toEqual({
      ok: true,
      transport: 'streamable-http',
      serverInfo: { name: 'acme-tools', version: '2.3.4' },
      capabilities: { tools: { listChanged: false } },
      instructions: 'Use with care.',
      tools: [
        {
          name: 'search',
          title: 'Search',
          description: 'Searches things.',
          inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          outputSchema: { type: 'object', properties: { hits: { type: 'number' } } },
          annotations: { readOnlyHint: true },
        },
        { name: 'delete_all', inputSchema: { type: 'object', properties: {} } },
      ],
      authStatus: { status: 'authentication_not_required', method: null, message: expect.any(String) },
    });
    // The configured headers reach every request (discovery opens no optional GET stream).
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of server.requests) expect(request.headers['x-tenant']).toBe('acme');
    if (stateful) expect(server.requests.map((r) => r.method)).toContain('DELETE'); // the session is ended
  });

  it('falls back to HTTP+SSE when the server answers the initialize POST with a 4xx', async () => {
    const server = await start({ transport: 'sse', tools: 2 });
    const result = await discover(target(server.url, { headers: { 'x-tenant': 'acme' } }));
    expect(result).toMatchObject({ ok: true, transport: 'sse', tools: [{ name: 'tool-0001' }, { name: 'tool-0002' }] });
    expect(server.requests[0]).toMatchObject({ method: 'POST', url: '/sse', rpcMethod: 'initialize' });
    // The SSE GET carries the configured headers as well as the POSTs do.
    expect(server.requests[1]).toMatchObject({ method: 'GET', url: '/sse', headers: { 'x-tenant': 'acme' } });
    for (const request of server.requests) expect(request.headers['x-tenant']).toBe('acme');
  });

  it('tries the preferred transport first', async () => {
    const server = await start({ transport: 'sse' });
    const result = await discover(target(server.url, { preferredTransport: 'sse' }));
    expect(result).toMatchObject({ ok: true, transport: 'sse' });
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/sse' });
    expect(server.requests.some((r) => r.url === '/sse' && r.method === 'POST')).toBe(false);
  });

  it('falls back from a preferred SSE to Streamable HTTP', async () => {
    const server = await start({ transport: 'streamable-http' });
    const result = await discover(target(server.url, { preferredTransport: 'sse' }));
    expect(result).toMatchObject({ ok: true, transport: 'streamable-http' });
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/mcp' });
  });

  it('names both transports when neither answers', async () => {
    const server = await start({ transport: 'streamable-http' });
    const result = await discover(target(`${server.origin}/not-mcp`));
    expect(result).toMatchObject({ ok: false, reason: 'ProtocolError', httpStatus: 404 });
    expect(!result.ok && result.message).toBe(
      `The server at ${server.origin}/not-mcp answered neither Streamable HTTP (HTTP 404) nor HTTP+SSE (HTTP 404); check that the URL points at the MCP endpoint.`,
    );
  });

  it.each(['not a url', 'ftp://127.0.0.1/mcp'])('refuses the URL %j', async (url) => {
    const result = await discover(target(url));
    expect(result).toMatchObject({ ok: false, reason: 'ProtocolError', message: expect.stringContaining('spec.url') });
  });
});

describe('tools/list paging', () => {
  it('follows nextCursor until every tool is listed', async () => {
    const server = await start({ transport: 'streamable-http', tools: 250, pageSize: 100 });
    const result = await discover(target(server.url));
    expect(result.ok).toBe(true);
    const tools = result.ok ? result.tools : [];
    expect(tools).toHaveLength(250);
    expect(new Set(tools.map((t) => t.name)).size).toBe(250);
    expect(tools[249]?.name).toBe('tool-0250');
    expect(server.requests.filter((r) => r.rpcMethod === 'tools/list')).toHaveLength(3);
  });

  it('pages over HTTP+SSE too', async () => {
    const server = await start({ transport: 'sse', tools: 7, pageSize: 3 });
    const result = await discover(target(server.url, { preferredTransport: 'sse' }));
    expect(result.ok && result.tools.map((t) => t.name)).toEqual(Array.from({ length: 7 }, (_, i) => `tool-000${i + 1}`));
  });

  it(`stops after ${MAX_TOOL_PAGES} pages instead of following cursors forever`, async () => {
    const server = await start({ transport: 'streamable-http', tools: MAX_TOOL_PAGES + 5, pageSize: 1 });
    // A hundred round trips may outlast a real 5 s budget on a busy machine; this one never runs out.
    const result = await discover(target(server.url), { clock: new FakeClock() });
    expect(result).toMatchObject({ ok: false, reason: 'ProtocolError', message: expect.stringContaining(`more than ${MAX_TOOL_PAGES} pages`) });
    expect(server.requests.filter((r) => r.rpcMethod === 'tools/list')).toHaveLength(MAX_TOOL_PAGES);
  });
});

describe('authentication', () => {
  const requireHeader = { name: 'authorization', value: SECRET, wwwAuthenticate: 'Bearer realm="acme", error="invalid_token"' };

  it.each(['streamable-http', 'sse'] as const)('a %s server accepts the configured header', async (transport) => {
    const server = await start({ transport, requireHeader });
    const result = await discover(target(server.url, { headers: { Authorization: SECRET }, authConfigured: 'header' }));
    expect(result).toMatchObject({ ok: true, transport, tools: [{ name: 'tool-0001' }, { name: 'tool-0002' }, { name: 'tool-0003' }] });
    expect(result.authStatus).toEqual({ status: 'authenticated', method: 'auth-override', message: expect.any(String) });
  });

  it.each(['streamable-http', 'sse'] as const)(
    'a %s server rejecting the header is AuthenticationRequired, quoting WWW-Authenticate and never the value',
    async (transport) => {
      const server = await start({ transport, requireHeader });
      const wrong = 'Bearer wrong-but-still-secret';
      const result = await discover(target(server.url, { headers: { Authorization: wrong }, authConfigured: 'header' }));
      expect(result).toMatchObject({ ok: false, reason: 'AuthenticationRequired', httpStatus: 401 });
      expect(!result.ok && result.message).toBe(
        `MCP server at 127.0.0.1:${server.port} answered HTTP 401 (WWW-Authenticate: Bearer realm="acme", error="invalid_token"); configure auth_data with credentials the server accepts.`,
      );
      expect(result.authStatus).toEqual({ status: 'authentication_required', method: 'auth-override', message: expect.stringContaining('auth_data headers') });
      expect(JSON.stringify(result)).not.toContain('wrong-but-still-secret');
      // 401 means auth, not "wrong transport": no fallback request was made.
      expect(server.requests).toHaveLength(1);
    },
  );

  it('a server requiring auth with none configured asks for auth_data', async () => {
    const server = await start({ transport: 'streamable-http', requireHeader });
    const result = await discover(target(server.url));
    expect(result).toMatchObject({
      ok: false,
      reason: 'AuthenticationRequired',
      authStatus: { status: 'authentication_required', method: null, message: expect.stringContaining('add auth_data') },
    });
  });

  it('passthrough: a server that needs a caller token reports per-caller discovery', async () => {
    const server = await start({ transport: 'streamable-http', requireHeader });
    const result = await discover(target(server.url, { authConfigured: 'passthrough' }));
    expect(result).toMatchObject({
      ok: false,
      reason: 'AuthenticationRequired',
      authStatus: { status: 'unknown', method: 'passthrough', message: expect.stringContaining('tools are discovered per caller') },
    });
  });

  it('passthrough: a server that answers without a token needs no authentication', async () => {
    const server = await start({ transport: 'streamable-http' });
    const result = await discover(target(server.url, { authConfigured: 'passthrough' }));
    expect(result).toMatchObject({ ok: true, authStatus: { status: 'authentication_not_required', method: 'passthrough' } });
  });
});

describe('failures', () => {
  // The budget runs on an injected clock and the server never answers: discovery ends when the test moves
  // the clock to the end of the budget, not a moment before, and not because the server answered. The
  // budget is long in real time too, so the SDK's own request timer (just past the budget) never decides.
  const BUDGET_MS = 60_000;

  /** Starts discover() with a FakeClock budget; `settled` says whether it has answered. */
  function discoverOnFakeClock(t: DiscoveryTarget) {
    const clock = new FakeClock();
    const run = { clock, settled: false, result: discover(t, { clock }) };
    void run.result.finally(() => (run.settled = true));
    return run;
  }

  it.each(['streamable-http', 'sse'] as const)('a %s server slower than the budget is a Timeout when the budget runs out', async (transport) => {
    const server = await start({ transport, hang: true });
    const run = discoverOnFakeClock(target(server.url, { timeoutMs: BUDGET_MS, preferredTransport: transport, headers: { Authorization: SECRET } }));
    await waitFor(() => server.requests.length > 0, { what: 'the server to hold the first request' });
    run.clock.advance(BUDGET_MS - 1);
    await flushPromises();
    // A moment before the end, nothing has ended it: the budget's timer is the one thing still due.
    expect(run.settled).toBe(false);
    expect(run.clock.pendingTimers().map((t) => t.inMs)).toEqual([1]);
    run.clock.advance(1);
    const result = await run.result;
    expect(result).toMatchObject({ ok: false, reason: 'Timeout', authStatus: { status: 'unknown', method: null } });
    expect(!result.ok && result.message).toBe(
      `MCP server at 127.0.0.1:${server.port} did not complete discovery within the ${BUDGET_MS} ms budget; check that it responds, or raise the discovery timeout.`,
    );
  });

  it('a budget that runs out after initialize, during tools/list, is a Timeout too', async () => {
    // initialize is answered; tools/list is held until the budget has run out.
    const server = await start({ transport: 'streamable-http', hang: ['tools/list'] });
    const run = discoverOnFakeClock(target(server.url, { timeoutMs: BUDGET_MS }));
    await waitFor(() => server.requests.some((r) => r.rpcMethod === 'tools/list'), { what: 'tools/list to be held' });
    expect(run.settled).toBe(false);
    run.clock.advance(BUDGET_MS);
    const result = await run.result;
    expect(result).toMatchObject({ ok: false, reason: 'Timeout' });
    expect(server.requests.map((r) => r.rpcMethod)).toContain('tools/list');
  });

  it('a dead port is Unreachable, naming host:port', async () => {
    const port = await deadPort();
    const result = await discover(target(`http://127.0.0.1:${port}/mcp`, { headers: { Authorization: SECRET }, authConfigured: 'header' }));
    expect(result).toEqual({
      ok: false,
      reason: 'Unreachable',
      message: `Cannot reach the MCP server at 127.0.0.1:${port} (ECONNREFUSED); check the URL and that the server is running.`,
      authStatus: { status: 'unknown', method: 'auth-override', message: expect.any(String) },
    });
  });

  it.each(['streamable-http', 'sse'] as const)('a port fetch refuses to use is Unreachable and says why (%s first)', async (preferredTransport) => {
    const result = await discover(target('http://127.0.0.1:6000/mcp', { preferredTransport }));
    expect(result).toMatchObject({ ok: false, reason: 'Unreachable', message: expect.stringContaining("Port 6000 is on the Fetch standard's list of blocked ports") });
  });

  it('a stopped server is Unreachable, and discovered again once restarted on the same port', async () => {
    const first = await startMcpServer({ transport: 'streamable-http' });
    expect((await discover(target(first.url))).ok).toBe(true);
    await first.close();
    expect(await discover(target(first.url))).toMatchObject({ ok: false, reason: 'Unreachable' });
    const again = await start({ transport: 'streamable-http', port: first.port });
    expect(again.url).toBe(first.url);
    expect(await discover(target(first.url))).toMatchObject({ ok: true, transport: 'streamable-http' });
  });

  it('never puts header values in a failure', async () => {
    const headers = { Authorization: SECRET, 'X-Api-Key': 'key-1234567890' };
    const port = await deadPort();
    const sse = await start({ transport: 'sse', requireHeader: { name: 'x-other', value: 'nope' } });
    const results = await Promise.all([
      discover(target(`http://127.0.0.1:${port}/mcp`, { headers })),
      discover(target(sse.url, { headers })),
      discover(target(`${sse.origin}/missing`, { headers })),
    ]);
    for (const result of results) {
      expect(result.ok).toBe(false);
      const text = JSON.stringify(result);
      expect(text).not.toContain('s3cr3t-token-value');
      expect(text).not.toContain('key-1234567890');
    }
  });
});

describe('dependencies', () => {
  it('uses the fetch it is given (and leaves it open: the caller owns it)', async () => {
    const server = await start({ transport: 'streamable-http' });
    const calls: string[] = [];
    const result = await discover(target(server.url), {
      fetch: (url, init) => {
        calls.push(`${init?.method ?? 'GET'} ${String(url)}`);
        return fetch(url, init);
      },
    });
    expect(result.ok).toBe(true);
    expect(calls[0]).toBe(`POST ${server.url}`);
  });

  it('does not mangle the host named in a message when a short header value appears in it', async () => {
    const port = await deadPort();
    const result = await discover(target(`http://127.0.0.1:${port}/mcp`, { headers: { 'x-env': '127.0' } }));
    expect(!result.ok && result.message).toContain(`127.0.0.1:${port}`);
  });
});

/** A TCP relay in front of `port` that counts the connections made to it and knows which are still open. */
async function countingRelay(port: number): Promise<{ url: (path: string) => string; opened: () => number; open: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let opened = 0;
  const relay: Server = createTcpServer((client) => {
    opened++;
    sockets.add(client);
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = () => {
      sockets.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayPort = (relay.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${relayPort}${path}`,
    opened: () => opened,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        relay.close(() => resolve());
      }),
  };
}

describe('preconnect', () => {
  it.each(['streamable-http', 'sse'] as const)(
    'a refused connection fails on the preconnect with what a request through fetch says (%s first)',
    async (preferredTransport) => {
      const port = await deadPort();
      const t = target(`http://127.0.0.1:${port}/mcp`, { preferredTransport, headers: { Authorization: SECRET }, authConfigured: 'header' });
      // A fetch handed in skips the preconnect: every request goes through the SDK and fetch.
      const viaFetch = createServerFetch(t.tls);
      try {
        expect(await discover(t)).toEqual(await discover(t, { fetch: viaFetch }));
      } finally {
        await viaFetch.close();
      }
    },
  );

  it('the preconnected socket is the one the first request uses: no connection more than without it', async () => {
    const server = await start({ transport: 'streamable-http', stateful: true });
    const relay = await countingRelay(server.port);
    try {
      const t = target(relay.url(new URL(server.url).pathname));
      const viaFetch = createServerFetch(t.tls);
      try {
        expect(await discover(t, { fetch: viaFetch })).toMatchObject({ ok: true });
      } finally {
        await viaFetch.close();
      }
      const withoutPreconnect = relay.opened();
      expect(await discover(t)).toMatchObject({ ok: true, transport: 'streamable-http' });
      expect(relay.opened() - withoutPreconnect).toBe(withoutPreconnect);
    } finally {
      await relay.close();
    }
  });

  it('close() ends a preconnected socket that no request took', async () => {
    const server = await start({ transport: 'streamable-http' });
    const relay = await countingRelay(server.port);
    try {
      const serverFetch = createServerFetch({ rejectUnauthorized: true });
      expect(await serverFetch.preconnect!(new URL(relay.url('/mcp')))).toBeUndefined();
      await waitFor(() => relay.open() === 1, { what: 'the relay to see the preconnected socket' });
      await serverFetch.close();
      await waitFor(() => relay.open() === 0, { what: 'the preconnected socket to close' });
    } finally {
      await relay.close();
    }
  });
});
