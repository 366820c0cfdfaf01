// PostgreSQL mode's cluster composed over a real database: migrations, the key canary, the election
// driving ClusterRole, heartbeats and the cluster view; the refusals a replica starts with.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ClusterRole } from '../../src/cluster/cluster-role.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { SecretKeyMismatchError } from '../../src/cluster/key-check.js';
import { openPostgresCluster, type PostgresCluster } from '../../src/cluster/postgres-cluster.js';
import { silentLogger } from '../../src/domain/logger.js';
import { connect } from '../../src/store/postgres/connection.js';
import { SchemaTooNewError } from '../../src/store/postgres/migrations.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
/** Long enough that no renewal misses it on a busy machine: takeovers here are releases. */
const LEASE = { durationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 100 };

describe('openPostgresCluster', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let url: string;
  const key = randomBytes(32);
  const opened: PostgresCluster[] = [];
  const pools: pg.Pool[] = [];
  /** A pool of its own per replica, as each replica's PostgresDatabase has. */
  const poolOf = () => {
    const pool = connect(url);
    pools.push(pool);
    return pool;
  };
  const roles: ClusterRole[] = [];
  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
  });
  afterEach(async () => {
    for (const r of roles.splice(0)) await r.stop();
    for (const c of opened.splice(0)) await c.close();
    for (const p of pools.splice(0)) await p.end();
  });

  async function replica(id: string, log: string[]): Promise<{ cluster: PostgresCluster; role: ClusterRole }> {
    const cluster = await openPostgresCluster({ pool: poolOf(), lease: LEASE, secretCodec: new AesGcmSecretCodec(key), tokens: new InternalTokens(key), version: '9.9.9', logger: silentLogger, replicaId: id });
    opened.push(cluster);
    cluster.startHeartbeat(`http://127.0.0.1:1${opened.length}`);
    const role = new ClusterRole({
      election: cluster.wiring.election,
      work: [{ name: 'work', start: () => void log.push(`${id} leads`), stop: () => void log.push(`${id} stops`) }, cluster.housekeeping],
      logger: silentLogger,
    });
    roles.push(role);
    await role.start();
    return { cluster, role };
  }

  it('elects one leader among two replicas, lists both, and hands over when the leader stops', async () => {
    const log: string[] = [];
    const a = await replica('a', log);
    await waitFor(() => a.role.isLeader, { what: 'a to lead' });
    const b = await replica('b', log);
    const status = await waitFor(async () => {
      const s = await b.cluster.wiring.view.status();
      return s.replicas.length === 2 ? s : undefined;
    }, { what: 'both replicas listed' });
    expect(status.self).toEqual({ id: 'b' });
    expect(status.leader).toMatchObject({ id: 'a', epoch: 1 });
    expect(status.replicas.map(({ id, url: u, version, leader, live }) => ({ id, url: u, version, leader, live }))).toEqual([
      { id: 'a', url: 'http://127.0.0.1:11', version: '9.9.9', leader: true, live: true },
      { id: 'b', url: 'http://127.0.0.1:12', version: '9.9.9', leader: false, live: true },
    ]);
    expect(a.cluster.wiring.lastRenewalAgeMs!()).toBeGreaterThanOrEqual(0);
    expect(b.cluster.wiring.lastRenewalAgeMs!()).toBeUndefined();

    await a.role.stop();
    await a.cluster.close();
    // The old leader's fence refuses its writes now.
    await expect(a.cluster.fence(pools[0]!)).rejects.toThrow(/not the leader/);
    await waitFor(() => b.role.isLeader, { what: 'b to take over' });
    const after = await b.cluster.wiring.view.status();
    expect(after.leader).toMatchObject({ id: 'b', epoch: 2 });
    expect(after.replicas.map((r) => r.id)).toEqual(['b']);
    expect(log).toEqual(['a leads', 'a stops', 'b leads']);
  });

  it('refuses a replica whose secret key does not open the canary, and one older than the schema', async () => {
    await replica('a', []);
    await expect(openPostgresCluster({ pool: poolOf(), lease: LEASE, secretCodec: new AesGcmSecretCodec(randomBytes(32)), tokens: new InternalTokens(randomBytes(32)), version: '1', logger: silentLogger })).rejects.toBeInstanceOf(SecretKeyMismatchError);
    const admin = connect(url);
    try {
      await admin.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from a newer build')");
    } finally {
      await admin.end();
    }
    const older = openPostgresCluster({ pool: poolOf(), lease: LEASE, secretCodec: new AesGcmSecretCodec(key), tokens: new InternalTokens(key), version: '1', logger: silentLogger });
    await expect(older).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(older).rejects.toThrow(/schema is at version 999, newer than this build/);
  });
});
