// A virtual server's auth_data override is stored under a key of its own, whatever its source is called:
// a source named like a sealed-column prefix of the gateway stores ("proxy", "env") keeps its override, and
// reconciling again finds the stored entry as written (nothing rewritten, no drift).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverFqn } from '../../src/domain/resource.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const API = '/api/svc/v1/mcp-servers';
const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

let cp: TestControlPlane;
let upstream: RunningMcpServer;

async function put(manifest: Record<string, unknown>) {
  return cp.api(API, { method: 'PUT', body: { manifest } });
}

async function readyData(name: string) {
  return waitFor(async () => {
    const data = (await cp.api(`${API}/name/${name}`)).json?.data;
    const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
    return c && c.observedGeneration === data.generation && c.status === 'True' ? data : undefined;
  }, { what: `${name} Ready` });
}

beforeAll(async () => {
  upstream = await startMcpServer({
    transport: 'streamable-http',
    tools: [{ name: 'guarded' }],
    requireHeader: { name: 'authorization', accept: (v) => v === 'Bearer source-token' || v === 'Bearer override-token' },
  });
  cp = await startTestControlPlane();
});

afterAll(async () => {
  await cp?.dispose();
  await upstream?.close();
});

describe.each(['proxy', 'env'])('a virtual source named "%s"', (source) => {
  it('keeps its auth_data override, which reaches the upstream; reconciling again writes nothing', async () => {
    const agent = `${source}-agent`;
    expect((await put(remoteManifest({ name: source, url: upstream.url, collaborators: everyone, auth_data: { type: 'header', headers: { Authorization: 'Bearer source-token' } } }))).status).toBe(200);
    await readyData(source);
    const virtual = {
      type: 'mcp-server/virtual',
      name: agent,
      description: 'Overrides its source',
      servers: [{ name: source, auth_data: { type: 'header', headers: { Authorization: 'Bearer override-token' } } }],
      collaborators: everyone,
    };
    expect((await put(virtual)).status).toBe(200);
    await readyData(agent);

    const stored = await cp.gateway.get(serverFqn('default', agent));
    expect(stored).toBeDefined();
    expect(stored!.configHash).toBe(stored!.writtenHash);

    const seen = upstream.requests.length;
    const client = new Client({ name: 'x', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${agent}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
    try {
      await client.callTool({ name: 'guarded', arguments: {} });
    } finally {
      await client.close();
    }
    const sent = upstream.requests.slice(seen).map((r) => r.headers.authorization);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set(['Bearer override-token']));

    // Reconciled again: the entry read back is the one it would write.
    expect((await cp.api(`${API}/name/${agent}/refresh`, { method: 'POST' })).status).toBe(200);
    const again = await cp.gateway.get(serverFqn('default', agent));
    expect(again!.updatedAt).toBe(stored!.updatedAt);
    const events = (await cp.api('/api/svc/v1/events?limit=1000')).json;
    expect(JSON.stringify(events ?? {})).not.toContain('DriftRepaired');
    expect(JSON.stringify(events ?? {})).toContain(agent);
  });
});
