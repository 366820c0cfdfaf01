// The GAIA-style API (/api/mcp/servers) through the real HTTP server on port 0, against real SDK MCP
// servers, a real OAuth token endpoint and a real CONNECT proxy on loopback.
import { resourceNameFor } from '../../src/http/gaia/gaia-mapping.js';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startConnectProxy, type RunningConnectProxy } from '../support/connect-proxy.js';
import { startMcpServer, startOAuthTokenServer, type RunningMcpServer, type RunningOAuthTokenServer } from '../support/mcp-servers.js';
import {
  createServer,
  EDITOR_TOKEN,
  editorAuthenticator,
  gaia,
  initializeThroughGateway,
  SERVERS,
  waitForGaiaStatus,
} from './support.js';

const HEADER_CANARY = 'canary-header-4b1d7e02';
const OAUTH_CANARY = 'canary-oauth-secret-93ac51f0';
const PROXY_CANARY = 'canary-proxy-token-6e2f88d1';
const CANARIES = [HEADER_CANARY, OAUTH_CANARY, PROXY_CANARY];

let streamable: RunningMcpServer;
let sse: RunningMcpServer;
let slow: RunningMcpServer;
beforeAll(async () => {
  streamable = await startMcpServer({ transport: 'streamable-http', tools: 2, serverInfo: { name: 'gaia-upstream', version: '2.1.0' } });
  sse = await startMcpServer({ transport: 'sse', tools: 3, serverInfo: { name: 'gaia-sse-upstream', version: '0.9.0' } });
  slow = await startMcpServer({ transport: 'streamable-http', tools: 1, delayMs: 400 });
});
afterAll(async () => {
  await Promise.all([streamable.close(), sse.close(), slow.close()]);
});

/** A port nothing listens on: start a server, note its port, close it. */
async function deadUrl(): Promise<string> {
  const s = await startMcpServer({ transport: 'streamable-http' });
  const url = s.url;
  await s.close();
  return url;
}

describe('GAIA API: create, read, list, update, delete', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'], authenticators: [editorAuthenticator()] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('creates an http server that is a declarative resource everywhere (same id, status, tools, gateway)', async () => {
    const res = await gaia(cp, '', {
      method: 'POST',
      body: { projectId: 'proj_123', name: 'My MCP Server', description: 'Production MCP server', transportType: 'http', url: streamable.url, connectionType: 'proxy' },
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ success: true, message: 'MCP server created successfully', serverId: expect.any(String) });
    const id = res.json.serverId as string;

    const tf = await cp.api(`${SERVERS}/${id}`);
    expect(tf.status).toBe(200);
    const name = resourceNameFor('proj_123', 'My MCP Server');
    expect(name).toMatch(/^my-mcp-server-[0-9a-f]{8}$/);
    expect(tf.json.data).toMatchObject({
      id,
      name,
      accountId: 'proj_123',
      proxyUrl: `${cp.url}/mcp/${name}`,
      manifest: {
        type: 'mcp-server/remote',
        name,
        description: 'Production MCP server',
        url: streamable.url,
        transport: 'streamable-http',
        connection_type: 'proxy',
        timeouts: { request_ms: 30000, total_ms: 60000 },
        ownedBy: { account: 'proj_123' },
        tags: { 'gaia/name': 'My MCP Server' },
      },
    });

    const server = await waitForGaiaStatus(cp, id, 'ready');
    expect(server).toMatchObject({
      id,
      serverId: id,
      projectId: 'proj_123',
      name: 'My MCP Server',
      resourceName: name,
      transportType: 'http',
      connectionType: 'proxy',
      url: streamable.url,
      gatewayUrl: `${cp.url}/mcp/${name}`,
      proxyUrl: null,
      requestTimeout: 30000,
      maxTotalTimeout: 60000,
      detectedTransport: 'http',
      toolCount: 2,
    });
    const tools = await gaia(cp, `/${id}/tools`);
    expect(tools.status).toBe(200);
    expect(tools.json.tools.map((t: { name: string }) => t.name)).toEqual(['tool-0001', 'tool-0002']);

    const list = await gaia(cp, '?projectId=proj_123');
    expect(list.status).toBe(200);
    expect(list.json.success).toBe(true);
    expect(list.json.servers.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await gaia(cp, '?projectId=another-project')).json.servers).toEqual([]);

    // The gateway serves it: the entry carries the preset transport and the timeouts, and an MCP client gets through.
    const entry = await waitFor(async () => {
      const g = await cp.api('/api/svc/v1/gateway/servers');
      return (g.json.data as { name: string }[]).find((e) => e.name === name);
    });
    expect(entry).toMatchObject({ connectionType: 'proxy', transport: 'streamable-http', transportPinned: true, timeouts: { requestMs: 30000, totalMs: 60000 } });
    const init = await initializeThroughGateway(cp, name);
    expect(init.status).toBe(200);
  });

  it('answers 409 for a second create with the same name (or one that differs in case and spacing) in the project', async () => {
    const body = { projectId: 'proj-dup', name: 'Search Tools', transportType: 'http', url: streamable.url };
    const first = await createServer(cp, body);
    const again = await gaia(cp, '', { method: 'POST', body });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ success: false, message: expect.stringContaining(`serverId ${first}`) });
    expect((await gaia(cp, '', { method: 'POST', body: { ...body, name: 'search   TOOLS' } })).status).toBe(409);
    // The same name in another project is another server.
    expect((await gaia(cp, '', { method: 'POST', body: { ...body, projectId: 'proj-dup-2' } })).status).toBe(201);
  });

  it('patches partially: renames, changes headers and timeouts, keeps masked secrets, refuses what cannot change', async () => {
    const id = await createServer(cp, {
      projectId: 'proj-patch',
      name: 'Patch Me',
      transportType: 'http',
      url: streamable.url,
      customHeaders: [{ name: 'X-Team', value: HEADER_CANARY }],
    });
    await createServer(cp, { projectId: 'proj-patch', name: 'Taken Name', transportType: 'http', url: streamable.url });

    const renamed = await gaia(cp, `/${id}`, { method: 'PATCH', body: { name: 'Patched', requestTimeout: 5000, description: 'now patched' } });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({
      success: true,
      message: 'MCP server updated successfully',
      server: { id, name: 'Patched', description: 'now patched', requestTimeout: 5000, maxTotalTimeout: 60000, customHeaders: [{ name: 'X-Team', value: '********' }] },
    });
    // The resource name stays: the serverId and the gateway URL do not move.
    expect(renamed.json.server.resourceName).toBe(resourceNameFor('proj-patch', 'Patch Me'));

    // Sending back what GET answered (masked values) keeps the stored header value.
    const got = await gaia(cp, `/${id}`);
    const back = await gaia(cp, `/${id}`, { method: 'PATCH', body: { customHeaders: got.json.server.customHeaders } });
    expect(back.status).toBe(200);
    const tf = await cp.api(`${SERVERS}/${id}`);
    expect(tf.json.data.manifest.additional_headers).toEqual({ 'X-Team': '********' });
    expect(tf.json.data.generation).toBe(2); // the masked PATCH changed nothing
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).text.includes('X-Team'));
    await waitForGaiaStatus(cp, id, 'ready');
    const seen = streamable.requests.filter((r) => r.headers['x-team'] === HEADER_CANARY);
    expect(seen.length).toBeGreaterThan(0);

    expect((await gaia(cp, `/${id}`, { method: 'PATCH', body: { name: 'Taken Name' } })).status).toBe(409);
    const project = await gaia(cp, `/${id}`, { method: 'PATCH', body: { projectId: 'elsewhere' } });
    expect(project.status).toBe(400);
    expect(project.json.errors).toEqual([expect.objectContaining({ path: '/projectId' })]);
    const kind = await gaia(cp, `/${id}`, { method: 'PATCH', body: { transportType: 'stdio' } });
    expect(kind.status).toBe(400);
    expect(kind.json.errors[0]).toMatchObject({ path: '/transportType' });
    const nulls = await gaia(cp, `/${id}`, { method: 'PATCH', body: { url: null } });
    expect(nulls.status).toBe(400);
    expect(nulls.json.errors[0]).toMatchObject({ path: '/url', message: expect.stringContaining('cannot be null') });

    // null clears: headers gone, timeout back to its default.
    const cleared = await gaia(cp, `/${id}`, { method: 'PATCH', body: { customHeaders: null, requestTimeout: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.server).toMatchObject({ customHeaders: [], requestTimeout: 30000 });
  });

  it('deletes through Intake: the resource and its gateway entry go', async () => {
    const id = await createServer(cp, { projectId: 'proj-del', name: 'Delete Me', transportType: 'http', url: streamable.url });
    const name = resourceNameFor('proj-del', 'Delete Me');
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).text.includes(name));
    const res = await gaia(cp, `/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true, message: 'MCP server deleted successfully', serverId: id });
    expect((await gaia(cp, `/${id}`)).status).toBe(404);
    expect((await cp.api(`${SERVERS}/${id}`)).status).toBe(404);
    await waitFor(async () => !(await cp.api('/api/svc/v1/gateway/servers')).text.includes(name), { what: 'gateway entry removed' });
    expect((await gaia(cp, `/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers errors in the GAIA envelope with the right status', async () => {
    const missing = await gaia(cp, '', { method: 'POST', body: { name: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.json.success).toBe(false);
    expect(missing.json.errors.map((e: { path: string }) => e.path)).toEqual(['/projectId', '/transportType']);

    const noUrl = await gaia(cp, '', { method: 'POST', body: { projectId: 'p', name: 'x', transportType: 'sse' } });
    expect(noUrl.status).toBe(400);
    expect(noUrl.json.errors).toEqual([{ path: '/url', message: 'is required' }]);

    const wrongKind = await gaia(cp, '', { method: 'POST', body: { projectId: 'p', name: 'x', transportType: 'http', url: streamable.url, command: 'node' } });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.json.errors[0]).toMatchObject({ path: '/command' });

    const headers = await gaia(cp, '', {
      method: 'POST',
      body: { projectId: 'p', name: 'x', transportType: 'http', url: streamable.url, customHeaders: [{ name: 'bad name', value: 'v' }] },
    });
    expect(headers.status).toBe(400);
    expect(headers.json.errors).toEqual([expect.objectContaining({ path: '/customHeaders/0/name' })]);

    const oauth = await gaia(cp, '', {
      method: 'POST',
      body: { projectId: 'p', name: 'x', transportType: 'http', url: streamable.url, oauthClientId: 'id', oauthClientSecret: OAUTH_CANARY },
    });
    expect(oauth.status).toBe(400);
    expect(oauth.json.errors).toEqual([{ path: '/oauthTokenUrl', message: expect.stringContaining('send oauthTokenUrl') }]);

    const proxyToken = await gaia(cp, '', {
      method: 'POST',
      body: { projectId: 'p', name: 'x', transportType: 'http', url: streamable.url, proxyAuthToken: PROXY_CANARY },
    });
    expect(proxyToken.status).toBe(400);
    expect(proxyToken.json.errors[0]).toMatchObject({ path: '/proxyAuthToken', message: expect.stringContaining('needs proxyUrl') });

    const unknown = await gaia(cp, '', { method: 'POST', body: { projectId: 'p', name: 'x', transportType: 'http', url: streamable.url, colour: 'blue' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors[0]).toMatchObject({ path: '/colour' });

    const badJson = await gaia(cp, '', { method: 'POST', rawBody: '{"projectId":', headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    expect(badJson.json.success).toBe(false);

    const text = await gaia(cp, '', { method: 'POST', rawBody: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.json.success).toBe(false);

    const anonymous = await gaia(cp, '?projectId=p', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ success: false, message: expect.stringContaining('bearer token') });

    const noProject = await gaia(cp, '');
    expect(noProject.status).toBe(400);
    expect(noProject.json.errors[0]).toMatchObject({ path: '/query/projectId' });

    expect((await gaia(cp, '/no-such-id')).status).toBe(404);
    expect((await gaia(cp, '/no-such-id/tools')).status).toBe(404);
    expect((await gaia(cp, '/no-such-id', { method: 'PATCH', body: { description: 'x' } })).status).toBe(404);
  });

  it('scopes projects to the caller: 403 outside their projects, the creator manages, the project uses', async () => {
    const outside = await gaia(cp, '', {
      method: 'POST',
      token: EDITOR_TOKEN,
      body: { projectId: 'proj-b', name: 'Not Mine', transportType: 'http', url: streamable.url },
    });
    expect(outside.status).toBe(403);
    expect(outside.json.message).toContain('proj-b');
    expect((await gaia(cp, '?projectId=proj-b', { token: EDITOR_TOKEN })).status).toBe(403);

    const mine = await gaia(cp, '', { method: 'POST', token: EDITOR_TOKEN, body: { projectId: 'proj-a', name: 'Mine', transportType: 'http', url: streamable.url } });
    expect(mine.status).toBe(201);
    const tf = await cp.api(`${SERVERS}/${mine.json.serverId}`);
    expect(tf.json.data.manifest.collaborators).toEqual([
      { subject: 'team:everyone', role_id: 'mcp-server-user' },
      { subject: 'user:erin@example.com', role_id: 'mcp-server-manager' },
    ]);
    const listed = await gaia(cp, '?projectId=proj-a', { token: EDITOR_TOKEN });
    expect(listed.json.servers.map((s: { id: string }) => s.id)).toEqual([mine.json.serverId]);
    // A server of another project is not even visible to the editor.
    const other = await createServer(cp, { projectId: 'proj-b', name: 'Theirs', transportType: 'http', url: streamable.url });
    expect((await gaia(cp, `/${other}`, { token: EDITOR_TOKEN })).status).toBe(404);
    expect((await gaia(cp, `/${other}`, { method: 'DELETE', token: EDITOR_TOKEN })).status).toBe(404);
  });
});

describe('GAIA API: every field mapped, secrets never answered', () => {
  let cp: TestControlPlane;
  let tokenServer: RunningOAuthTokenServer;
  let guarded: RunningMcpServer;
  let proxy: RunningConnectProxy;
  beforeAll(async () => {
    tokenServer = await startOAuthTokenServer({ clientId: 'gaia-client', clientSecret: OAUTH_CANARY });
    guarded = await startMcpServer({
      transport: 'sse',
      tools: 2,
      requireHeader: { name: 'authorization', accept: (v) => tokenServer.acceptsBearer(v) },
    });
    proxy = await startConnectProxy({ requireHeader: { name: 'x-proxy-token', value: PROXY_CANARY } });
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
    await Promise.all([tokenServer.close(), guarded.close(), proxy.close()]);
  });

  it('maps OAuth, custom headers, the upstream proxy and timeouts, and the server works through them', async () => {
    const body = {
      projectId: 'proj-full',
      name: 'Full Server',
      description: 'Every field',
      transportType: 'sse',
      url: guarded.url,
      connectionType: 'proxy',
      customHeaders: { 'X-Team': HEADER_CANARY },
      oauthClientId: 'gaia-client',
      oauthClientSecret: OAUTH_CANARY,
      oauthScope: 'tools:read tools:call',
      oauthTokenUrl: tokenServer.tokenUrl,
      proxyUrl: proxy.url,
      proxyAuthToken: PROXY_CANARY,
      proxyAuthHeader: 'X-Proxy-Token',
      requestTimeout: 4000,
      maxTotalTimeout: 9000,
    };
    const created = await gaia(cp, '', { method: 'POST', body });
    expect(created.status).toBe(201);
    const id = created.json.serverId as string;

    const tf = await cp.api(`${SERVERS}/${id}`);
    expect(tf.json.data.manifest).toEqual({
      type: 'mcp-server/remote',
      name: resourceNameFor('proj-full', 'Full Server'),
      description: 'Every field',
      url: guarded.url,
      transport: 'sse',
      connection_type: 'proxy',
      timeouts: { request_ms: 4000, total_ms: 9000 },
      upstream_proxy: { url: proxy.url, auth_header: 'X-Proxy-Token', auth_token: '********' },
      collaborators: [
        { subject: 'team:everyone', role_id: 'mcp-server-user' },
        { subject: 'user:admin', role_id: 'mcp-server-manager' },
      ],
      tls_settings: { reject_unauthorized: true },
      tool_settings: [],
      auth_data: {
        type: 'oauth2',
        grant_type: 'client_credentials',
        token_url: tokenServer.tokenUrl,
        jwt_source: 'access_token',
        client_id: 'gaia-client',
        client_secret: '********',
        scopes: ['tools:read', 'tools:call'],
      },
      additional_headers: { 'X-Team': '********' },
      ownedBy: { account: 'proj-full' },
      tags: { 'gaia/name': 'Full Server' },
    });

    // Discovery went through the proxy (with its token, to the proxy only) and used the OAuth token.
    const server = await waitForGaiaStatus(cp, id, 'ready');
    expect(server).toMatchObject({
      transportType: 'sse',
      detectedTransport: 'sse',
      oauthClientId: 'gaia-client',
      oauthScope: 'tools:read tools:call',
      oauthTokenUrl: tokenServer.tokenUrl,
      hasOauthClientSecret: true,
      proxyUrl: proxy.url,
      proxyAuthHeader: 'X-Proxy-Token',
      hasProxyAuthToken: true,
      requestTimeout: 4000,
      maxTotalTimeout: 9000,
      customHeaders: [{ name: 'X-Team', value: '********' }],
      toolCount: 2,
    });
    expect(proxy.connects.length).toBeGreaterThan(0);
    expect(proxy.connects.every((c) => c.allowed && c.target === `127.0.0.1:${guarded.port}`)).toBe(true);
    expect(guarded.requests.some((r) => r.headers['x-proxy-token'] !== undefined)).toBe(false);
    expect(guarded.requests.some((r) => r.headers['x-team'] === HEADER_CANARY)).toBe(true);
    expect(tokenServer.requests.some((r) => r.status === 200 && r.scope === 'tools:read tools:call')).toBe(true);

    const gateway = await cp.api('/api/svc/v1/gateway/servers');
    const entry = (gateway.json.data as { resourceId: string }[]).find((e) => e.resourceId === id);
    expect(entry).toMatchObject({
      transport: 'sse',
      transportPinned: true,
      timeouts: { requestMs: 4000, totalMs: 9000 },
      upstreamProxy: { url: proxy.url, headers: { 'X-Proxy-Token': '********' } },
    });

    // Canary: no answer carries a secret, not even errors that mention the secret fields.
    const badSecret = await gaia(cp, '', { method: 'POST', body: { ...body, name: 'Bad', customHeaders: { 'X-Team': `${HEADER_CANARY}\n` } } });
    expect(badSecret.status).toBe(400);
    const validate = await gaia(cp, '/validate', { method: 'POST', body: { ...body, name: 'Validate Full' } });
    expect(validate.json).toMatchObject({ valid: true, status: 'connected', detectedTransport: 'sse' });
    const texts = [
      created.text,
      tf.text,
      gateway.text,
      badSecret.text,
      validate.text,
      (await gaia(cp, `/${id}`)).text,
      (await gaia(cp, '?projectId=proj-full')).text,
      (await gaia(cp, `/${id}/tools`)).text,
      (await gaia(cp, `/${id}`, { method: 'PATCH', body: { oauthClientSecret: OAUTH_CANARY, proxyAuthToken: PROXY_CANARY } })).text,
      (await cp.api(SERVERS)).text,
      (await cp.api(`${SERVERS}/${id}/events`)).text,
      (await cp.api('/api/svc/v1/events')).text,
    ];
    for (const text of texts) for (const canary of CANARIES) expect(text).not.toContain(canary);
  });

  it('accepts customHeaders as an array of { name, value } and reports duplicates', async () => {
    const id = await createServer(cp, {
      projectId: 'proj-headers',
      name: 'Array Headers',
      transportType: 'http',
      url: streamable.url,
      customHeaders: [
        { name: 'X-One', value: '1' },
        { name: 'X-Two', value: '2' },
      ],
    });
    const tf = await cp.api(`${SERVERS}/${id}`);
    expect(tf.json.data.manifest.additional_headers).toEqual({ 'X-One': '********', 'X-Two': '********' });
    const dup = await gaia(cp, '', {
      method: 'POST',
      body: { projectId: 'proj-headers', name: 'Dup', transportType: 'http', url: streamable.url, customHeaders: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] },
    });
    expect(dup.status).toBe(400);
    expect(dup.json.errors).toEqual([expect.objectContaining({ path: '/customHeaders/1/name' })]);
  });
});

describe('GAIA API: validate tests a connection and stores nothing', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  const body = (extra: Record<string, unknown>) => ({ projectId: 'proj-v', name: 'Validate Me', ...extra });

  it.each([
    ['http', () => streamable, 'gaia-upstream', 'http'],
    ['sse', () => sse, 'gaia-sse-upstream', 'sse'],
  ])('answers valid for a real %s server', async (transportType, server, serverName, detected) => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: body({ transportType, url: server().url }) });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      valid: true,
      status: 'connected',
      serverInfo: { name: serverName, version: expect.any(String) },
      capabilities: expect.objectContaining({ tools: expect.any(Object) }),
      detectedTransport: detected,
      message: expect.stringContaining('Connected over'),
    });
    expect((await cp.api(SERVERS)).json.pagination.total).toBe(0);
  });

  it('names the transport that answered when transportType is wrong', async () => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: body({ transportType: 'http', url: sse.url }) });
    expect(res.json).toMatchObject({ valid: false, status: 'transport_mismatch', detectedTransport: 'sse', message: expect.stringContaining('transportType: sse') });
  });

  it('answers valid: false for a dead loopback URL', async () => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: body({ transportType: 'http', url: await deadUrl() }) });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: false, status: 'unreachable', serverInfo: null, capabilities: null, detectedTransport: null });
    expect(res.json.message).toMatch(/refused|reach/i);
    expect((await cp.api(SERVERS)).json.pagination.total).toBe(0);
  });

  it('answers 400 for an invalid body', async () => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: { transportType: 'http' } });
    expect(res.status).toBe(400);
    expect(res.json.success).toBe(false);
  });
});

describe('GAIA API: transport preset, timeouts, direct vs proxy', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--discovery-retry-base', '10m', '--discovery-retry-max', '10m'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('uses only the preset transport: sse against a Streamable HTTP server fails, with no fallback', async () => {
    const before = streamable.requests.length;
    const id = await createServer(cp, { projectId: 'proj-t', name: 'Wrong Transport', transportType: 'sse', url: streamable.url });
    const server = await waitForGaiaStatus(cp, id, 'error');
    expect(server.statusReason).toBe('ProtocolError');
    expect(server.statusMessage).toContain('the transport the manifest presets');
    // Only SSE GETs reached the server: no Streamable HTTP initialize POST was tried.
    const since = streamable.requests.slice(before);
    expect(since.some((r) => r.method === 'POST')).toBe(false);
  });

  it('requestTimeout governs discovery: a server slower than it times out, the same server with the default is ready', async () => {
    const tight = await createServer(cp, { projectId: 'proj-t', name: 'Tight', transportType: 'http', url: slow.url, requestTimeout: 100 });
    const failed = await waitForGaiaStatus(cp, tight, 'error');
    expect(failed.statusReason).toBe('Timeout');
    const relaxed = await createServer(cp, { projectId: 'proj-t', name: 'Relaxed', transportType: 'http', url: slow.url });
    await waitForGaiaStatus(cp, relaxed, 'ready');
  });

  it('direct: no proxyUrl, no gatewayUrl, /mcp/<name> answers 404; proxy: served', async () => {
    const direct = await createServer(cp, { projectId: 'proj-c', name: 'Direct One', transportType: 'http', url: streamable.url, connectionType: 'direct' });
    const proxied = await createServer(cp, { projectId: 'proj-c', name: 'Proxied One', transportType: 'http', url: streamable.url });
    const d = await waitForGaiaStatus(cp, direct, 'ready');
    const p = await waitForGaiaStatus(cp, proxied, 'ready');
    expect(d).toMatchObject({ connectionType: 'direct', gatewayUrl: null, toolCount: 2 });
    expect(p).toMatchObject({ connectionType: 'proxy', gatewayUrl: `${cp.url}/mcp/${p.resourceName}` });
    expect((await cp.api(`${SERVERS}/${direct}`)).json.data.proxyUrl).toBeNull();
    expect((await cp.api(`${SERVERS}/${proxied}`)).json.data.proxyUrl).toBe(`${cp.url}/mcp/${p.resourceName}`);

    const gateway = (await cp.api('/api/svc/v1/gateway/servers')).json.data as { resourceId: string; connectionType: string }[];
    expect(gateway.find((e) => e.resourceId === direct)?.connectionType).toBe('direct');
    expect((await initializeThroughGateway(cp, d.resourceName)).status).toBe(404);
    expect((await initializeThroughGateway(cp, p.resourceName)).status).toBe(200);
  });
});

describe('the new manifest fields through PUT', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('accepts transport, connection_type and timeouts, and the server shows in the GAIA list of its account', async () => {
    const manifest = {
      type: 'mcp-server/remote',
      name: 'put-sse',
      description: 'Created through PUT',
      url: sse.url,
      transport: 'sse',
      connection_type: 'direct',
      timeouts: { request_ms: 2000 },
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
      ownedBy: { account: 'proj-put' },
    };
    const put = await cp.api(SERVERS, { method: 'PUT', body: { manifest } });
    expect(put.status).toBe(200);
    expect(put.json.data.manifest.timeouts).toEqual({ request_ms: 2000, total_ms: 60000 });
    expect(put.json.data.proxyUrl).toBeNull();
    const id = put.json.data.id as string;
    const server = await waitForGaiaStatus(cp, id, 'ready');
    expect(server).toMatchObject({ name: 'put-sse', resourceName: 'put-sse', transportType: 'sse', connectionType: 'direct', gatewayUrl: null });
    expect((await gaia(cp, '?projectId=proj-put')).json.servers.map((s: { id: string }) => s.id)).toEqual([id]);

    const bad = await cp.api(SERVERS, { method: 'PUT', body: { manifest: { ...manifest, transport: 'websocket', timeouts: { request_ms: 0 } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path)).toEqual(['/manifest/timeouts/request_ms', '/manifest/transport']);
  });
});
