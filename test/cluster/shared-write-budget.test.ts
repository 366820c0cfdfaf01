// The write rate limit in PostgreSQL mode: one bucket per token subject shared by every replica (a row of
// write_rate_limits), so the limit holds across the cluster whichever replica the writes reach.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { pruneFullWriteBudgets, sharedWriteBudget } from '../../src/cluster/shared-write-budget.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort } from '../support/peer-process.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
const HOUR = 3_600_000;

describe('the write rate limit shared by the replicas (PostgreSQL)', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const pools: pg.Pool[] = [];
  let url: string;
  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    const pool = connect(url);
    pools.push(pool);
    await migrate(pool);
  });
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.end();
  });
  const pool = () => {
    const p = connect(url);
    pools.push(p);
    return p;
  };

  it('grants a burst of count per subject across replicas, then refuses with the seconds until one write is back', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const rate = { count: 3, perMs: HOUR };
    const [a, b] = [sharedWriteBudget(pool(), rate, clock), sharedWriteBudget(pool(), rate, clock)];
    expect(await a.take('user:alice')).toEqual({ granted: true });
    expect(await b.take('user:alice')).toEqual({ granted: true });
    expect(await a.take('user:alice')).toEqual({ granted: true });
    // One write comes back every 20 minutes.
    expect(await b.take('user:alice')).toEqual({ retryAfterS: 1200 });
    expect(await a.take('user:alice')).toEqual({ retryAfterS: 1200 });
    // Another subject has its own bucket.
    expect(await b.take('user:bob')).toEqual({ granted: true });
    clock.advance(1199_000);
    expect(await a.take('user:alice')).toEqual({ retryAfterS: 1 });
    clock.advance(1000);
    expect(await b.take('user:alice')).toEqual({ granted: true });
    expect(await a.take('user:alice')).toEqual({ retryAfterS: 1200 });
    // A bucket idle for long is full again, not fuller: a burst of count.
    clock.advance(10 * HOUR);
    for (let i = 0; i < 3; i++) expect(await a.take('user:alice')).toEqual({ granted: true });
    expect(await b.take('user:alice')).toEqual({ retryAfterS: 1200 });
  });

  it('grants exactly count of many writes racing on two replicas', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const rate = { count: 5, perMs: HOUR };
    const budgets = [sharedWriteBudget(pool(), rate, clock), sharedWriteBudget(pool(), rate, clock)];
    const taken = await Promise.all(Array.from({ length: 24 }, (_, i) => budgets[i % 2]!.take('user:alice')));
    expect(taken.filter((t) => 'granted' in t)).toHaveLength(5);
  });

  it('housekeeping removes only the rows of full buckets, which answer as no row does', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const rate = { count: 2, perMs: HOUR };
    const db = pool();
    const budget = sharedWriteBudget(db, rate, clock);
    await budget.take('user:idle');
    clock.advance(HOUR / 2);
    await budget.take('user:busy');
    await budget.take('user:busy');
    // user:idle's bucket is full again (its one write was half an hour ago, one comes back every 30 minutes).
    clock.advance(1);
    expect(await pruneFullWriteBudgets(db, clock.now())).toBe(1);
    expect((await db.query('SELECT subject FROM write_rate_limits')).rows).toEqual([{ subject: 'user:busy' }]);
    expect(await budget.take('user:busy')).toEqual({ retryAfterS: 1800 });
    for (let i = 0; i < 2; i++) expect(await budget.take('user:idle')).toEqual({ granted: true });
  });

  describe('through two control planes on one database', () => {
    const planes: TestControlPlane[] = [];
    afterEach(async () => {
      for (const cp of planes.splice(0)) await cp.dispose();
    });

    it('a token over its limit on one replica is refused on the other (429, Retry-After)', async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const env = {
        MCP_CP_STORE: url,
        MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
        MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      };
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        planes.push(await startTestControlPlane({ env, clock, args: ['--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`, '--write-rate-limit', '3/h'] }));
      }
      const put = (cp: TestControlPlane, name: string) => cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name }) } });
      const [one, two] = planes as [TestControlPlane, TestControlPlane];
      expect((await put(one, 's1')).status).toBe(200);
      expect((await put(two, 's2')).status).toBe(200);
      expect((await put(one, 's3')).status).toBe(200);
      const refused = await put(two, 's4');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1200');
      expect(refused.json.error.message).toMatch(/Too many writes with this token \(limit 3 per 3600 s\); retry in 1200 s/);
      expect((await put(one, 's4')).status).toBe(429);
      // Reads are not limited.
      expect((await one.api('/api/svc/v1/mcp-servers/name/s3')).status).toBe(200);
      clock.advance(1200_000);
      expect((await put(two, 's4')).status).toBe(200);
    });
  });
});
