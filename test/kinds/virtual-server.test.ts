// mcp-server/virtual end to end: two real SDK upstreams (Streamable HTTP and HTTP+SSE) registered as
// remote servers, composed by a virtual server applied through PUT, and driven by the SDK's own client
// through the gateway: the union, calls routed to each source, a conflict and its resolution by
// enabled_tools, a source's tools changing live, an auth_data override, a source deleted, and what
// intake refuses.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { userPrincipal } from '../support/principals.js';

const API = '/api/svc/v1/mcp-servers';
const EDITOR_TOKEN = 'virtual-editor-token-0123456789';
const EDITOR = userPrincipal('ed@example.com', 'editor', 'Ed');

const FAY_TOKEN = 'virtual-fay-token-0123456789';
const FAY = userPrincipal('fay@example.com', 'editor', 'Fay');

let cp: TestControlPlane;
let github: RunningMcpServer;
let wiki: RunningMcpServer;
let locked: RunningMcpServer;

const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

function virtualManifest(servers: unknown[], name = 'support-agent'): Record<string, unknown> {
  return { type: 'mcp-server/virtual', name, description: 'What the support agent may use', servers, collaborators: everyone };
}

async function put(manifest: Record<string, unknown>, token = ADMIN_TOKEN) {
  return cp.api(API, { method: 'PUT', body: { manifest }, token });
}

/** The resource once its Ready condition describes its current generation with this status (and reason). */
async function waitReady(name: string, status: 'True' | 'False', reason?: string) {
  return waitFor(
    async () => {
      const got = await cp.api(`${API}/name/${name}`);
      const data = got.json?.data;
      const ready = (data?.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      const current = ready && ready.observedGeneration === data.generation && ready.status === status && (reason === undefined || ready.reason === reason);
      return current ? data : undefined;
    },
    { what: `${name} Ready=${status}${reason ? ` (${reason})` : ''}` },
  );
}

async function gatewayClient(name: string): Promise<Client> {
  const client = new Client({ name: 'virtual-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  return client;
}

function echoOf(result: unknown): { tool: string; arguments: Record<string, unknown> } {
  return JSON.parse(((result as { content: { text: string }[] }).content)[0]!.text) as { tool: string; arguments: Record<string, unknown> };
}

beforeAll(async () => {
  github = await startMcpServer({
    transport: 'streamable-http',
    stateful: true,
    tools: [{ name: 'search_issues', description: 'Search issues.' }, { name: 'create_issue' }, { name: 'lookup' }],
  });
  wiki = await startMcpServer({ transport: 'sse', tools: [{ name: 'wiki_read' }, { name: 'lookup' }] });
  locked = await startMcpServer({
    transport: 'streamable-http',
    tools: [{ name: 'locked_tool' }],
    requireHeader: { name: 'authorization', accept: (v) => v === 'Bearer full-token' || v === 'Bearer read-only-token' },
  });
  cp = await startTestControlPlane({ authenticators: [new StaticTokenAuthenticator(EDITOR_TOKEN, EDITOR), new StaticTokenAuthenticator(FAY_TOKEN, FAY)] });
  expect((await put(remoteManifest({ name: 'github-tools', url: github.url, collaborators: everyone }))).status).toBe(200);
  expect((await put(remoteManifest({ name: 'wiki', url: wiki.url, collaborators: everyone, tool_settings: [{ name: 'wiki_read', description: 'Read a wiki page.' }] }))).status).toBe(200);
  await waitReady('github-tools', 'True');
  await waitReady('wiki', 'True');
});

afterAll(async () => {
  await cp?.dispose();
  await Promise.all([github, wiki, locked].map((s) => s?.close()));
});

describe('mcp-server/virtual', () => {
  it('is Ready=False with ToolNameConflict naming both sources, until enabled_tools resolves it', async () => {
    const created = await put(virtualManifest([{ name: 'github-tools' }, { name: 'wiki' }]));
    expect(created.status).toBe(200);
    const conflicted = await waitReady('support-agent', 'False', 'ToolNameConflict');
    const ready = conflicted.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.message).toContain('"lookup" ("github-tools" and "wiki")');
    // Status shows both, each with its source.
    expect(conflicted.tools.filter((t: { name: string }) => t.name === 'lookup').map((t: { source: string }) => t.source)).toEqual(['github-tools', 'wiki']);
    // Not served meanwhile: 503 with the reason.
    const refused = await fetch(`${cp.url}/mcp/support-agent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('ToolNameConflict');

    expect((await put(virtualManifest([{ name: 'github-tools' }, { name: 'wiki', enabled_tools: ['wiki_read'] }]))).status).toBe(200);
    const resolved = await waitReady('support-agent', 'True');
    // Nothing to discover: a refresh answers at once with the status written.
    const refreshed = await cp.api(`${API}/name/support-agent/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(resolved.tools.map((t: { name: string; source: string }) => [t.name, t.source]).sort()).toEqual([
      ['create_issue', 'github-tools'],
      ['lookup', 'github-tools'],
      ['search_issues', 'github-tools'],
      ['wiki_read', 'wiki'],
    ]);
  });

  it('serves the union through the gateway and routes each call to the source that serves it', async () => {
    await waitReady('support-agent', 'True');
    const client = await gatewayClient('support-agent');
    try {
      expect(client.getServerVersion()?.name).toBe('support-agent');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['create_issue', 'lookup', 'search_issues', 'wiki_read']);
      // The source's own tool_settings apply inside the union.
      expect(tools.find((t) => t.name === 'wiki_read')?.description).toBe('Read a wiki page.');

      const githubCallsBefore = github.requests.filter((r) => r.rpcMethod === 'tools/call').length;
      expect(echoOf(await client.callTool({ name: 'wiki_read', arguments: { page: 'Home' } }))).toEqual({ tool: 'wiki_read', arguments: { page: 'Home' } });
      expect(echoOf(await client.callTool({ name: 'lookup', arguments: { q: 'x' } }))).toEqual({ tool: 'lookup', arguments: { q: 'x' } });
      // lookup went to github-tools (wiki's lookup is not enabled), and only there.
      expect(github.requests.filter((r) => r.rpcMethod === 'tools/call').length).toBe(githubCallsBefore + 1);
      expect(wiki.requests.filter((r) => r.rpcMethod === 'tools/call').length).toBe(1);

      const unknown = await client.callTool({ name: 'delete_repo', arguments: {} });
      expect(unknown.isError).toBe(true);
      expect((unknown.content as { text: string }[])[0]!.text).toContain('is not a tool of virtual MCP server "support-agent"');
    } finally {
      await client.close();
    }
  });

  it('tells live sessions when a source\'s tools change (tools/list_changed), then lists the new union', async () => {
    await waitReady('support-agent', 'True');
    const client = await gatewayClient('support-agent');
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      expect((await client.listTools()).tools).toHaveLength(4);
      github.setTools([{ name: 'search_issues' }, { name: 'create_issue' }, { name: 'lookup' }, { name: 'close_issue' }]);
      // The source is discovered again; its status changes, and the virtual server follows.
      expect((await cp.api(`${API}/name/github-tools/refresh`, { method: 'POST' })).status).toBe(200);
      await waitFor(() => changed > 0, { what: 'notifications/tools/list_changed' });
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['close_issue', 'create_issue', 'lookup', 'search_issues', 'wiki_read']);
      expect(echoOf(await client.callTool({ name: 'close_issue', arguments: { id: 7 } }))).toEqual({ tool: 'close_issue', arguments: { id: 7 } });
    } finally {
      await client.close();
    }
  });

  it('sends a source the virtual server\'s auth_data override instead of the source\'s own, and masks it', async () => {
    expect(
      (await put(remoteManifest({ name: 'locked', url: locked.url, collaborators: everyone, auth_data: { type: 'header', headers: { Authorization: 'Bearer full-token' } } }))).status,
    ).toBe(200);
    await waitReady('locked', 'True');
    const manifest = virtualManifest([{ name: 'locked', auth_data: { type: 'header', headers: { Authorization: 'Bearer read-only-token' } } }], 'read-only-agent');
    const created = await put(manifest);
    expect(created.status).toBe(200);
    expect(created.text).not.toContain('read-only-token');
    expect(created.json.data.manifest.servers[0].auth_data.headers.Authorization).toBe('********');
    await waitReady('read-only-agent', 'True');
    const gatewayView = await cp.api('/api/svc/v1/gateway/servers');
    expect(gatewayView.text).not.toContain('read-only-token');

    const seen = locked.requests.length;
    const client = await gatewayClient('read-only-agent');
    try {
      expect(echoOf(await client.callTool({ name: 'locked_tool', arguments: {} })).tool).toBe('locked_tool');
    } finally {
      await client.close();
    }
    const sent = locked.requests.slice(seen).map((r) => r.headers.authorization);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set(['Bearer read-only-token']));
  });

  it('reports SourceNotFound when a source is deleted, and ends its live sessions', async () => {
    expect((await put(remoteManifest({ name: 'scratch', url: wiki.url, collaborators: everyone }))).status).toBe(200);
    await waitReady('scratch', 'True');
    expect((await put(virtualManifest([{ name: 'scratch', enabled_tools: ['wiki_read'] }], 'scratch-agent'))).status).toBe(200);
    await waitReady('scratch-agent', 'True');
    const client = await gatewayClient('scratch-agent');
    let closed = false;
    client.onclose = () => {
      closed = true;
    };
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['wiki_read']);

    expect((await cp.api(`${API}/name/scratch`, { method: 'DELETE' })).status).toBe(200);
    const gone = await waitReady('scratch-agent', 'False', 'SourceNotFound');
    expect(gone.status.conditions.find((c: { type: string }) => c.type === 'Ready').message).toContain('"scratch"');
    await expect(client.listTools()).rejects.toThrow();
    await client.close();
    expect(closed).toBe(true);
  });

  it('refuses a virtual source or itself as a source, naming the field', async () => {
    const nested = await put(virtualManifest([{ name: 'github-tools' }, { name: 'support-agent' }], 'nested-agent'));
    expect(nested.status).toBe(400);
    expect(nested.json.error.details).toEqual([expect.objectContaining({ path: '/manifest/servers/1/name', message: expect.stringContaining('"support-agent" is a virtual server') })]);
    const itself = await put(virtualManifest([{ name: 'itself' }], 'itself'));
    expect(itself.status).toBe(400);
    expect(itself.json.error.details).toEqual([expect.objectContaining({ path: '/manifest/servers/0/name', message: expect.stringContaining('cannot include itself') })]);
  });

  it('refuses a source the writer may not use (403), and a virtual server needs use rights on itself only', async () => {
    const mine = [{ subject: 'user:ed@example.com', role_id: 'mcp-server-manager' }];
    expect((await put(remoteManifest({ name: 'private-tools', url: github.url, collaborators: [{ subject: 'user:other@example.com', role_id: 'mcp-server-manager' }] }))).status).toBe(200);
    const refused = await put({ ...virtualManifest([{ name: 'private-tools' }], 'ed-agent'), collaborators: mine }, EDITOR_TOKEN);
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toContain('"private-tools"');
    // A name that does not exist answers the same for a non-admin (names do not leak).
    const missing = await put({ ...virtualManifest([{ name: 'no-such-server' }], 'ed-agent'), collaborators: mine }, EDITOR_TOKEN);
    expect(missing.status).toBe(403);

    // Ed may use github-tools (team:everyone); the virtual server lets only ed use it, whatever the sources allow.
    expect((await put({ ...virtualManifest([{ name: 'github-tools', enabled_tools: ['lookup'] }], 'ed-agent'), collaborators: mine }, EDITOR_TOKEN)).status).toBe(200);
    await waitReady('ed-agent', 'True');
    // Fay may use github-tools too, yet not ed-agent: answered as a missing server.
    const fay = await fetch(`${cp.url}/mcp/ed-agent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAY_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(fay.status).toBe(404);
    const client = new Client({ name: 'ed', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/ed-agent`), { requestInit: { headers: { authorization: `Bearer ${EDITOR_TOKEN}` } } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['lookup']);
    } finally {
      await client.close();
    }
  });
});
