// Real `mcpctl serve` replicas on one PostgreSQL whose schema a newer build migrates while they run (its
// version recorded, as a migration records it). The leader stops on SIGTERM and gives the lease up; the
// follower that takes it over on the newer schema starts no leader work: it logs `schema version N is newer
// than this build's M: stop this replica`, gives the lease up and exits 2 (as a start on that schema does:
// it must not be restarted); started again, it refuses (exit 2).
import { readLease } from '../../src/cluster/lease.js';
import { CONTROLLER_LEASE } from '../../src/cluster/postgres-cluster.js';
import { connect } from '../../src/store/postgres/connection.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/migrations.js';
import { waitFor } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { ReplicaSet, SUITE_LEASE_MS, TAKEOVER_DEADLINE_MS } from '../support/replicas.js';

const { describe } = requirePostgres();
const NEWER = POSTGRES_SCHEMA_VERSION + 1;

describe('replicas of an older build after a newer one migrated the schema', () => {
  let upstream: RunningMcpServer;
  let set: ReplicaSet;
  let storeUrl: string;

  beforeAll(async () => {
    storeUrl = (await (await testPostgres()).freshSchema()).url;
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    set = new ReplicaSet({ storeUrl, leaseMs: SUITE_LEASE_MS, upstreamUrl: upstream.url });
  }, POSTGRES_START_TIMEOUT_MS);
  afterAll(async () => {
    await set?.close();
    await upstream?.close();
  });

  it('the follower elected on the newer schema says so, gives the lease up and exits 2; started again it refuses', () => set.explainFailure(async () => {
    const r1 = await set.start('r1');
    await waitFor(async () => (await set.leaderSeenBy(r1))?.url === r1.url, { timeoutMs: 60_000, what: 'r1 to lead' });
    const r2 = await set.start('r2');
    const db = connect(storeUrl);
    try {
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [NEWER, 'a newer build']);
      r1.child.kill('SIGTERM');
      expect(await r1.exited).toBe(0);
      // r2 takes the lease at its next try, finds the newer schema and ends.
      await waitFor(() => r2.child.exitCode !== null || r2.child.signalCode !== null, { timeoutMs: TAKEOVER_DEADLINE_MS + 30_000, what: 'r2 to exit' });
      expect(await r2.exited).toBe(2);
      expect(r2.output()).toContain(`schema version ${NEWER} is newer than this build's ${POSTGRES_SCHEMA_VERSION}: stop this replica`);
      expect(r2.output()).toContain(`the PostgreSQL schema is at version ${NEWER}, newer than this build's ${POSTGRES_SCHEMA_VERSION}: shutting down (run the newer version of mcpctl)`);
      expect(r2.output()).not.toContain('rejoins as a follower');
      const lease = await readLease(db, CONTROLLER_LEASE);
      expect(lease?.holder).toBeNull();
      expect(lease?.epoch).toBe(2);
      await expect(set.start('r2-again')).rejects.toThrow(/exited \(2\)[\s\S]*schema is at version/);
    } finally {
      await db.end();
    }
  }), 5 * 60_000);
});
