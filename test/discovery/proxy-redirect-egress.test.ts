// Through `upstream_proxy`, a server named by a denied IP address is refused before the proxy is asked,
// and so is every redirect hop fetch follows: a 307 to 169.254.169.254 never becomes a CONNECT to it.
// Real HTTP servers on loopback: a CONNECT proxy that records what it is asked to reach, and an upstream
// that redirects. Both the discovery pool's leased fetch and createServerFetch are covered.
import http from 'node:http';
import net from 'node:net';
import { egressDenial } from '../../src/upstream/egress.js';
import { ConnectionPool } from '../../src/upstream/connection-pool.js';
import { createServerFetch, type ServerFetch } from '../../src/upstream/server-fetch.js';

const DENIED = '169.254.169.254';

interface Setup {
  proxyUrl: string;
  connects: string[];
  /** Answers 307 to `location` (at /redirect), else 200 "ok". */
  upstreamUrl: (path: string) => string;
  setLocation: (location: string) => void;
  close: () => Promise<void>;
}

async function setup(): Promise<Setup> {
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = http.createServer();
  proxy.on('connect', (req: http.IncomingMessage, sock: net.Socket) => {
    connects.push(req.url!);
    sockets.add(sock);
    const [host, port] = req.url!.split(':');
    // Never really goes to a denied address: a refusal the test can tell from success.
    if (host !== '127.0.0.1') return void sock.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const up = net.connect(Number(port), host, () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.pipe(sock);
      sock.pipe(up);
    });
    sockets.add(up);
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  let location = `http://${DENIED}/latest/meta-data/`;
  const upstream = http.createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(307, { location });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as net.AddressInfo).port;
  return {
    proxyUrl: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    connects,
    upstreamUrl: (path) => `http://127.0.0.1:${port}${path}`,
    setLocation: (l) => (location = l),
    close: async () => {
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      upstream.closeAllConnections();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => upstream.close(r))]);
    },
  };
}

const kinds: Array<[string, (s: Setup, pool: ConnectionPool) => ServerFetch]> = [
  ['the discovery pool', (s, pool) => pool.lease({ rejectUnauthorized: true }, { proxy: { url: s.proxyUrl, headers: {} } })],
  ['createServerFetch', (s) => createServerFetch({ rejectUnauthorized: true }, { proxy: { url: s.proxyUrl, headers: {} } })],
];

describe.each(kinds)('through a proxy (%s)', (_name, make) => {
  let s: Setup;
  let pool: ConnectionPool;
  let f: ServerFetch;
  beforeEach(async () => {
    s = await setup();
    pool = new ConnectionPool();
    f = make(s, pool);
  });
  afterEach(async () => {
    await f.close();
    await pool.close();
    await s.close();
  });

  test('a server named by a denied address is refused before the proxy is asked', async () => {
    const err = await f(`http://${DENIED}/x`).then(() => undefined, (e: unknown) => e);
    expect(egressDenial(err)).toBeDefined();
    expect(s.connects).toEqual([]);
  });

  test('a redirect to a denied address is refused: the proxy is never asked to reach it', async () => {
    const err = await f(s.upstreamUrl('/redirect'), { method: 'POST', body: '{}' }).then(() => undefined, (e: unknown) => e);
    expect(egressDenial(err)?.message).toContain(DENIED);
    expect(s.connects.some((c) => c.startsWith(DENIED))).toBe(false);
    expect(s.connects.length).toBeGreaterThanOrEqual(1);
  });

  test('a redirect to an allowed address is still followed', async () => {
    s.setLocation(s.upstreamUrl('/target'));
    const res = await f(s.upstreamUrl('/redirect'), { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });
});
