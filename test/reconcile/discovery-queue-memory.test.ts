// What a queued discovery keeps alive. During a cold sync the whole fleet waits in the discovery queue
// (a few run at once), so each queued job must hold only what the discovery needs (its target and the
// manifest's auth settings), not the resource's manifest: measured as the heap the queue holds, after a
// full collection, per queued server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stringify } from 'yaml';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SERVERS = Number(process.env.Q_SERVERS ?? 1500);
const PER_FILE = 100;

/** Accepts connections and never answers: a discovery of it waits for its budget. */
let silent: Server;
const sockets: Socket[] = [];
let dir: string;
let cp: TestControlPlane;

beforeAll(async () => {
  silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-queue-'));
  for (let f = 0; f < SERVERS / PER_FILE; f++) {
    const docs = [];
    for (let i = f * PER_FILE; i < (f + 1) * PER_FILE; i++) {
      // Manifests of a realistic size or more: a long description and tags.
      docs.push(stringify(remoteManifest({ name: `queued-${i}`, url: `http://127.0.0.1:${port}/mcp/${i}`, description: `server ${i} `.repeat(80).slice(0, 1000), tags: { team: `t-${i % 7}`, shard: `s-${i % 11}`, env: 'test' } })));
    }
    writeFileSync(join(dir, `f${f}.yaml`), docs.join('---\n'));
  }
  // One discovery at a time, each waiting for a minute: every other server stays queued.
  cp = await startTestControlPlane({ manifests: [dir], args: ['--discovery-concurrency', '1', '--discovery-timeout', '60s', '--resync-interval', '0'] });
}, 120_000);

afterAll(async () => {
  await cp?.dispose();
  for (const s of sockets) s.destroy();
  silent?.close();
  rmSync(dir, { recursive: true, force: true });
});

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

it('holds under a kilobyte per queued server, not the manifest', async () => {
  // Every server reconciled and queued behind the one discovery that runs.
  const queued = () => {
    let n = 0;
    for (let i = 0; i < SERVERS; i++) if (cp.discovery.activity(`default:mcp-server:queued-${i}`).phase === 'queued') n++;
    return n;
  };
  await waitFor(() => queued() === SERVERS - 1, { timeoutMs: 90_000, what: `${SERVERS - 1} queued discoveries` });
  const withQueue = heapAfterGc();
  // stop() drops every queued job (the running one finishes on its own budget).
  cp.discovery.stop();
  const withoutQueue = heapAfterGc();
  const perServer = (withQueue - withoutQueue) / (SERVERS - 1);
  expect(perServer).toBeGreaterThan(0);
  expect(perServer).toBeLessThan(1000);
}, 180_000);
