// Two control planes in PostgreSQL mode on one database, as main.ts composes them (in-process, real HTTP):
// a refresh sent to the follower is run by the leader and answered from the shared store; an MCP session
// opened on one replica is served through the other.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { freePort } from '../support/peer-process.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { numberedTools, startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
const SERVERS = '/api/svc/v1/mcp-servers';

describe('PostgreSQL mode: two replicas in one process', () => {
  let upstream: RunningMcpServer;
  let replicas: TestControlPlane[] = [];
  let leader: TestControlPlane;
  let follower: TestControlPlane;

  beforeAll(async () => {
    const url = (await (await testPostgres()).freshSchema()).url;
    const env = {
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    upstream = await startMcpServer({ transport: 'streamable-http', stateful: true, tools: numberedTools(2) });
    // A lease far longer than the test: no busy-machine stall hands the lease over mid-test.
    // Each replica on its own loopback port, advertised as such (PostgreSQL mode wants it explicit).
    const args = async () => {
      const port = await freePort();
      return ['--store', url, '--lease-duration', '60s', '--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`];
    };
    replicas.push(await startTestControlPlane({ args: await args(), env }));
    await waitFor(() => replicas[0]!.role.isLeader, { what: 'the first replica to lead' });
    replicas.push(await startTestControlPlane({ args: await args(), env }));
    [leader, follower] = replicas as [TestControlPlane, TestControlPlane];
    await waitFor(async () => (await follower.api('/api/svc/v1/cluster')).json.replicas.length === 2, { what: 'both replicas listed' });
  }, POSTGRES_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const r of replicas.reverse()) await r.dispose();
    replicas = [];
    await upstream?.close();
  });

  it('a write on the follower is reconciled by the leader; a refresh on the follower runs there and answers the fresh status', async () => {
    expect(follower.role.isLeader).toBe(false);
    const put = await follower.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'tools', url: upstream.url }) } });
    expect(put.status).toBe(200);
    await waitFor(async () => (await follower.api(`${SERVERS}/name/tools`)).json.data.tools.length === 2, { what: 'the leader to discover 2 tools' });
    upstream.setTools(4);
    const refreshed = await follower.api(`${SERVERS}/name/tools/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.data.tools).toHaveLength(4);
    const cluster = (await follower.api('/api/svc/v1/cluster')).json;
    expect(cluster.leader.id).toBe((await leader.api('/api/svc/v1/cluster')).json.self.id);
    expect((await follower.api('/readyz', { token: null })).status).toBe(200);
  });

  it('an MCP session opened on the leader is served through the follower', async () => {
    await waitFor(async () => (await follower.api(`${SERVERS}/name/tools`)).json.data.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), { what: 'tools Ready' });
    let n = 0;
    const transport = new StreamableHTTPClientTransport(new URL(`${leader.url}/mcp/tools`), {
      requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } },
      fetch: (input, init) => {
        const target = n++ % 2 === 0 ? leader : follower;
        const u = new URL(input instanceof Request ? input.url : String(input));
        return fetch(new URL(u.pathname + u.search, target.url), init);
      },
    });
    const client = new Client({ name: 'pg-mode', version: '1.0.0' });
    await client.connect(transport);
    for (let i = 0; i < 4; i++) expect((await client.listTools()).tools).toHaveLength(4);
    expect(leader.dataPlane.sessionCount()).toBe(1);
    expect(follower.dataPlane.sessionCount()).toBe(0);
    await transport.terminateSession();
    await client.close();
  });
});
