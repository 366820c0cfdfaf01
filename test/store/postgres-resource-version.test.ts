// resourceVersion on PostgreSQL is a total order a follower reads without skipping: concurrent writers on
// several connections commit gap-free resourceVersions in commit order, and a reader polling
// `resource_version > last` sees every one. A SEQUENCE in the same place does not (shown step by step).
import pg from 'pg';
import { connect, inTransaction } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { currentResourceVersion, nextResourceVersion, RESOURCE_VERSION_CTE } from '../../src/store/postgres/resource-version.js';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

/** A follower of the changelog: reads what is after the last value it saw, in order, and notes each gap. */
class Follower {
  last = 0;
  readonly seen: number[] = [];
  readonly skipped: number[] = [];
  reads = 0;
  constructor(private readonly db: pg.Pool) {}

  async poll(): Promise<void> {
    this.reads++;
    const { rows } = await this.db.query<{ resource_version: number }>(
      'SELECT resource_version FROM changelog WHERE resource_version > $1 ORDER BY resource_version', [this.last]);
    for (const { resource_version: rv } of rows) {
      for (let missing = this.last + 1; missing < rv; missing++) this.skipped.push(missing);
      this.seen.push(rv);
      this.last = rv;
    }
  }
}

describe('resourceVersion on PostgreSQL', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let db: pg.Pool;
  let url: string;
  const pools: pg.Pool[] = [];
  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    db = connect(url, { max: 12 });
    pools.push(db);
    await migrate(db);
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  async function waitingForLock(pid: number): Promise<boolean> {
    const { rows } = await db.query<{ w: string | null }>('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid]);
    return rows[0]?.w === 'Lock';
  }

  it('a SEQUENCE hands out values that commit out of order: the follower skips one', async () => {
    await db.query('CREATE SEQUENCE seq_rv');
    const t1 = await db.connect();
    const t2 = await db.connect();
    try {
      await t1.query('BEGIN');
      await t2.query('BEGIN');
      const [a] = (await t1.query<{ v: number }>("SELECT nextval('seq_rv') AS v")).rows;
      const [b] = (await t2.query<{ v: number }>("SELECT nextval('seq_rv') AS v")).rows;
      await t1.query("INSERT INTO changelog VALUES ($1, 'ADDED', 'a', '{}', '')", [a!.v]);
      await t2.query("INSERT INTO changelog VALUES ($1, 'ADDED', 'b', '{}', '')", [b!.v]);
      await t2.query('COMMIT');
      const follower = new Follower(db);
      await follower.poll();
      await t1.query('COMMIT');
      await follower.poll();
      expect(follower.seen).toEqual([2]);
      expect(follower.skipped).toEqual([1]);
    } finally {
      t1.release();
      t2.release();
    }
  });

  it('the counter makes the second writer wait for the first to commit, so the follower sees both in order', async () => {
    const t1 = await db.connect();
    const t2 = await db.connect();
    try {
      await t1.query('BEGIN');
      await t2.query('BEGIN');
      const a = await nextResourceVersion(t1);
      const pid2 = (t2 as unknown as { processID: number }).processID;
      const second = nextResourceVersion(t2);
      await waitFor(() => waitingForLock(pid2), { what: 'the second writer waiting on the counter row' });
      await t1.query("INSERT INTO changelog VALUES ($1, 'ADDED', 'a', '{}', '')", [a]);
      const follower = new Follower(db);
      await follower.poll();
      expect(follower.seen).toEqual([]);
      await t1.query('COMMIT');
      const b = await second;
      expect([a, b]).toEqual([1, 2]);
      await t2.query("INSERT INTO changelog VALUES ($1, 'ADDED', 'b', '{}', '')", [b]);
      await follower.poll();
      await t2.query('COMMIT');
      await follower.poll();
      expect(follower.seen).toEqual([1, 2]);
      expect(follower.skipped).toEqual([]);
    } finally {
      t1.release();
      t2.release();
    }
  });

  it('a rolled-back write gives its number back: no gap', async () => {
    await expect(inTransaction(db, async (c) => {
      expect(await nextResourceVersion(c)).toBe(1);
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect(await inTransaction(db, (c) => nextResourceVersion(c))).toBe(1);
    expect(await currentResourceVersion(db)).toBe(1);
  });

  it('many concurrent writers on several connections: gap-free, commit-ordered, and a polling follower misses none', async () => {
    const WRITERS = 8;
    const PER_WRITER = 40;
    let committed = 0;
    let rolledBack = 0;
    const writer = async (w: number) => {
      for (let i = 0; i < PER_WRITER; i++) {
        const shape = (w + i) % 5;
        if (shape === 0) {
          // One statement: the bump and the changelog row together (the form the store uses).
          await db.query(`WITH ${RESOURCE_VERSION_CTE}
            INSERT INTO changelog (resource_version, type, fqn, object, at) SELECT resource_version, 'MODIFIED', $1, '{}', '' FROM rv`, [`w${w}`]);
          committed++;
        } else if (shape === 4) {
          // Bumps, writes, and rolls back.
          await inTransaction(db, async (c) => {
            const rv = await nextResourceVersion(c);
            await c.query("INSERT INTO changelog VALUES ($1, 'ADDED', $2, '{}', '')", [rv, `w${w}`]);
            throw new Error('abandoned');
          }).catch(() => rolledBack++);
        } else {
          // Work before the bump, then the bump and its row in separate round trips.
          await inTransaction(db, async (c) => {
            await c.query('SELECT count(*) FROM resources');
            const rv = await nextResourceVersion(c);
            await c.query("INSERT INTO changelog VALUES ($1, 'ADDED', $2, '{}', '')", [rv, `w${w}`]);
          });
          committed++;
        }
      }
    };
    const follower = new Follower(db);
    let writing = true;
    const following = (async () => {
      while (writing) await follower.poll();
    })();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    await following;
    await follower.poll();
    expect(rolledBack).toBeGreaterThan(0);
    expect(follower.reads).toBeGreaterThan(2);
    expect(follower.skipped).toEqual([]);
    expect(follower.seen).toEqual(Array.from({ length: committed }, (_, i) => i + 1));
    expect(await currentResourceVersion(db)).toBe(committed);
  });
});
