// A forwarded MCP session request carries no credential of the caller's: whatever answers at the owner's
// advertised URL (here a plain HTTP server behind a stale replicas row) sees neither Authorization nor
// Cookie, only the forwarding replica's one-use internal token for that session. The owner admits a
// forwarded request only on such a token.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { ReplicaSessionOwners, type LiveReplica } from '../../src/cluster/session-owners.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { FORWARD_TOKEN_HEADER, FORWARDED_BY_HEADER } from '../../src/gateway/data-plane/session-owners.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { applyEverything, startDataPlaneReplica, type DataPlaneReplica } from '../support/session-replicas.js';

const TOKEN = 'forward-credentials-token-0123456789';
const KEY = randomBytes(32);

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer(handler).listen(0, '127.0.0.1', () => resolve(s));
  });
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
const sessionOf = (replicaId: string) => `${Buffer.from(replicaId, 'utf8').toString('base64url')}.${randomUUID()}`;

describe('forwarded MCP session requests carry no caller credential', () => {
  let dir: string;
  let store: SqliteGatewayStore;
  let replicas: LiveReplica[] = [];
  const started: DataPlaneReplica[] = [];
  const servers: Server[] = [];

  /** A replica's data plane on its own server; answers its URL. */
  async function serve(id: string): Promise<string> {
    const r = await startDataPlaneReplica({ id, gateway: store, token: TOKEN, key: KEY, replicas: async () => replicas });
    started.push(r);
    return r.url;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-fwd-cred-'));
    store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
    applyEverything(store, 'http://127.0.0.1:9/mcp');
  });
  afterAll(async () => {
    for (const r of started) await r.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stale row pointing at a stranger: it never receives authorization or cookies, only a one-use token for the session', async () => {
    const received: IncomingHttpHeaders[] = [];
    const stranger = await listen((req, res) => {
      received.push(req.headers);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
    servers.push(stranger);
    replicas = [{ id: 'ghost', url: urlOf(stranger), live: true }];
    const follower = await serve('follower');
    const sessionId = sessionOf('ghost');
    const res = await fetch(`${follower}/mcp/everything`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, cookie: 'sid=secret-cookie', 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await res.arrayBuffer();
    expect(received).toHaveLength(1);
    const headers = received[0]!;
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain(TOKEN);
    expect(headers[FORWARDED_BY_HEADER]).toBe('follower');
    const credential = headers[FORWARD_TOKEN_HEADER];
    expect(typeof credential).toBe('string');
    // The token is the replica's, for that session only, addressed to the owner, and used once.
    const ghostTokens = new ReplicaSessionOwners({ selfId: 'ghost', replicas: async () => [], tokens: new InternalTokens(KEY) });
    const other = new ReplicaSessionOwners({ selfId: 'other', replicas: async () => [], tokens: new InternalTokens(KEY) });
    expect(await other.admitForwarded(credential as string, sessionId)).toBeUndefined();
    expect((await ghostTokens.admitForwarded(credential as string, sessionId))?.role).toBe('admin');
    expect(await ghostTokens.admitForwarded(credential as string, sessionId)).toBeUndefined();
  });

  it('the owner refuses a request claiming to be forwarded without a valid token, even with the right bearer token', async () => {
    replicas = [];
    const owner = await serve('owner');
    const sessionId = sessionOf('owner');
    const post = (headers: Record<string, string>) =>
      fetch(`${owner}/mcp/everything`, {
        method: 'POST',
        headers: { 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream', [FORWARDED_BY_HEADER]: 'follower', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    const noToken = await post({ authorization: `Bearer ${TOKEN}` });
    expect(noToken.status).toBe(401);
    const forged = await new InternalTokens(randomBytes(32)).sign('owner', { action: 'mcp-session', target: sessionId, from: 'follower', principal: adminPrincipal('default') });
    expect((await post({ [FORWARD_TOKEN_HEADER]: forged })).status).toBe(401);
    // A valid token: admitted as the forwarded principal (the session itself is unknown here: 404).
    const good = await new InternalTokens(KEY).sign('owner', { action: 'mcp-session', target: sessionId, from: 'follower', principal: adminPrincipal('default') });
    expect((await post({ [FORWARD_TOKEN_HEADER]: good })).status).toBe(404);
    // Replayed: refused.
    expect((await post({ [FORWARD_TOKEN_HEADER]: good })).status).toBe(401);
  });
});
