// What the replica suites count as a lost write (test/support/replicas.ts), against a fake replica: a real
// HTTP server on a loopback port that stores each PUT's description and answers it, or stores it and drops
// the connection before answering (a replica killed between its commit and its answer), and reads each
// server back as Ready. A server may hold its last acknowledged description or a later unanswered one;
// an older one is a lost write, and a write refused at connect never happened.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AcknowledgedWrites, ReplicaSet, SERVERS, type Replica } from './replicas.js';

type Mode = 'answer' | 'commit-then-drop';

describe('AcknowledgedWrites and ReplicaSet.converged', () => {
  let server: Server;
  let mode: Mode = 'answer';
  const stored = new Map<string, string>();
  let set: ReplicaSet;
  let replica: Replica;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.method === 'PUT' && req.url === SERVERS) {
          const manifest = JSON.parse(body).manifest as { name: string; description: string };
          stored.set(manifest.name, manifest.description);
          if (mode === 'commit-then-drop') return void req.socket.destroy();
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { name: manifest.name } }));
          return;
        }
        const name = req.url?.startsWith(`${SERVERS}/name/`) ? req.url.slice(`${SERVERS}/name/`.length) : undefined;
        const description = name !== undefined ? stored.get(name) : undefined;
        if (description === undefined) return void res.writeHead(404).end();
        const ready = { type: 'Ready', status: 'True', observedGeneration: 1 };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { manifest: { description }, generation: 1, status: { observedGeneration: 1, conditions: [ready] } } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    set = new ReplicaSet({ storeUrl: 'postgres://unused', leaseMs: 3000, upstreamUrl: 'http://127.0.0.1:9/mcp' });
    // converged() and write() use a replica's name and URL only.
    replica = { name: 'fake', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, child: undefined as never, output: () => '', exited: Promise.resolve(0) };
  });
  afterAll(async () => {
    await set.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    mode = 'answer';
    stored.clear();
  });

  it('a write stored whose answer never came may be what the server holds, until a later one is acknowledged', async () => {
    const writes = new AcknowledgedWrites(set);
    expect(await writes.write([replica], 's0', 'v1')).toBe(true);
    mode = 'commit-then-drop';
    expect(await writes.write([replica], 's0', 'v2')).toBe(false);
    expect(stored.get('s0')).toBe('v2');
    expect(writes.acknowledged.get('s0')).toBe('v1');
    expect(writes.possible().get('s0')).toEqual(['v1', 'v2']);
    expect(await set.converged([replica], writes)).toBe(true);

    mode = 'answer';
    expect(await writes.write([replica], 's0', 'v3')).toBe(true);
    expect(writes.possible().get('s0')).toEqual(['v3']);
    expect(await set.converged([replica], writes)).toBe(true);
  });

  it('an older description than the last acknowledged one is a lost write', async () => {
    const writes = new AcknowledgedWrites(set);
    expect(await writes.write([replica], 's0', 'v1')).toBe(true);
    mode = 'commit-then-drop';
    expect(await writes.write([replica], 's0', 'v2')).toBe(false);
    // The store went back to before the acknowledged write.
    stored.set('s0', 'v0');
    expect(await set.converged([replica], writes)).toBe(false);
    expect(set.lastDivergence).toMatch(/^s0 on fake: expected one of \["v1","v2"\], got 200 \{"description":"v0"/);
  });

  it('a write refused at connect (nothing listened) is not one the server may hold', async () => {
    const writes = new AcknowledgedWrites(set);
    expect(await writes.write([replica], 's0', 'v1')).toBe(true);
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    const closed = { ...replica, url: `http://127.0.0.1:${port}` };
    expect(await writes.write([closed], 's0', 'v2')).toBe(false);
    expect(writes.possible().get('s0')).toEqual(['v1']);
  });
});
