// Connections kept between discoveries (src/upstream/connection-pool.ts): reused only by discoveries with the
// same settings, every new connection checked by the egress policy, idle ones closed after their timeout and
// past their bound, and what one discovery leaves open closed when it ends. Real MCP servers behind a TCP
// relay that counts the connections made to them.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { discover, type DiscoveryTarget } from '../../src/discovery/index.js';
import { ConnectionPool } from '../../src/upstream/connection-pool.js';
import { EgressPolicy } from '../../src/upstream/egress.js';
import { waitFor } from '../support/wait-for.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { createSelfSignedCert, openssl } from '../support/tls.js';

/** A TCP relay to a port: the connections made through it, and those still open. */
interface Relay {
  url: (path: string, scheme?: 'http' | 'https') => string;
  accepted: number;
  open: number;
  close(): Promise<void>;
}

async function relayTo(port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const relay: Relay = {
    url: (path, scheme = 'http') => `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    accepted: 0,
    open: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createTcpServer((inbound) => {
    relay.accepted++;
    relay.open++;
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.once('close', () => {
      relay.open--;
      sockets.delete(inbound);
      end();
    });
    outbound.once('close', () => {
      sockets.delete(outbound);
      end();
    });
    inbound.on('error', end);
    outbound.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return relay;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mcpBehindRelay(opts: Parameters<typeof startMcpServer>[0]): Promise<{ server: RunningMcpServer; relay: Relay }> {
  const server = await startMcpServer(opts);
  cleanups.push(() => server.close());
  const relay = await relayTo(server.port);
  cleanups.push(() => relay.close());
  return { server, relay };
}

function newPool(options: ConstructorParameters<typeof ConnectionPool>[0] = {}): ConnectionPool {
  const pool = new ConnectionPool(options);
  cleanups.push(() => pool.close());
  return pool;
}

function target(url: string, overrides: Partial<DiscoveryTarget> = {}): DiscoveryTarget {
  return { url, headers: {}, tls: { rejectUnauthorized: true }, timeoutMs: 10_000, authConfigured: 'none', ...overrides };
}

const loopbackAllowed = new EgressPolicy();

/**
 * A server answering with an event stream may still be ending that answer when the client sends its next
 * request, so a first discovery can open two connections; what is asserted is that later ones open none.
 */
describe('connections reused between discoveries', () => {
  it.each([
    ['stateless', false],
    ['stateful', true],
  ])('a second discovery of a %s Streamable HTTP server on the same origin opens no connection', async (_label, stateful) => {
    const { relay } = await mcpBehindRelay({ transport: 'streamable-http', stateful, tools: 2 });
    const connections = newPool();
    const discoverOnce = async (i: number) =>
      expect(await discover(target(relay.url('/mcp'), { headers: { authorization: `Bearer token-${i}` } }), { connections, egress: loopbackAllowed })).toMatchObject({
        ok: true,
        transport: 'streamable-http',
        tools: [{ name: 'tool-0001' }, { name: 'tool-0002' }],
      });
    await discoverOnce(0);
    const first = relay.accepted;
    expect(first).toBeGreaterThanOrEqual(1);
    // Kept idle for the next one, not closed with the discovery.
    expect(relay.open).toBe(first);
    await discoverOnce(1);
    await discoverOnce(2);
    expect(relay.accepted).toBe(first);
    expect(connections.openConnections()).toBe(first);
  });

  it('each request still carries its own discovery’s headers (nothing of a server rides the connection)', async () => {
    const { server, relay } = await mcpBehindRelay({ transport: 'streamable-http', tools: 1 });
    const connections = newPool();
    await discover(target(relay.url('/mcp'), { headers: { authorization: 'Bearer first' } }), { connections, egress: loopbackAllowed });
    const [firstCount, accepted] = [server.requests.length, relay.accepted];
    await discover(target(relay.url('/mcp'), { headers: {} }), { connections, egress: loopbackAllowed });
    expect(relay.accepted).toBe(accepted);
    const second = server.requests.slice(firstCount);
    expect(second.length).toBeGreaterThan(0);
    for (const r of second) expect(r.headers.authorization).toBeUndefined();
  });

  it('discoveries with different egress policies never share a connection', async () => {
    const { relay } = await mcpBehindRelay({ transport: 'streamable-http' });
    const connections = newPool();
    const otherPolicy = new EgressPolicy({ deny: ['10.0.0.0/8'] });
    expect(await discover(target(relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    const first = relay.accepted;
    expect(await discover(target(relay.url('/mcp')), { connections, egress: otherPolicy })).toMatchObject({ ok: true });
    const both = relay.accepted;
    expect(both).toBeGreaterThan(first);
    // Each reuses its own afterwards.
    expect(await discover(target(relay.url('/mcp')), { connections, egress: otherPolicy })).toMatchObject({ ok: true });
    expect(await discover(target(relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    expect(relay.accepted).toBe(both);
  });

  openssl.it('discoveries with different TLS settings never share a connection', async () => {
    const cert = await createSelfSignedCert();
    const { relay } = await mcpBehindRelay({ transport: 'streamable-http', tls: cert });
    const connections = newPool();
    const url = relay.url('/mcp', 'https');
    const trustingCa = { rejectUnauthorized: true, caCert: cert.cert };
    const trustingAll = { rejectUnauthorized: false };
    expect(await discover(target(url, { tls: trustingCa }), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    const first = relay.accepted;
    expect(await discover(target(url, { tls: trustingAll }), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    const both = relay.accepted;
    expect(both).toBeGreaterThan(first);
    // A server that trusts no such CA gets no connection verified by another's trust: it fails as before.
    expect(await discover(target(url, { tls: { rejectUnauthorized: true } }), { connections, egress: loopbackAllowed })).toMatchObject({ ok: false, reason: 'TLSError' });
    expect(relay.accepted).toBe(both + 1);
    expect(await discover(target(url, { tls: trustingCa }), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    expect(relay.accepted).toBe(both + 1);
  });

  it('a denied address is still denied while an allowed discovery keeps a connection to it', async () => {
    const { server, relay } = await mcpBehindRelay({ transport: 'streamable-http' });
    const connections = newPool();
    expect(await discover(target(relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    const [seen, accepted] = [server.requests.length, relay.accepted];
    expect(relay.open).toBeGreaterThan(0);
    const denying = new EgressPolicy({ deny: ['127.0.0.0/8'] });
    const result = await discover(target(relay.url('/mcp')), { connections, egress: denying });
    expect(result).toMatchObject({ ok: false, reason: 'EgressDenied' });
    expect(relay.accepted).toBe(accepted);
    expect(server.requests.length).toBe(seen);
  });
});

describe('bounds', () => {
  it('an idle connection is closed after the idle timeout', async () => {
    const { relay } = await mcpBehindRelay({ transport: 'streamable-http' });
    const connections = newPool({ idleMs: 200 });
    expect(await discover(target(relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    const first = relay.accepted;
    await waitFor(() => relay.open === 0 && connections.openConnections() === 0, { what: 'the idle connections to close' });
    // The next discovery connects again, and works.
    expect(await discover(target(relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    expect(relay.accepted).toBeGreaterThan(first);
  });

  it('past maxIdle, the least recently used idle origin’s connections close', async () => {
    const a = await mcpBehindRelay({ transport: 'streamable-http' });
    const b = await mcpBehindRelay({ transport: 'streamable-http' });
    const connections = newPool({ maxIdle: 2 });
    expect(await discover(target(a.relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    expect(a.relay.open).toBeGreaterThan(0);
    expect(await discover(target(b.relay.url('/mcp')), { connections, egress: loopbackAllowed })).toMatchObject({ ok: true });
    await waitFor(() => a.relay.open === 0, { what: 'the older idle connections to close' });
    expect(b.relay.open).toBeGreaterThan(0);
    expect(connections.openConnections()).toBeLessThanOrEqual(2);
  });

  it('a lease ends what it left under way: a request still waiting is aborted, its connection closed', async () => {
    const held = new Set<import('node:http').ServerResponse>();
    const hanging: HttpServer = createHttpServer((_req, res) => held.add(res));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const res of held) res.destroy();
          hanging.close(() => resolve());
        }),
    );
    const relay = await relayTo((hanging.address() as AddressInfo).port);
    cleanups.push(() => relay.close());
    const connections = newPool();
    const lease = connections.lease({ rejectUnauthorized: true }, { egress: loopbackAllowed });
    const answer = lease(relay.url('/stream'), { method: 'GET' });
    answer.catch(() => undefined);
    await waitFor(() => held.size === 1, { what: 'the request to arrive' });
    await lease.close();
    await expect(answer).rejects.toThrow();
    await waitFor(() => relay.open === 0 && connections.openConnections() === 0, { what: 'the busy connection to close' });
  });
});
