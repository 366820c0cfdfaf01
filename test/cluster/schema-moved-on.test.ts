// A replica of an older build that was already running when a newer build migrated the schema (here: the
// recorded version bumped under the running store, as that migration records it): as leader it prunes
// nothing and stops leading at its next round of housekeeping, and a replica elected on that schema
// starts no leader work. Both say `schema version N is newer than this build's M: stop this replica`,
// give the lease up and never campaign again. Real PostgreSQL; the leader work as main.ts orders it; the
// election on a fake clock (it tries when the test advances it, so no renewal is ever due meanwhile).
import { randomBytes } from 'node:crypto';
import { ClusterRole } from '../../src/cluster/cluster-role.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { readLease } from '../../src/cluster/lease.js';
import { CONTROLLER_LEASE, openPostgresCluster, type PostgresCluster } from '../../src/cluster/postgres-cluster.js';
import type { Logger } from '../../src/domain/logger.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { connect } from '../../src/store/postgres/connection.js';
import { PostgresDatabase, PostgresResourceStore, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/index.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import { newResource } from '../store/conformance/fixtures.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
/** Long enough that no renewal misses it on a busy machine: the lease changes hands only when given up. */
const LEASE = { durationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 100 };
/** Writes per round of housekeeping: a few, so the test costs tens of round trips. */
const ROUND = 10;
const NEWER = POSTGRES_SCHEMA_VERSION + 1;
const MOVED_ON = `schema version ${NEWER} is newer than this build's ${POSTGRES_SCHEMA_VERSION}: stop this replica`;

/** A logger that keeps every line (message and level) of itself and its children. */
function recordingLogger(lines: { level: string; msg: string }[]): Logger {
  const at = (level: string) => (_fields: Record<string, unknown>, msg: string) => void lines.push({ level, msg });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

describe('a running replica after a newer build migrated the schema', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const key = randomBytes(32);
  let url: string;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** A replica as main.ts composes its leader work: the schema check first, then the rest (logged), the cluster's housekeeping last. */
  async function replica(id: string, log: string[], clock: FakeClock) {
    const lines: { level: string; msg: string }[] = [];
    const logger = recordingLogger(lines);
    const pool = connect(url);
    closers.push(() => pool.end());
    const cluster: PostgresCluster = await openPostgresCluster({ pool, lease: LEASE, secretCodec: new AesGcmSecretCodec(key), tokens: new InternalTokens(key), version: '9.9.9', logger, replicaId: id, clock });
    closers.push(() => cluster.close());
    let lost = 0;
    const role = new ClusterRole({
      election: cluster.wiring.election,
      work: [cluster.schemaCheck, { name: 'work', start: () => void log.push(`${id} leads`), stop: () => void log.push(`${id} stops`) }, cluster.housekeeping],
      logger,
      clock,
      onLost: () => lost++,
    });
    closers.push(() => role.stop());
    await role.start();
    return { cluster, role, lines, lost: () => lost };
  }

  /** Fires the election's due tries until `done` holds (each try is a statement: waited for in real time). */
  const tryUntil = (clock: FakeClock, done: () => boolean | Promise<boolean>, what: string) =>
    waitFor(async () => {
      clock.advance(0);
      return done();
    }, { what });

  it('the leader prunes nothing once the schema moved on: it says so, gives the lease up and stops leading', async () => {
    const log: string[] = [];
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const a = await replica('a', log, clock);
    await tryUntil(clock, () => a.role.isLeading, 'a to lead');
    // The leader's store object as main.ts makes it: fenced, housekeeping, the schema checked before each round.
    const database = await PostgresDatabase.open(url, { max: 4 });
    closers.push(() => database.close());
    const errors: string[] = [];
    const store = await PostgresResourceStore.open({
      database,
      views: resourceViews,
      fence: a.cluster.fence,
      housekeeping: true,
      housekeepingEveryWrites: ROUND,
      changelogMinEntries: 1,
      changelogMinAgeMs: 0,
      beforeHousekeeping: a.cluster.checkSchema,
      onError: (err) => void errors.push(err.message),
    });
    closers.push(() => store.close());
    const entries = async () => Number((await database.pool.query('SELECT count(*) AS n FROM changelog')).rows[0].n);
    const oldest = async () => Number((await database.pool.query('SELECT min(resource_version) AS m FROM changelog')).rows[0].m);

    // A round on the schema this build knows prunes.
    for (let i = 0; i < ROUND; i++) await store.create(newResource(`s${i}`));
    await waitFor(async () => (await oldest()) > 1, { what: 'a round of housekeeping to prune the changelog' });

    // A newer build migrates (its version recorded) while this one runs.
    await database.pool.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [NEWER, 'a newer build']);
    const before = { entries: await entries(), oldest: await oldest() };
    // The next writes make a round due; the fence still passes (this replica still holds the lease then).
    for (let i = 0; i < ROUND; i++) await store.create(newResource(`t${i}`)).catch(() => undefined);
    await waitFor(() => a.lost() === 1, { what: 'a to stop leading' });
    // The round failed (rolled back) on the newer schema.
    await waitFor(() => errors.some((m) => /schema is at version/.test(m)), { what: 'the housekeeping round to fail' });
    expect(a.lines).toContainEqual({ level: 'error', msg: MOVED_ON });
    expect(a.role.isLeader).toBe(false);
    expect(log).toEqual(['a leads', 'a stops']);
    // Nothing of the changelog was pruned after the bump.
    expect(await oldest()).toBe(before.oldest);
    expect(await entries()).toBeGreaterThanOrEqual(before.entries);
    // The lease is given up, and a never campaigns again: no try of the election is scheduled.
    await waitFor(async () => (await readLease(database.pool, CONTROLLER_LEASE))?.holder === null, { what: 'the lease to be given up' });
    expect(clock.pendingTimers()).toEqual([]);
    await expect(a.cluster.fence(database.pool)).rejects.toThrow(/not the leader/);
  });

  it('a replica elected on a newer schema starts no leader work: it says so and gives the lease up', async () => {
    const admin = connect(url);
    closers.push(() => admin.end());
    const log: string[] = [];
    // The first replica migrates; a newer build records its version before any replica leads.
    const lines: { level: string; msg: string }[] = [];
    const pool = connect(url);
    closers.push(() => pool.end());
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const cluster = await openPostgresCluster({ pool, lease: LEASE, secretCodec: new AesGcmSecretCodec(key), tokens: new InternalTokens(key), version: '9.9.9', logger: recordingLogger(lines), replicaId: 'b', clock });
    closers.push(() => cluster.close());
    await admin.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [NEWER, 'a newer build']);
    let lost = 0;
    const role = new ClusterRole({
      election: cluster.wiring.election,
      work: [cluster.schemaCheck, { name: 'work', start: () => void log.push('b leads'), stop: () => void log.push('b stops') }, cluster.housekeeping],
      logger: recordingLogger(lines),
      clock,
      onLost: () => lost++,
    });
    closers.push(() => role.stop());
    await role.start();

    await tryUntil(clock, async () => lost === 1 && (await readLease(admin, CONTROLLER_LEASE))?.holder === null, 'b to take the lease and give it up');
    expect(lines).toContainEqual({ level: 'error', msg: MOVED_ON });
    expect(log).toEqual([]);
    expect(role.isLeader).toBe(false);
    expect(role.notReadyReason()).toMatch(/schema is at version/);
    // It took the lease once and never campaigns again: no try of the election is scheduled.
    expect(await readLease(admin, CONTROLLER_LEASE)).toMatchObject({ holder: null, epoch: 1 });
    expect(clock.pendingTimers()).toEqual([]);
  });
});
