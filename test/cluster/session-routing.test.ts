// MCP sessions behind a load balancer without affinity: two real data planes (two HTTP servers over one
// gateway store) whose replicas are rows of a real PostgreSQL replicas table, a real upstream
// (server-everything) and the SDK's client, whose requests alternate between the two. A session lives on
// the replica that opened it; the other forwards its requests there, streams included; a session whose
// replica is gone answers 404, so the client starts a new one.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { listReplicas, ReplicaHeartbeat } from '../../src/cluster/replicas.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { FORWARD_TOKEN_HEADER, FORWARDED_BY_HEADER } from '../../src/gateway/data-plane/session-owners.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/control-plane.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { applyEverything, startDataPlaneReplica, type DataPlaneReplica } from '../support/session-replicas.js';

const { describe } = requirePostgres();
const TOKEN = 'routing-test-token-0123456789';
const STALE_MS = 60_000;
const SECRET_KEY = randomBytes(32);

interface Replica extends DataPlaneReplica {
  /** Its own connection to the gateway store (one per process). */
  store: SqliteGatewayStore;
  heartbeat: ReplicaHeartbeat;
  /** Requests that reached this replica's HTTP server, by method, and whether another replica forwarded them. */
  seen: { method: string; forwarded: boolean }[];
  stopped: boolean;
}

describe('MCP session routing between replicas', () => {
  let dir: string;
  let db: pg.Pool;
  let everything: PeerProcess;
  let writer: SqliteGatewayStore;
  const replicas: Replica[] = [];

  async function startReplica(id: string): Promise<Replica> {
    const store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
    const seen: Replica['seen'] = [];
    const served = await startDataPlaneReplica({
      id,
      gateway: store,
      token: TOKEN,
      key: SECRET_KEY,
      replicas: () => listReplicas(db, STALE_MS),
      onRequest: (req) => void seen.push({ method: req.method, forwarded: req.headers[FORWARDED_BY_HEADER] !== undefined }),
    });
    const heartbeat = new ReplicaHeartbeat({ db, replica: { id, url: served.url, version: 'test' } });
    heartbeat.start();
    const replica = { ...served, store, heartbeat, seen, stopped: false };
    replicas.push(replica);
    return replica;
  }

  /** The replica's process ends: its sessions and its server go; `clean` also removes its replicas row. */
  async function stopReplica(r: Replica, clean: boolean): Promise<void> {
    if (r.stopped) return;
    r.stopped = true;
    if (clean) await r.heartbeat.stop();
    await r.close();
    r.store.close();
  }

  beforeAll(async () => {
    await testPostgres();
    db = connect((await (await testPostgres()).freshSchema()).url);
    await migrate(db);
    const port = await freePort();
    everything = await startPeer(PEERS.everything, ['streamableHttp'], { env: { PORT: String(port) }, ports: [port] });
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-routing-'));
    writer = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
    applyEverything(writer, `http://127.0.0.1:${port}/mcp`);
  }, POSTGRES_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const r of replicas) {
      await stopReplica(r, true);
      await r.heartbeat.stop();
    }
    writer?.close();
    await everything?.kill();
    await db?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * An SDK client whose requests go to the replicas in turn, starting with the first (which opens the
   * session); its GET stream, opened once, goes to the last.
   */
  function alternatingClient(targets: Replica[]): { client: Client; transport: StreamableHTTPClientTransport; sentTo: string[] } {
    const sentTo: string[] = [];
    let next = 0;
    const fetchInTurn: typeof fetch = (input, init) => {
      const target = (init?.method ?? 'GET') === 'GET' ? targets[targets.length - 1]! : targets[next++ % targets.length]!;
      sentTo.push(target.id);
      const url = new URL(input instanceof Request ? input.url : String(input));
      return fetch(new URL(url.pathname + url.search, target.url), init);
    };
    const transport = new StreamableHTTPClientTransport(new URL(`${targets[0]!.url}/mcp/everything`), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      fetch: fetchInTurn,
    });
    return { client: new Client({ name: 'routing-test', version: '1.0.0' }), transport, sentTo };
  }

  it('a session opened on one replica is served through the other: calls, a streamed answer with progress, and the GET stream', async () => {
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');
    await waitFor(async () => (await listReplicas(db, STALE_MS)).length === 2, { what: 'both heartbeats' });
    const { client, transport, sentTo } = alternatingClient([a, b]);
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
    await client.connect(transport);
    expect(transport.sessionId).toMatch(new RegExp(`^${Buffer.from('replica-a').toString('base64url')}\\.`));
    expect(a.dataPlane.sessionCount()).toBe(1);
    expect(b.dataPlane.sessionCount()).toBe(0);

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    for (let i = 0; i < 4; i++) {
      const echoed = await client.callTool({ name: 'echo', arguments: { message: `hello ${i}` } });
      expect(echoed.content).toEqual([{ type: 'text', text: `Echo: hello ${i}` }]);
    }
    // A streamed answer (progress first) through whichever replica the call reaches.
    const progress: number[] = [];
    const long = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(long.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Long running operation completed/) }]);
    expect(progress).toEqual([1, 2, 3]);
    // Messages on the session's own stream (the GET stream, opened through either replica).
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await client.setLoggingLevel('debug');
    await waitFor(() => logs.length > 0, { what: 'a log message on the GET stream' });

    expect(new Set(sentTo)).toEqual(new Set(['replica-a', 'replica-b']));
    // b held no session: every request it was sent went on to a, marked as forwarded.
    expect(b.dataPlane.sessionCount()).toBe(0);
    const forwardedToA = a.seen.filter((s) => s.forwarded).length;
    expect(forwardedToA).toBe(b.seen.filter((s) => !s.forwarded).length);
    expect(forwardedToA).toBeGreaterThanOrEqual(4);
    expect(a.seen.some((s) => s.forwarded && s.method === 'GET')).toBe(true);
    // DELETE ends the session on its replica, wherever it is sent.
    await transport.terminateSession();
    await client.close();
    await waitFor(() => a.dataPlane.sessionCount() === 0, { what: 'the session to end on a' });
  });

  it('a session whose replica is gone answers 404 at the others, whether its row is gone or not yet stale; a client then starts anew', async () => {
    const c = await startReplica('replica-c');
    const d = await startReplica('replica-d');
    await waitFor(async () => (await listReplicas(db, STALE_MS)).some((r) => r.id === 'replica-d'), { what: 'd\'s heartbeat' });
    const first = alternatingClient([c]);
    await first.client.connect(first.transport);
    const sessionId = first.transport.sessionId!;
    const ping = (r: Replica, headers: Record<string, string> = {}) =>
      fetch(`${r.url}/mcp/everything`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    expect((await ping(d)).status).toBe(200);
    // A forwarded request is never forwarded again; it is admitted only on another replica's token.
    const forwardToken = await new InternalTokens(SECRET_KEY).sign('replica-d', { action: 'mcp-session', target: sessionId, from: 'replica-x', principal: adminPrincipal('default') });
    expect((await ping(d, { [FORWARDED_BY_HEADER]: 'replica-x', [FORWARD_TOKEN_HEADER]: forwardToken })).status).toBe(404);
    expect((await ping(d, { [FORWARDED_BY_HEADER]: 'replica-x' })).status).toBe(401);

    // c dies (SIGKILL: its row stays until it is stale); d cannot reach it: the session is gone.
    await stopReplica(c, false);
    const gone = await ping(d);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { message: string } }).error.message).toMatch(/the replica that held it is gone; start a new session/);
    // Its row removed (a clean stop, or pruned when stale): the same answer, without trying.
    await c.heartbeat.stop();
    expect((await ping(d)).status).toBe(404);

    // The SDK client that gets the 404 starts a new session, now on d.
    const again = alternatingClient([d]);
    await again.client.connect(again.transport);
    expect(again.transport.sessionId).toMatch(new RegExp(`^${Buffer.from('replica-d').toString('base64url')}\\.`));
    await again.client.close();
    await first.transport.close().catch(() => undefined);
  });
});
