// The host's streaming proxy to the control plane, and the internal listener's guard, on real node:http
// servers on loopback: headers of one hop stay there, the client's address and the secret go on, an event
// stream arrives event by event, a client that goes away ends the request behind it, and nothing reaches
// the internal listener without the secret.
import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../src/domain/logger.js';
import { createControlProxy, passedHeaders, type ControlProxy } from '../../../src/gateway/host/control-proxy.js';
import { HOST_SECRET_HEADER } from '../../../src/gateway/host/host-options.js';
import { guardInternal } from '../../../src/gateway/host/internal-guard.js';
import { waitFor } from '../../support/wait-for.js';

const SECRET = 'host-secret-for-the-test-0123456789';
const servers: Server[] = [];
let proxy: ControlProxy | undefined;

async function listen(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** A control plane behind its guard, and the host's proxy in front of it; answers the front port. */
async function front(backend: RequestListener): Promise<number> {
  const internal = await listen(guardInternal(SECRET, backend));
  proxy = createControlProxy({ port: internal, secret: SECRET, logger: silentLogger });
  return listen(proxy.handle);
}

afterEach(async () => {
  proxy?.close();
  proxy = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

it('drops hop-by-hop headers and those Connection names, keeps the rest', () => {
  const out = passedHeaders({ connection: 'keep-alive, x-hop', 'keep-alive': 'timeout=5', 'x-hop': '1', 'transfer-encoding': 'chunked', upgrade: 'h2c', te: 'trailers', 'x-kept': 'yes', [HOST_SECRET_HEADER]: 'forged' });
  expect(out).toEqual({ 'x-kept': 'yes' });
});

it('passes the request and its body on, with the client address, and the answer back', async () => {
  let seen: { headers: IncomingMessage['headers']; body: string; method?: string; url?: string } | undefined;
  const port = await front((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen = { headers: { ...req.headers }, body, method: req.method, url: req.url };
      res.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'kept', 'keep-alive': 'timeout=99' }).end('{"ok":true}');
    });
  });
  const res = await fetch(`http://127.0.0.1:${port}/api/x?y=1`, { method: 'PUT', headers: { 'x-forwarded-for': '10.0.0.1', 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(res.status).toBe(201);
  expect(res.headers.get('x-answer')).toBe('kept');
  expect(await res.text()).toBe('{"ok":true}');
  expect(seen).toMatchObject({ method: 'PUT', url: '/api/x?y=1', body: '{"a":1}' });
  expect(seen!.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
  // The guard took the secret off before the control plane's handler saw the request.
  expect(seen!.headers[HOST_SECRET_HEADER]).toBeUndefined();
});

it('sends an event stream on event by event, before the control plane ends it', async () => {
  let send: ((text: string) => void) | undefined;
  const port = await front((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': open\n\n');
    send = (text) => res.write(text);
  });
  const res = await fetch(`http://127.0.0.1:${port}/watch`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${needle}`);
      text += decoder.decode(value, { stream: true });
    }
  };
  await readUntil(': open');
  send!('data: one\n\n');
  await readUntil('data: one');
  send!('data: two\n\n');
  await readUntil('data: two');
  await reader.cancel();
});

it('ends the request behind it when the client goes away', async () => {
  let closedBehind = false;
  const port = await front((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': open\n\n');
    res.on('close', () => (closedBehind = true));
    req.resume();
  });
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/watch' }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.once('error', reject);
    req.end();
  });
  await waitFor(() => closedBehind, { what: 'the control plane to see the client go' });
});

it('answers 502 naming the control plane when it is not there', async () => {
  proxy = createControlProxy({ port: 1, secret: SECRET, logger: silentLogger });
  const port = await listen(proxy.handle);
  const res = await fetch(`http://127.0.0.1:${port}/api/x`);
  expect(res.status).toBe(502);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ControlPlaneUnavailable');
});

it('the internal listener refuses a request without the secret, or with another', async () => {
  let reached = 0;
  const internal = await listen(
    guardInternal(SECRET, (_req, res) => {
      reached++;
      res.end('in');
    }),
  );
  expect((await fetch(`http://127.0.0.1:${internal}/api/x`)).status).toBe(403);
  expect((await fetch(`http://127.0.0.1:${internal}/api/x`, { headers: { [HOST_SECRET_HEADER]: `${SECRET}x` } })).status).toBe(403);
  expect(reached).toBe(0);
  expect(await (await fetch(`http://127.0.0.1:${internal}/api/x`, { headers: { [HOST_SECRET_HEADER]: SECRET } })).text()).toBe('in');
});
