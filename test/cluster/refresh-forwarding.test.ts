// A refresh asked of a follower runs on the leader and is answered on the follower: two real control
// planes over HTTP, a real MCP server. The follower knows the leader from its cluster view (as it would
// from the lease row); the leader runs discovery, the follower runs none. Until the stores are shared
// (PostgreSQL), each control plane has its own copy of the server, applied to both.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import type { ClusterStatus, ClusterView } from '../../src/cluster/cluster-view.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { INTERNAL_REFRESH_PATH } from '../../src/cluster/refresh-forwarding.js';
import type { ClusterWiring } from '../../src/main.js';
import { ALICE_TOKEN, ALICE, BOB, BOB_TOKEN } from '../gateway/gateway-support.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { numberedTools, startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const SERVERS = '/api/svc/v1/mcp-servers';
const SECRET_KEY = randomBytes(32);
const ENV = { MCP_CP_SECRET_KEY: SECRET_KEY.toString('base64') };
const AUTHENTICATORS = () => [new StaticTokenAuthenticator(ALICE_TOKEN, ALICE), new StaticTokenAuthenticator(BOB_TOKEN, BOB)];

/** A follower: it never leads; its view names `leader` (or none) as the lease row would. */
function followerOf(leader: () => { id: string; url: string } | undefined, id = 'follower-1'): ClusterWiring {
  const view: ClusterView = {
    async status(): Promise<ClusterStatus> {
      const l = leader();
      const now = new Date().toISOString();
      return {
        self: { id },
        leader: l ? { id: l.id, epoch: 3, since: now } : null,
        replicas: [...(l ? [{ id: l.id, url: l.url, version: 'test', leader: true, lastSeen: now, live: true }] : []), { id, url: 'http://127.0.0.1:9', version: 'test', leader: false, lastSeen: now, live: true }],
      };
    },
  };
  return { replicaId: id, election: () => ({ start: () => undefined, stop: async () => undefined }), view };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('refresh on a follower', () => {
  let upstream: RunningMcpServer;
  let leader: TestControlPlane;
  let follower: TestControlPlane;
  let leaderAddress: { id: string; url: string } | undefined;
  const manifest = () => remoteManifest({ name: 'tools', url: upstream.url, collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-user' }] });

  beforeAll(async () => {
    upstream = await startMcpServer({ transport: 'streamable-http', tools: numberedTools(2) });
    leader = await startTestControlPlane({ env: ENV, authenticators: AUTHENTICATORS() });
    leaderAddress = { id: (await leader.api('/api/svc/v1/cluster')).json.self.id, url: leader.url };
    follower = await startTestControlPlane({ env: ENV, authenticators: AUTHENTICATORS(), cluster: followerOf(() => leaderAddress) });
    for (const cp of [leader, follower]) expect((await cp.api(SERVERS, { method: 'PUT', body: { manifest: manifest() } })).status).toBe(200);
    await waitFor(async () => (await leader.api(`${SERVERS}/name/tools`)).json.data.tools?.length === 2, { what: 'the leader to discover 2 tools' });
  });
  afterAll(async () => {
    await follower?.dispose();
    await leader?.dispose();
    await upstream?.close();
  });

  it('is carried out by the leader, answered on the follower; the follower runs no discovery of its own', async () => {
    const followerRole = await follower.api('/readyz', { token: null });
    expect(followerRole.status).toBe(200);
    expect(follower.role.isLeader).toBe(false);
    upstream.setTools(5);
    const listsBefore = upstream.requests.filter((r) => r.rpcMethod === 'tools/list').length;

    const res = await follower.api(`${SERVERS}/name/tools/refresh`, { method: 'POST', token: ALICE_TOKEN });
    expect(res.status).toBe(200);
    expect(res.json.data.name).toBe('tools');
    // The leader's discovery ran after the request, and its status says so at once.
    expect(upstream.requests.filter((r) => r.rpcMethod === 'tools/list').length).toBeGreaterThan(listsBefore);
    expect((await leader.api(`${SERVERS}/name/tools`)).json.data.tools).toHaveLength(5);
    // The follower reconciles nothing: its own copy was never discovered.
    expect((await follower.api(`${SERVERS}/name/tools`)).json.data.tools ?? []).toEqual([]);
  });

  it('authorises the caller on the follower: a server the caller may not read is 404 and the leader is not asked', async () => {
    const before = upstream.requests.length;
    const res = await follower.api(`${SERVERS}/name/tools/refresh`, { method: 'POST', token: BOB_TOKEN });
    expect(res.status).toBe(404);
    expect(upstream.requests.length).toBe(before);
  });

  it('answers 503 with the reason when no leader is known or the leader cannot be reached', async () => {
    const saved = leaderAddress;
    try {
      leaderAddress = undefined;
      const none = await follower.api(`${SERVERS}/name/tools/refresh`, { method: 'POST' });
      expect(none.status).toBe(503);
      expect(none.json.error).toEqual({ code: 'Unavailable', message: expect.stringMatching(/No replica is the leader right now/) });

      leaderAddress = { id: saved!.id, url: `http://127.0.0.1:${await closedPort()}` };
      const gone = await follower.api(`${SERVERS}/name/tools/refresh`, { method: 'POST' });
      expect(gone.status).toBe(503);
      expect(gone.json.error.message).toMatch(/The leader could not be reached; the refresh did not run/);
      // The leader's id and internal address are not the caller's business: they go to the log only.
      expect(JSON.stringify(gone.json)).not.toContain(saved!.id);
      expect(JSON.stringify(gone.json)).not.toContain('127.0.0.1');
    } finally {
      leaderAddress = saved;
    }
  });

  it('the internal route takes only an internal token addressed to it, and only the leader runs it', async () => {
    const fqn = (await leader.api(`${SERVERS}/name/tools`)).json.data.fqn as string;
    const post = (cp: TestControlPlane, token: string, body: unknown = { fqn }) =>
      fetch(`${cp.url}${INTERNAL_REFRESH_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const tokens = new InternalTokens(SECRET_KEY);
    const claims = { action: 'refresh', target: fqn, from: 'follower-1' };

    expect((await post(leader, ADMIN_TOKEN)).status).toBe(401);
    expect((await post(leader, await tokens.sign('another-replica', claims))).status).toBe(401);
    expect((await post(leader, await new InternalTokens(randomBytes(32)).sign(leaderAddress!.id, claims))).status).toBe(401);
    expect((await post(leader, await tokens.sign(leaderAddress!.id, claims), { fqn: 'default:mcp-server:other' })).status).toBe(403);
    const notLeader = await post(follower, await tokens.sign('follower-1', claims));
    expect(notLeader.status).toBe(503);
    expect(((await notLeader.json()) as { error: { code: string } }).error.code).toBe('NotLeader');
    const ok = await post(leader, await tokens.sign(leaderAddress!.id, claims));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
  });
});
