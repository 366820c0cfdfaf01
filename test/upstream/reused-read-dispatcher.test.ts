// The reused-read dispatcher (src/upstream/reused-read-dispatcher.ts) against real HTTP servers on
// loopback: answers by length, chunked and as an event stream; keep-alive reuse and a server closing a
// kept socket; a consumer that holds the view it was lent across a pause (the bytes stay intact: nothing is
// read into the buffer until it resumes); egress denial; abort mid-body; head limits and 1xx.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { EgressDeniedError, EgressPolicy } from '../../src/upstream/egress.js';
import { ReusedReadDispatcher } from '../../src/upstream/reused-read-dispatcher.js';
import { waitFor } from '../support/wait-for.js';

interface Upstream {
  url: string;
  server: Server;
  /** Sockets the server accepted, in order. */
  sockets: Socket[];
  requests: number;
  close(): Promise<void>;
}

async function upstream(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Upstream> {
  const sockets: Socket[] = [];
  const up: Upstream = { url: '', server: undefined as unknown as Server, sockets, requests: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    up.requests++;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handle(req, res, body));
  });
  server.on('connection', (s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.server = server;
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  error?: Error;
  /** The ArrayBuffers the chunks were views of, with the bytes each carried. */
  buffers: Map<ArrayBufferLike, number>;
  chunks: number;
}

/**
 * One request; the handler copies each chunk (as a sink that keeps bytes must). `onChunk` may pause or
 * abort with the controller. Settles on the answer's end or error.
 */
function request(
  dispatcher: ReusedReadDispatcher,
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; onChunk?: (controller: Dispatcher.DispatchController, chunk: Buffer, out: Outcome) => void } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: {}, body: Buffer.alloc(0), buffers: new Map(), chunks: 0 };
    const parts: Buffer[] = [];
    const u = new URL(url);
    dispatcher.dispatch(
      { origin: u.origin, path: `${u.pathname}${u.search}`, method: (options.method ?? 'POST') as Dispatcher.HttpMethod, headers: options.headers ?? { 'content-type': 'application/json' }, ...(options.body === undefined && options.method === 'GET' ? {} : { body: options.body ?? '{}' }) },
      {
        onResponseStart: (_c, status, headers) => {
          out.status = status;
          out.headers = headers as Outcome['headers'];
        },
        onResponseData: (controller, chunk) => {
          out.chunks++;
          out.buffers.set(chunk.buffer, (out.buffers.get(chunk.buffer) ?? 0) + chunk.length);
          if (options.onChunk) return options.onChunk(controller, chunk, out);
          parts.push(Buffer.from(chunk));
        },
        onResponseEnd: () => {
          out.body = Buffer.concat(parts);
          resolve(out);
        },
        onResponseError: (_c, error) => {
          out.error = error;
          out.body = Buffer.concat(parts);
          resolve(out);
        },
      },
    );
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dispatcher: ReusedReadDispatcher;
const ups: Upstream[] = [];
beforeEach(() => {
  dispatcher = new ReusedReadDispatcher();
});
afterEach(async () => {
  await dispatcher.destroy();
  for (const up of ups.splice(0)) await up.close();
});
const start = async (handle: Parameters<typeof upstream>[0]) => {
  const up = await upstream(handle);
  ups.push(up);
  return up;
};

it('reads an answer by Content-Length into one reused buffer, intact', async () => {
  const data = randomBytes(3_000_000);
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length, 'x-twice': ['a', 'b'] });
    res.end(data);
  });
  const out = await request(dispatcher, `${up.url}/mcp`);
  expect(out.error).toBeUndefined();
  expect(out.status).toBe(200);
  expect(out.headers['content-type']).toBe('application/octet-stream');
  expect(out.headers['x-twice']).toEqual(['a', 'b']);
  expect(sha(out.body)).toBe(sha(data));
  // Every read went into the socket's one buffer (not a new one per read, as undici's socket.read()).
  expect(out.chunks).toBeGreaterThan(10);
  expect(out.buffers.size).toBe(1);
});

it('reads a chunked answer, and sends the request as undici does (host, length, body)', async () => {
  let seen: { method?: string; url?: string; host?: string; length?: string; body?: string; auth?: string } = {};
  const up = await start((req, res, body) => {
    seen = { method: req.method, url: req.url, host: req.headers.host, length: req.headers['content-length'], body, auth: req.headers.authorization };
    res.writeHead(200, { 'content-type': 'application/json' });
    for (let i = 0; i < 50; i++) res.write(`{"n":${i}}`.padEnd(1000, ' '));
    res.end();
  });
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { text: 'grüße' } });
  const out = await request(dispatcher, `${up.url}/mcp?x=1`, { body, headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' } });
  expect(out.error).toBeUndefined();
  expect(out.headers['transfer-encoding']).toBe('chunked');
  expect(out.body.length).toBe(50_000);
  expect(out.body.toString().startsWith('{"n":0}')).toBe(true);
  expect(seen).toEqual({ method: 'POST', url: '/mcp?x=1', host: new URL(up.url).host, length: String(Buffer.byteLength(body)), body, auth: 'Bearer t0k' });
});

it('passes an event-stream answer on event by event, as the server writes it', async () => {
  let more: (() => void) | undefined;
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('event: message\ndata: {"a":1}\n\n');
    more = () => res.end('event: message\ndata: {"b":2}\n\n');
  });
  const seen: string[] = [];
  const done = request(dispatcher, `${up.url}/mcp`, {
    onChunk: (_c, chunk) => {
      seen.push(chunk.toString());
      if (seen.length === 1) more!();
    },
  });
  const out = await done;
  expect(out.error).toBeUndefined();
  expect(out.headers['content-type']).toBe('text/event-stream');
  expect(seen.join('')).toBe('event: message\ndata: {"a":1}\n\nevent: message\ndata: {"b":2}\n\n');
  expect(seen[0]).toBe('event: message\ndata: {"a":1}\n\n');
});

it('keeps the socket alive: sequential requests go on one connection', async () => {
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  for (let i = 0; i < 5; i++) {
    const out = await request(dispatcher, `${up.url}/mcp`);
    expect(out.body.toString()).toBe('{"ok":true}');
  }
  expect(up.requests).toBe(5);
  expect(up.sockets.length).toBe(1);
  expect(dispatcher.openSockets()).toBe(1);
});

it('does not reuse a socket the server answered Connection: close on', async () => {
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end('{}');
  });
  await request(dispatcher, `${up.url}/mcp`);
  const out = await request(dispatcher, `${up.url}/mcp`);
  expect(out.error).toBeUndefined();
  expect(up.sockets.length).toBe(2);
});

it('drops a kept socket the server closed, and the next request opens a new one', async () => {
  const up = await start((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // Closed by the server once the answer went out, as a server's idle timeout does.
    res.end('{}', () => req.socket.end());
  });
  expect((await request(dispatcher, `${up.url}/mcp`)).error).toBeUndefined();
  await waitFor(() => dispatcher.openSockets() === 0, { what: 'the closed socket to be dropped' });
  const out = await request(dispatcher, `${up.url}/mcp`);
  expect(out.error).toBeUndefined();
  expect(up.sockets.length).toBe(2);
});

it('fails a request whose socket closed before its answer, without sending it again (it may have been processed)', async () => {
  const up = await start((req) => req.socket.destroy());
  const out = await request(dispatcher, `${up.url}/mcp`);
  expect(out.error).toMatchObject({ code: 'UND_ERR_SOCKET', message: 'other side closed' });
  expect(up.requests).toBe(1);
});

it('fails an answer cut short by the server (the declared length not reached)', async () => {
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
    res.write('x'.repeat(1000), () => res.socket!.destroy());
  });
  const out = await request(dispatcher, `${up.url}/mcp`);
  expect(out.error).toMatchObject({ code: 'UND_ERR_SOCKET' });
});

it('a consumer that holds the lent view across a pause reads it intact: nothing is read into the buffer until it resumes', async () => {
  const data = randomBytes(4_000_000);
  for (const chunked of [false, true]) {
    const up = await start((_req, res) => {
      res.writeHead(200, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': data.length });
      if (!chunked) return res.end(data);
      // Many small chunks, so one read carries several (those after a pause are handed on at resume).
      for (let at = 0; at < data.length; at += 5000) res.write(data.subarray(at, at + 5000));
      res.end();
    });
    const hash = createHash('sha256');
    let pauses = 0;
    const out = await request(dispatcher, `${up.url}/mcp`, {
      onChunk: (controller, chunk) => {
        // Every third chunk: kept as the view (no copy) past the call, as a write the socket did not take at once holds it.
        if (pauses++ % 3 !== 0) return void hash.update(chunk);
        controller.pause();
        setImmediate(() => {
          hash.update(chunk);
          controller.resume();
        });
      },
    });
    expect(out.error).toBeUndefined();
    expect(hash.digest('hex')).toBe(sha(data));
    // By length, one slice per read: every chunk was a view of the socket's one buffer. (Chunked, the
    // chunks of a read after a pause are copies, handed on at resume.)
    if (!chunked) expect(out.buffers.size).toBe(1);
  }
});

it('refuses a connection the egress policy denies, before any packet', async () => {
  const up = await start((_req, res) => res.end('{}'));
  const denying = new ReusedReadDispatcher({ egress: new EgressPolicy({ deny: ['127.0.0.0/8'] }) });
  try {
    const out = await request(denying, `${up.url}/mcp`);
    expect(out.error).toBeInstanceOf(EgressDeniedError);
    expect(out.error!.message).toMatch(/127\.0\.0\.1.*127\.0\.0\.0\/8/);
    expect(up.sockets.length).toBe(0);
    const byName = await request(denying, `${up.url.replace('127.0.0.1', 'localhost')}/mcp`);
    expect(byName.error).toBeInstanceOf(EgressDeniedError);
    expect(denying.openSockets()).toBe(0);
  } finally {
    await denying.destroy();
  }
});

it('aborts mid-body: no more data, the error is the reason, the socket closes', async () => {
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(100_000, 1));
    // Never ends on its own.
  });
  const reason = new Error('the client went away');
  let after = 0;
  let aborted = false;
  const out = await request(dispatcher, `${up.url}/mcp`, {
    onChunk: (controller) => {
      if (aborted) return void after++;
      aborted = true;
      controller.abort(reason);
    },
  });
  expect(out.error).toBe(reason);
  expect(after).toBe(0);
  await waitFor(() => up.sockets[0]!.destroyed || up.sockets[0]!.readableEnded, { what: 'the upstream socket to close' });
  expect(dispatcher.openSockets()).toBe(0);
});

it('skips 1xx answers, and fails a head past the size limit as undici does', async () => {
  const up = await start((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'x-big': 'h'.repeat(20_000) });
      return res.end('{}');
    }
    res.writeProcessing();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"after":"102"}');
  });
  const ok = await request(dispatcher, `${up.url}/mcp`);
  expect(ok.error).toBeUndefined();
  expect(ok.status).toBe(200);
  expect(ok.body.toString()).toBe('{"after":"102"}');
  const big = await request(dispatcher, `${up.url}/big`);
  expect(big.error).toMatchObject({ code: 'UND_ERR_HEADERS_OVERFLOW' });
});

it('refuses header values that would split the request', async () => {
  const up = await start((_req, res) => res.end('{}'));
  const out = await request(dispatcher, `${up.url}/mcp`, { headers: { 'x-evil': 'a\r\nx-injected: 1' } });
  expect(out.error).toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
  expect(up.requests).toBe(0);
});

it('waits past its socket bound: requests beyond it queue and go as sockets free up', async () => {
  const bounded = new ReusedReadDispatcher({ connections: 2 });
  const held: ServerResponse[] = [];
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    held.push(res);
    if (held.length === 2) for (const r of held.splice(0)) r.end('{}');
  });
  try {
    const outs = await Promise.all(Array.from({ length: 6 }, () => request(bounded, `${up.url}/mcp`)));
    expect(outs.every((o) => o.error === undefined && o.status === 200)).toBe(true);
    expect(up.sockets.length).toBe(2);
  } finally {
    await bounded.destroy();
  }
});

it('closes an idle socket after its idle time, and one past the server\'s Keep-Alive hint sooner', async () => {
  const quick = new ReusedReadDispatcher({ idleMs: 50 });
  const up = await start((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  try {
    await request(quick, `${up.url}/mcp`);
    expect(quick.openSockets()).toBe(1);
    await waitFor(() => quick.openSockets() === 0, { what: 'the idle socket to close' });
    // A server that keeps a socket 2 s at most (the margin is 2 s): not reused at all.
    const hinting = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=2' });
      res.end('{}');
    });
    await request(quick, `${hinting.url}/mcp`);
    await request(quick, `${hinting.url}/mcp`);
    expect(hinting.sockets.length).toBe(2);
  } finally {
    await quick.destroy();
  }
});
