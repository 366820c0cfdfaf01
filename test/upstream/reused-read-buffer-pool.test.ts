// The reused-read dispatcher's sockets borrow their 64 KiB read buffers from one process-wide pool only
// while a request is on them (src/upstream/read-buffer-pool.ts): many idle kept-alive sockets (one
// dispatcher per upstream session) hold no pool buffer; a consumer paused on views of a buffer keeps that
// buffer out of the pool while other sockets run (its bytes stay intact), and a buffer whose views may
// still be held when its request is aborted never goes back to the pool.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { readBuffers } from '../../src/upstream/read-buffer-pool.js';
import { ReusedReadDispatcher } from '../../src/upstream/reused-read-dispatcher.js';
import { waitFor } from '../support/wait-for.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** A 1 MiB answer of bytes that differ per `seed`. */
function answerOf(seed: number): Buffer {
  const b = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const seed = Number(new URL(req.url!, 'http://x').searchParams.get('seed') ?? -1);
    req.resume();
    req.on('end', () => {
      const body = seed < 0 ? Buffer.from('{}') : answerOf(seed);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

interface Call {
  done: Promise<{ body: Buffer; error?: Error }>;
  controller?: Dispatcher.DispatchController;
  /** Every ArrayBuffer a chunk was a view of. */
  buffers: Set<ArrayBufferLike>;
}

/** A POST; `onFirst` gets the first chunk (a view, not copied) and its controller. */
function call(d: ReusedReadDispatcher, path: string, onFirst?: (chunk: Buffer, controller: Dispatcher.DispatchController) => void): Call {
  const c: Call = { done: undefined as never, buffers: new Set() };
  const parts: Buffer[] = [];
  c.done = new Promise((resolve) => {
    d.dispatch({ origin, path, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, {
      onRequestStart: (controller) => {
        c.controller = controller;
      },
      onResponseData: (controller, chunk) => {
        c.buffers.add(chunk.buffer);
        parts.push(Buffer.from(chunk));
        if (parts.length === 1 && onFirst) onFirst(chunk, controller);
      },
      onResponseEnd: () => resolve({ body: Buffer.concat(parts) }),
      onResponseError: (_c, error) => resolve({ body: Buffer.concat(parts), error }),
    } as Dispatcher.DispatchHandler);
  });
  return c;
}

it('400 sessions with one idle kept-alive socket each hold no pool buffer', async () => {
  const lentBefore = readBuffers.stats().lent;
  const sessions = Array.from({ length: 400 }, () => new ReusedReadDispatcher({ idleMs: 60_000 }));
  try {
    const outs = await Promise.all(sessions.map((d) => call(d, '/mcp').done));
    expect(outs.every((o) => o.body.toString() === '{}')).toBe(true);
    expect(sessions.every((d) => d.openSockets() === 1)).toBe(true);
    const stats = readBuffers.stats();
    expect(stats.lent).toBe(lentBefore);
    expect(stats.free).toBeLessThanOrEqual(16);
    // Reused: the next request on each idle socket borrows again and gives back.
    await Promise.all(sessions.slice(0, 50).map((d) => call(d, '/mcp').done));
    expect(readBuffers.stats().lent).toBe(lentBefore);
    expect(sessions.every((d) => d.openSockets() === 1)).toBe(true);
  } finally {
    await Promise.all(sessions.map((d) => d.destroy()));
  }
}, 60_000);

it('a paused consumer\'s views stay intact while other sockets borrow and give back buffers', async () => {
  const lentBefore = readBuffers.stats().lent;
  const held = new ReusedReadDispatcher();
  const others = Array.from({ length: 8 }, () => new ReusedReadDispatcher());
  try {
    let view: Buffer | undefined;
    let copy: Buffer | undefined;
    const slow = call(held, '/mcp?seed=1', (chunk, controller) => {
      view = chunk;
      copy = Buffer.from(chunk);
      controller.pause();
    });
    await waitFor(() => view, { what: 'the first chunk' });
    expect(readBuffers.stats().lent).toBeGreaterThan(lentBefore);
    // Other sockets run whole answers through pool buffers, several rounds, while the view is held.
    for (let round = 0; round < 3; round++) {
      const runs = others.map((d, i) => call(d, `/mcp?seed=${10 + i}`));
      const outs = await Promise.all(runs.map((r) => r.done));
      outs.forEach((o, i) => expect(sha(o.body)).toBe(sha(answerOf(10 + i))));
      for (const r of runs) expect(r.buffers.has(view!.buffer)).toBe(false);
    }
    expect(view!.equals(copy!)).toBe(true);
    slow.controller!.resume();
    const out = await slow.done;
    expect(out.error).toBeUndefined();
    expect(sha(out.body)).toBe(sha(answerOf(1)));
    expect(readBuffers.stats().lent).toBe(lentBefore);
  } finally {
    await held.destroy();
    await Promise.all(others.map((d) => d.destroy()));
  }
}, 60_000);

it('a buffer whose views a consumer held when its request was aborted never goes back to the pool', async () => {
  const lentBefore = readBuffers.stats().lent;
  const held = new ReusedReadDispatcher();
  const other = new ReusedReadDispatcher();
  try {
    let view: Buffer | undefined;
    const aborted = call(held, '/mcp?seed=2', (chunk, controller) => {
      view = chunk;
      controller.pause();
    });
    await waitFor(() => view, { what: 'the first chunk' });
    const copy = Buffer.from(view!);
    aborted.controller!.abort(new Error('client went away'));
    expect((await aborted.done).error?.message).toBe('client went away');
    expect(readBuffers.stats().lent).toBe(lentBefore);
    for (let i = 0; i < 4; i++) {
      const r = call(other, `/mcp?seed=${20 + i}`);
      expect(sha((await r.done).body)).toBe(sha(answerOf(20 + i)));
      expect(r.buffers.has(view!.buffer)).toBe(false);
    }
    expect(view!.equals(copy)).toBe(true);
  } finally {
    await held.destroy();
    await other.destroy();
  }
}, 60_000);
