// A virtual server lends nobody its sources' credentials: a caller of the virtual server must also be
// allowed to use every source (else 403, naming nothing of the source), and the virtual server's writer
// must still be allowed to use each source at reconcile time (else Ready=False, SourceForbidden).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { userPrincipal } from '../support/principals.js';

const API = '/api/svc/v1/mcp-servers';

const user = (slug: string) => userPrincipal(slug, 'editor');
const A_TOKEN = 'rights-user-a-token-0123456789';
const B_TOKEN = 'rights-user-b-token-0123456789';

let cp: TestControlPlane;
let upstream: RunningMcpServer;

async function put(manifest: Record<string, unknown>, token = ADMIN_TOKEN) {
  return cp.api(API, { method: 'PUT', body: { manifest }, token });
}

async function ready(name: string, status: 'True' | 'False', reason?: string) {
  return waitFor(
    async () => {
      const data = (await cp.api(`${API}/name/${name}`)).json?.data;
      const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
      return c && c.observedGeneration === data.generation && c.status === status && (reason === undefined || c.reason === reason) ? c : undefined;
    },
    { what: `${name} Ready=${status} ${reason ?? ''}` },
  );
}

function initialize(name: string, token: string) {
  return fetch(`${cp.url}/mcp/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
}

beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: [{ name: 'secret_tool' }] });
  cp = await startTestControlPlane({ authenticators: [new StaticTokenAuthenticator(A_TOKEN, user('a@example.com')), new StaticTokenAuthenticator(B_TOKEN, user('b@example.com'))] });
});

afterAll(async () => {
  await cp?.dispose();
  await upstream?.close();
});

describe('use rights of a virtual server and its sources', () => {
  it("refuses a caller who may use the virtual server but not its source, and follows the writer's rights", async () => {
    const sourceCollaborators = [{ subject: 'user:a@example.com', role_id: 'mcp-server-user' }];
    expect((await put(remoteManifest({ name: 'private-source', url: upstream.url, collaborators: sourceCollaborators }))).status).toBe(200);
    await ready('private-source', 'True');
    const virtual = {
      type: 'mcp-server/virtual',
      name: 'lent-agent',
      description: 'A virtual server shared with B',
      servers: [{ name: 'private-source' }],
      collaborators: [
        { subject: 'user:a@example.com', role_id: 'mcp-server-manager' },
        { subject: 'user:b@example.com', role_id: 'mcp-server-user' },
      ],
    };
    expect((await put(virtual, A_TOKEN)).status).toBe(200);
    await ready('lent-agent', 'True');

    // A, who may use the source, is served.
    const client = new Client({ name: 'a', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/lent-agent`), { requestInit: { headers: { authorization: `Bearer ${A_TOKEN}` } } }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['secret_tool']);
    await client.close();

    // B may use the virtual server but not its source: refused, and the answer names nothing of the source.
    const refused = await initialize('lent-agent', B_TOKEN);
    expect(refused.status).toBe(403);
    const text = await refused.text();
    expect(text).not.toContain('private-source');
    expect(text).toContain('lent-agent');

    // A is removed from the source: the virtual server no longer composes it.
    expect((await put(remoteManifest({ name: 'private-source', url: upstream.url, collaborators: [{ subject: 'user:c@example.com', role_id: 'mcp-server-user' }] }))).status).toBe(200);
    const forbidden = await ready('lent-agent', 'False', 'SourceForbidden');
    expect(forbidden.message).toContain('"private-source"');
    expect((await initialize('lent-agent', A_TOKEN)).status).toBe(503);
  });

  it("ends a live session of the virtual server when its caller loses use of a source", async () => {
    const both = [
      { subject: 'user:a@example.com', role_id: 'mcp-server-manager' },
      { subject: 'user:b@example.com', role_id: 'mcp-server-user' },
    ];
    expect((await put(remoteManifest({ name: 'shared-source', url: upstream.url, collaborators: both }))).status).toBe(200);
    await ready('shared-source', 'True');
    const virtual = { type: 'mcp-server/virtual', name: 'shared-agent', description: 'Shared with B', servers: [{ name: 'shared-source' }], collaborators: both };
    expect((await put(virtual, A_TOKEN)).status).toBe(200);
    await ready('shared-agent', 'True');
    const client = new Client({ name: 'b', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/shared-agent`), { requestInit: { headers: { authorization: `Bearer ${B_TOKEN}` } } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['secret_tool']);
      // B is removed from the source only: the virtual server stays Ready (A may still use it), B's session ends.
      expect((await put(remoteManifest({ name: 'shared-source', url: upstream.url, collaborators: [both[0]] }), A_TOKEN)).status).toBe(200);
      await waitFor(() => cp.dataPlane.sessionCount('shared-agent') === 0, { what: "B's session to end" });
      await ready('shared-agent', 'True');
      expect((await initialize('shared-agent', B_TOKEN)).status).toBe(403);
    } finally {
      await client.close();
    }
  });
});
