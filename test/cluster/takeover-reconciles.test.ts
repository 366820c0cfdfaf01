// The leader takeover guarantee (docs/ARCHITECTURE.md, "Takeover"): a new leader reconciles every key whose
// latest write is not yet observed at once, not at the periodic resync (off here). Two control planes in
// PostgreSQL mode on one database, as main.ts composes them: a write the old leader took after its reconciler
// stopped (as when its batch died with it), which the follower's feed read while it followed, is reconciled
// by the follower once it leads.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { freePort } from '../support/peer-process.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
const SERVERS = '/api/svc/v1/mcp-servers';

describe('a new leader', () => {
  let upstream: RunningMcpServer;
  const replicas: TestControlPlane[] = [];

  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const r of replicas.reverse()) await r.dispose();
    await upstream?.close();
  });

  it('reconciles a write the old leader never reconciled, with the periodic resync off', async () => {
    const url = (await (await testPostgres()).freshSchema()).url;
    const env = {
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    // A lease far longer than the test (the old leader gives it up on its way out), no resync.
    const args = async () => {
      const port = await freePort();
      return ['--store', url, '--lease-duration', '60s', '--resync-interval', '0', '--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`];
    };
    const old = await startTestControlPlane({ args: await args(), env });
    replicas.push(old);
    await waitFor(() => old.role.isLeading, { what: 'the first replica to lead' });
    const next = await startTestControlPlane({ args: await args(), env });
    replicas.push(next);
    const put = (r: TestControlPlane, description: string) => r.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'k', description, url: upstream.url }) } });
    const state = async () => (await next.api(`${SERVERS}/name/k`)).json.data;
    const settled = (s: { generation: number; status: { observedGeneration: number; conditions: { type: string; status: string }[] } }) =>
      s.status.observedGeneration === s.generation && s.status.conditions.find((c) => c.type === 'Ready')?.status === 'True';

    // Every write goes to the old leader: the follower's own intake would queue its key (for when it leads).
    expect((await put(old, 'one')).status).toBe(200);
    await waitFor(async () => settled(await state()), { what: 'the leader to reconcile generation 1' });

    // The old leader's reconciler stops (it still holds the lease), then it takes a write: nobody enqueues it
    // now (its queue is shut down; the follower's feed reads it and leaves it to the leader).
    await old.controller.stop();
    expect((await put(old, 'two')).status).toBe(200);
    const written = await state();
    expect(written.generation).toBe(2);
    expect(written.status.observedGeneration).toBe(1);

    // The old leader gives the lease up; the follower leads and reconciles generation 2 (no resync would).
    await old.dispose();
    replicas.splice(replicas.indexOf(old), 1);
    await waitFor(() => next.role.isLeading, { timeoutMs: 30_000, what: 'the follower to lead' });
    await waitFor(async () => settled(await state()), { timeoutMs: 30_000, what: 'the new leader to reconcile generation 2' });
    expect((await state()).manifest.description).toBe('two');
  }, 120_000);
});
