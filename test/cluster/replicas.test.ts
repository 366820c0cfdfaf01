// The replicas table: a heartbeat keeps each replica's row fresh (database clock); a row not seen within
// the stale age shows as gone and is pruned; a clean stop removes the replica's own row.
import pg from 'pg';
import { heartbeat, listReplicas, pruneReplicas, ReplicaHeartbeat } from '../../src/cluster/replicas.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { waitFor } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

describe('replicas', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let db: pg.Pool;
  beforeEach(async () => {
    db = connect((await (await testPostgres()).freshSchema()).url);
    await migrate(db);
  });
  afterEach(() => db.end());

  it('lists each replica once, keeps its start time across beats, and tells live from stale', async () => {
    await heartbeat(db, { id: 'r1', url: 'http://10.0.0.1:8080', version: '0.1.0' });
    await heartbeat(db, { id: 'r2', url: 'http://10.0.0.2:8080', version: '0.1.0' });
    const [first] = await listReplicas(db, 60_000);
    await heartbeat(db, { id: 'r1', url: 'http://10.0.0.1:8080', version: '0.2.0' });
    // r2 was last seen an hour ago (as if it died then).
    await db.query("UPDATE replicas SET last_seen = last_seen - interval '1 hour' WHERE id = 'r2'");
    const replicas = await listReplicas(db, 60_000);
    expect(replicas.map(({ id, url, version, live }) => ({ id, url, version, live }))).toEqual([
      { id: 'r1', url: 'http://10.0.0.1:8080', version: '0.2.0', live: true },
      { id: 'r2', url: 'http://10.0.0.2:8080', version: '0.1.0', live: false },
    ]);
    expect(replicas[0]!.startedAt).toEqual(first!.startedAt);
    expect(replicas[0]!.lastSeen.getTime()).toBeGreaterThanOrEqual(first!.lastSeen.getTime());
    expect(await pruneReplicas(db, 60_000)).toBe(1);
    expect((await listReplicas(db, 60_000)).map((r) => r.id)).toEqual(['r1']);
  });

  it('beats at start and at every interval of its clock; stop removes its row', async () => {
    const clock = new FakeClock(0);
    const beat = new ReplicaHeartbeat({ db, replica: { id: 'me', url: 'http://127.0.0.1:1', version: '1' }, intervalMs: 5000, clock });
    beat.start();
    const first = await waitFor(async () => (await listReplicas(db, 60_000))[0], { what: 'the first beat' });
    await waitFor(() => clock.pendingTimers().length === 1, { what: 'the next beat scheduled' });
    expect(clock.pendingTimers()[0]!.inMs).toBe(5000);
    clock.advance(5000);
    await waitFor(async () => (await listReplicas(db, 60_000))[0]!.lastSeen > first.lastSeen, { what: 'the second beat' });
    await beat.stop();
    expect(await listReplicas(db, 60_000)).toEqual([]);
    expect(clock.pendingTimers()).toEqual([]);
  });
});
