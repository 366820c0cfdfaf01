// The gateway data plane end to end: a real SDK client → the real control plane on port 0 (/mcp/<name>)
// → a real SDK server on loopback, over Streamable HTTP and HTTP+SSE upstreams.
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createSelfSignedCert, openssl } from '../support/tls.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type McpTransportKind, type RunningMcpServer } from '../support/mcp-servers.js';
import {
  ALICE_TOKEN,
  BOB_TOKEN,
  connectClient,
  errorOf,
  GATEWAY_TEST_ARGS,
  GATEWAY_TOOLS,
  metricValue,
  putServer,
  testAuthenticators,
  type GatewayClient,
} from './gateway-support.js';

const UPSTREAM_SECRET = 'upstream-secret-3e8d1c7a';

let cp: TestControlPlane;
const upstreams: RunningMcpServer[] = [];
const clients: GatewayClient[] = [];

beforeAll(async () => {
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
});
afterAll(async () => {
  await cp.dispose();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(transport: McpTransportKind, extra: Partial<Parameters<typeof startMcpServer>[0]> = {}): Promise<RunningMcpServer> {
  const server = await startMcpServer({ transport, tools: GATEWAY_TOOLS, stateful: transport === 'streamable-http', ...extra });
  upstreams.push(server);
  return server;
}

async function connect(name: string, token?: string): Promise<GatewayClient> {
  const c = await connectClient(cp, name, token);
  clients.push(c);
  return c;
}

const toolCalls = (u: RunningMcpServer) => u.requests.filter((r) => r.rpcMethod === 'tools/call');

describe.each<McpTransportKind>(['streamable-http', 'sse'])('over a %s upstream', (kind) => {
  const name = `tools-${kind === 'sse' ? 'sse' : 'http'}`;

  it('lists tools filtered and overridden, refuses disabled and unknown tools without reaching the upstream, and round-trips a call', async () => {
    const u = await upstream(kind);
    await putServer(cp, {
      name,
      url: u.url,
      tool_settings: [
        { name: 'secret-admin', disabled: true },
        { name: 'echo', description: 'Echo, as the platform team describes it.', annotations: { readOnlyHint: true } },
      ],
    });
    const { client } = await connect(name);
    expect(client.getServerVersion()).toEqual({ name: 'test-mcp-server', version: '1.0.0' });
    expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true });

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['echo', 'plain']);
    expect(tools[0]).toMatchObject({
      description: 'Echo, as the platform team describes it.',
      annotations: { title: 'Echo', destructiveHint: true, readOnlyHint: true },
      outputSchema: GATEWAY_TOOLS[0]!.outputSchema,
    });
    expect(tools[1]!.description).toBe('Upstream description.');

    // Answered as servers answer a tool they cannot run: a result with isError.
    const refused = await client.callTool({ name: 'secret-admin', arguments: {} });
    expect(refused).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('"secret-admin" is disabled') }] });
    const unknown = await client.callTool({ name: 'no-such-tool', arguments: {} });
    expect(unknown).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('"no-such-tool" is not a tool') }] });
    expect(toolCalls(u)).toEqual([]);

    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello', count: 2 } });
    expect(result.structuredContent).toEqual({ tool: 'echo', arguments: { text: 'hello', count: 2 } });
    expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ tool: 'echo', arguments: { text: 'hello', count: 2 } }) }]);
    expect(toolCalls(u)).toHaveLength(1);
    expect(await metricValue(cp, 'mcp_gateway_requests_total', { server: name, method: 'tools/call', outcome: 'refused' })).toBe(2);
    expect(await metricValue(cp, 'mcp_gateway_requests_total', { server: name, method: 'tools/call', outcome: 'ok' })).toBe(1);
  });

  it("sends the configured headers upstream and never the client's Authorization or cookies", async () => {
    const u = await upstream(kind);
    await putServer(cp, {
      name: `${name}-headers`,
      url: u.url,
      additional_headers: { 'X-Upstream-Key': 'key-42' },
      auth_data: { type: 'header', headers: { Authorization: `Bearer ${UPSTREAM_SECRET}` } },
    });
    const before = u.requests.length;
    const { client } = await connect(`${name}-headers`);
    await client.callTool({ name: 'plain', arguments: {} });
    const relayed = u.requests.slice(before);
    expect(relayed.map((r) => r.rpcMethod)).toEqual(expect.arrayContaining(['initialize', 'tools/call']));
    for (const r of relayed) {
      expect(r.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
      expect(r.headers['x-upstream-key']).toBe('key-42');
      expect(r.headers.cookie).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain(ADMIN_TOKEN);
    }
  });

  it("ends the client's session when the upstream session ends, and the upstream's when the client ends it", async () => {
    const u = await upstream(kind);
    await putServer(cp, { name: `${name}-ends`, url: u.url });
    const first = await connect(`${name}-ends`);
    await first.client.listTools();
    expect(cp.dataPlane.sessionCount(`${name}-ends`)).toBe(1);
    await first.transport.terminateSession();
    await waitFor(() => cp.dataPlane.sessionCount(`${name}-ends`) === 0, { what: 'the gateway session to end' });
    if (kind === 'streamable-http') {
      await waitFor(() => u.requests.some((r) => r.method === 'DELETE'), { what: 'the upstream session DELETE' });
    }

    const second = await connect(`${name}-ends`);
    await second.client.listTools();
    await u.close(); // the upstream goes away with the session on it
    await waitFor(() => cp.dataPlane.sessionCount(`${name}-ends`) === 0, { what: 'the gateway session to end with its upstream', timeoutMs: 10_000 });
    // The lost session reached the status: the server is rediscovered at once, found gone and no longer served.
    await waitFor(async () => (await cp.gateway.list()).some((e) => e.fqn.endsWith(`:${name}-ends`) && e.unavailable?.reason === 'Unreachable'), {
      what: 'the gateway entry to say the server is unreachable',
    });
    const after = await second.client.listTools().catch((e: unknown) => e);
    expect(after).toBeInstanceOf(StreamableHTTPError);
    expect((after as StreamableHTTPError).code).toBe(503);
  });
});

describe('per server', () => {
  it('passthrough sends a token minted for the caller, so the upstream can tell callers apart', async () => {
    // This upstream serves Alice alone, by the subject of the token it gets (caller-token.test.ts verifies the signature).
    const aliceOnly = (value: string | undefined) => /^Bearer /.test(value ?? '') && decodeJwt(value!.slice(7)).sub === 'user:alice@example.com';
    const u = await upstream('streamable-http', { requireHeader: { name: 'authorization', accept: aliceOnly } });
    await putServer(cp, { name: 'passthrough', url: u.url, auth_data: { type: 'passthrough' }, collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-user' }] });
    const before = u.requests.length;
    const { client } = await connect('passthrough', ALICE_TOKEN);
    expect((await client.listTools()).tools).toHaveLength(3);
    const relayed = u.requests.slice(before);
    expect(relayed.length).toBeGreaterThan(0);
    for (const r of relayed) expect(aliceOnly(r.headers.authorization as string)).toBe(true);
    for (const r of relayed) expect(JSON.stringify(r.headers)).not.toContain(ALICE_TOKEN);

    // The admin's token is minted for the admin: the upstream, which serves only Alice, refuses the session.
    const refused = await connectClient(cp, 'passthrough', ADMIN_TOKEN).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).toBe(502);
    expect((refused as Error).message).toContain('HTTP 401');
  });

  openssl.it('honours tls_settings: trusts ca_cert, refuses an unverified certificate', async () => {
    const cert = await createSelfSignedCert();
    const u = await upstream('streamable-http', { tls: cert });
    await putServer(cp, { name: 'tls-trusted', url: u.url, tls_settings: { reject_unauthorized: true, ca_cert: cert.cert } });
    await putServer(cp, { name: 'tls-untrusted', url: u.url });
    const { client } = await connect('tls-trusted');
    expect((await client.callTool({ name: 'plain', arguments: { via: 'tls' } })).content).toEqual([
      { type: 'text', text: JSON.stringify({ tool: 'plain', arguments: { via: 'tls' } }) },
    ]);
    // Its discovery fails on the certificate, so it is not Ready and the gateway refuses it with the reason.
    // (A connect failure before discovery has spoken is a 502; relay.test.ts covers that path.)
    await waitFor(async () => (await cp.gateway.get('default:mcp-server:tls-untrusted'))?.unavailable?.reason === 'TLSError', {
      what: 'tls-untrusted marked unavailable',
    });
    const refused = await connectClient(cp, 'tls-untrusted').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).toBe(503);
    expect((refused as Error).message).toContain('TLSError');
  });

  it('tells open sessions tools/list_changed when the tool settings change, and serves the new list', async () => {
    const u = await upstream('streamable-http');
    await putServer(cp, { name: 'changing', url: u.url });
    const { client } = await connect('changing');
    let notified = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void notified++);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'secret-admin', 'plain']);
    await client.callTool({ name: 'secret-admin', arguments: {} });

    // A change that leaves the tool settings alone announces nothing.
    await putServer(cp, { name: 'changing', url: u.url, description: 'Only the description changed.' });
    await putServer(cp, { name: 'changing', url: u.url, tool_settings: [{ name: 'secret-admin', disabled: true }, { name: 'plain', description: 'New words.' }] });
    await waitFor(() => notified === 1, { what: 'notifications/tools/list_changed' });
    const { tools } = await client.listTools();
    expect(tools.map((t) => [t.name, t.description])).toEqual([
      ['echo', 'Echoes its arguments.'],
      ['plain', 'New words.'],
    ]);
    const calls = toolCalls(u).length;
    expect(await client.callTool({ name: 'secret-admin', arguments: {} })).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('"secret-admin" is disabled') }] });
    expect(toolCalls(u)).toHaveLength(calls);
    expect(notified).toBe(1);
  });

  it('serves /mcp/<name> without express, timed as every route; other /mcp paths go on to the app', async () => {
    const u = await upstream('streamable-http');
    await putServer(cp, { name: 'timed', url: u.url });
    const count = async () => {
      const { values } = await cp.metricsRegistry.getSingleMetric('mcp_cp_http_request_duration_seconds')!.get();
      const labels = { method: 'POST', route: '/mcp/{name}', code: '200' };
      return values.find((v) => (v as { metricName?: string }).metricName === 'mcp_cp_http_request_duration_seconds_count' && Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0;
    };
    const before = await count();
    const { client } = await connect('timed');
    await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    // initialize, notifications/initialized (202, not counted here) and tools/call, at least.
    await waitFor(async () => (await count()) >= before + 2, { what: 'the /mcp/{name} requests to be timed' });
    const deeper = await fetch(`${cp.url}/mcp/timed/deeper`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(deeper.status).toBe(404);
    expect((await errorOf(deeper)).code).toBe('NotFound');
  });

  it('ends the sessions of a deleted server, upstream too, and answers 404 afterwards', async () => {
    const u = await upstream('streamable-http');
    await putServer(cp, { name: 'doomed', url: u.url });
    const a = await connect('doomed');
    const b = await connect('doomed');
    await Promise.all([a.client.listTools(), b.client.listTools()]);
    expect(cp.dataPlane.sessionCount('doomed')).toBe(2);
    const deletesBefore = u.requests.filter((r) => r.method === 'DELETE').length;
    expect(await metricValue(cp, 'mcp_gateway_sessions_open', { server: 'doomed' })).toBe(2);

    expect((await cp.api('/api/svc/v1/mcp-servers/name/doomed', { method: 'DELETE' })).status).toBe(200);
    await waitFor(() => cp.dataPlane.sessionCount('doomed') === 0, { what: 'the sessions of the deleted server to end' });
    await waitFor(() => u.requests.filter((r) => r.method === 'DELETE').length === deletesBefore + 2, { what: 'both upstream sessions to be deleted' });
    expect(await metricValue(cp, 'mcp_gateway_sessions_open', { server: 'doomed' })).toBe(0);

    const after = await a.client.listTools().catch((e: unknown) => e);
    expect((after as StreamableHTTPError).code).toBe(404);
    const res = await fetch(`${cp.url}/mcp/doomed`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('NotFound');
  });

  it.each([
    ['no token', undefined, 401, 'Unauthorized'],
    ['an unknown token', 'not-a-known-token-123', 401, 'InvalidToken'],
    // As for a server that does not exist: the name of a server the caller may not use does not leak.
    ['a subject that is not a collaborator', BOB_TOKEN, 404, 'NotFound'],
  ])('refuses %s before anything reaches the upstream', async (_what, token, status, code) => {
    const u = await upstream('streamable-http');
    await putServer(cp, { name: 'guarded', url: u.url, collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-user' }] });
    const before = u.requests.length;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const res = await fetch(`${cp.url}/mcp/guarded`, { method: 'POST', headers, body: JSON.stringify(initialize) });
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe(code);
    if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(token ? /^Bearer .*error="invalid_token"/ : /^Bearer realm=/);
    expect(u.requests.length).toBe(before);

    // The collaborator gets in; her session is hers alone.
    const alice = await connect('guarded', ALICE_TOKEN);
    await alice.client.listTools();
    const hijack = await fetch(`${cp.url}/mcp/guarded`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${ADMIN_TOKEN}`, 'mcp-session-id': alice.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    expect(hijack.status).toBe(404);
  });
});
