// The reused-read dispatcher writes a request's head as undici does, side by side with undici's Agent on a
// raw TCP server that records the bytes it got: a configured Host replaces the URL's; Connection tokens are
// checked and `close` keeps the socket from being reused; Content-Length must match the body;
// Transfer-Encoding, Keep-Alive, Upgrade and Expect are refused with undici's error classes and messages;
// the head goes out latin1 and a value with a character past U+00FF is refused.
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { ReusedReadDispatcher } from '../../src/upstream/reused-read-dispatcher.js';

interface Outcome {
  status: number;
  error?: Error;
}

function request(d: Dispatcher | ReusedReadDispatcher, url: string, headers: Record<string, string>, body = '{}'): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0 };
    const u = new URL(url);
    d.dispatch({ origin: u.origin, path: u.pathname, method: 'POST', headers, body }, {
      onRequestStart: () => undefined,
      onResponseStart: (_c, status) => {
        out.status = status;
      },
      onResponseData: () => undefined,
      onResponseEnd: () => resolve(out),
      onResponseError: (_c, error) => {
        out.error = error;
        resolve(out);
      },
    } as Dispatcher.DispatchHandler);
  });
}

interface Raw {
  url: string;
  server: Server;
  /** Each request's head, as bytes. */
  heads: Buffer[];
  bodies: Buffer[];
  connections: number;
}

/** Answers every request (head and body) with `{}`, kept alive. */
async function raw(): Promise<Raw> {
  const up: Raw = { url: '', server: undefined as unknown as Server, heads: [], bodies: [], connections: 0 };
  up.server = createNetServer((s) => {
    up.connections++;
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(got.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (got.length < end + 4 + length) return;
      up.heads.push(got.subarray(0, end));
      up.bodies.push(got.subarray(end + 4, end + 4 + length));
      got = got.subarray(end + 4 + length);
      s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}/mcp`;
  return up;
}

/** The value of header `name` in a recorded head, as bytes (hex), or every such line. */
function lines(head: Buffer, name: string): string[] {
  return head
    .toString('latin1')
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name}:`))
    .map((l) => Buffer.from(l.slice(name.length + 1).trim(), 'latin1').toString('hex'));
}

const servers: Server[] = [];
let rr: ReusedReadDispatcher;
let agent: Agent;
beforeEach(() => {
  rr = new ReusedReadDispatcher();
  agent = new Agent();
});
afterEach(async () => {
  await rr.destroy();
  await agent.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function both(headers: Record<string, string>, body?: string): Promise<{ up: Raw; theirs: Outcome; mine: Outcome }> {
  const up = await raw();
  servers.push(up.server);
  const theirs = await request(agent, up.url, headers, body);
  const mine = await request(rr, up.url, headers, body);
  return { up, theirs, mine };
}

it('a configured Host header is sent once, in place of the URL\'s', async () => {
  const { up, theirs, mine } = await both({ 'content-type': 'application/json', Host: 'mcp.internal.example' });
  expect(theirs).toEqual({ status: 200 });
  expect(mine).toEqual({ status: 200 });
  const want = [Buffer.from('mcp.internal.example').toString('hex')];
  expect(lines(up.heads[0]!, 'host')).toEqual(want);
  expect(lines(up.heads[1]!, 'host')).toEqual(want);
});

it('Connection: keep-alive is accepted and the socket reused; Connection: close is sent and the socket not reused', async () => {
  const { up, mine } = await both({ 'content-type': 'application/json', Connection: 'keep-alive' });
  expect(mine).toEqual({ status: 200 });
  const opened = up.connections;
  expect(await request(rr, up.url, { Connection: 'keep-alive' })).toEqual({ status: 200 });
  expect(up.connections).toBe(opened);

  const closing = await raw();
  servers.push(closing.server);
  for (let i = 0; i < 2; i++) expect(await request(rr, closing.url, { Connection: 'close' })).toEqual({ status: 200 });
  expect(closing.connections).toBe(2);
  expect(lines(closing.heads[0]!, 'connection')).toEqual([Buffer.from('close').toString('hex')]);
});

it('a Content-Length equal to the body\'s bytes is accepted and sent once', async () => {
  const body = JSON.stringify({ name: 'Zoë' });
  const { up, theirs, mine } = await both({ 'content-type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, body);
  expect(theirs).toEqual({ status: 200 });
  expect(mine).toEqual({ status: 200 });
  expect(lines(up.heads[1]!, 'content-length')).toEqual(lines(up.heads[0]!, 'content-length'));
  expect(lines(up.heads[1]!, 'content-length')).toHaveLength(1);
});

it.each([
  ['a Content-Length that does not match the body', { 'content-length': '5' }],
  ['a Content-Length that is not a number', { 'content-length': '2, 2' }],
  ['Transfer-Encoding', { 'transfer-encoding': 'chunked' }],
  ['Keep-Alive', { 'keep-alive': 'timeout=5' }],
  ['Upgrade', { upgrade: 'websocket' }],
  ['Expect', { expect: '100-continue' }],
  ['a Connection token that is not a token', { connection: 'keep alive' }],
  ['a value past U+00FF', { 'x-name': '名' }],
  ['a value with a control character', { 'x-name': 'a\u0001b' }],
])('%s: refused with undici\'s error', async (_name, extra) => {
  const { up, theirs, mine } = await both({ 'content-type': 'application/json', ...extra });
  expect(theirs.error).toBeDefined();
  expect(mine.error?.constructor.name).toBe(theirs.error!.constructor.name);
  expect(mine.error?.message).toBe(theirs.error!.message);
  expect(up.heads).toHaveLength(0);
});

it('a latin1 value goes out as the same bytes as undici\'s, the body as UTF-8', async () => {
  const body = JSON.stringify({ name: 'Zoë 名' });
  const { up, mine } = await both({ 'content-type': 'application/json', 'x-name': 'Zoë' }, body);
  expect(mine).toEqual({ status: 200 });
  expect(lines(up.heads[0]!, 'x-name')).toEqual(['5a6feb']);
  expect(lines(up.heads[1]!, 'x-name')).toEqual(['5a6feb']);
  expect(up.bodies[0]!.toString('utf8')).toBe(body);
  expect(up.bodies[1]!.toString('utf8')).toBe(body);
});
