// Leader election on a real PostgreSQL with short durations. Durations are config: the tests assert the
// order of what happened and its outcome (who holds the lease, which epoch, which writes landed), never
// how long anything took. "Frozen" (as by SIGSTOP) is a clock whose timers are held: the elector neither
// renews nor notices anything until it thaws.
import pg from 'pg';
import { systemClock, type Clock, type TimerHandle } from '../../src/domain/clock.js';
import { fence, FencedError } from '../../src/cluster/fence.js';
import { checkLeaseDurations, LeaderElector } from '../../src/cluster/leader-election.js';
import { readLease } from '../../src/cluster/lease.js';
import { connect, inTransaction } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { waitFor } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

// A replica leads on a lease far longer than any test waits, so a busy machine's stalls never make it step
// down: a takeover within a test is a release, a fenced write or a manual one, never an expiry. Only a
// replica whose lease is meant to run out (a frozen one) holds a short lease; its clock is frozen as soon
// as it leads, so its own renew deadline never runs on the system clock.
const LEASE_MS = 120_000;
const RENEW_DEADLINE_MS = 90_000;
const SHORT_LEASE_MS = 4000;
const SHORT_RENEW_DEADLINE_MS = 3000;
const RETRY_MS = 250;
/** Below the lease, as connect() requires; a frozen transaction ends well before the lease runs out. */
const IDLE_IN_TRANSACTION_MS = 1500;

/** The system clock, whose timers wait while frozen and run when it thaws. */
class FreezableClock implements Clock {
  private frozen = false;
  private held = new Set<{ fn: () => void; cancelled: boolean }>();
  now(): number {
    return systemClock.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { fn, cancelled: false };
    const handle = systemClock.setTimeout(() => {
      if (timer.cancelled) return;
      if (this.frozen) this.held.add(timer);
      else fn();
    }, ms);
    return { handle, timer };
  }
  clearTimeout(h: TimerHandle): void {
    const { handle, timer } = h as { handle: TimerHandle; timer: { cancelled: boolean } };
    timer.cancelled = true;
    systemClock.clearTimeout(handle);
  }
  freeze(): void {
    this.frozen = true;
  }
  thaw(): void {
    this.frozen = false;
    const due = [...this.held];
    this.held.clear();
    for (const t of due) if (!t.cancelled) t.fn();
  }
}

type Happening = { who: string; what: 'started'; epoch: number } | { who: string; what: 'stopped' } | { who: string; what: 'session ended' };

describe('leader election (PostgreSQL lease)', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let url: string;
  let admin: pg.Pool;
  let happened: Happening[];
  const pools: pg.Pool[] = [];
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    admin = connect(url);
    pools.push(admin);
    await migrate(admin);
    await admin.query('CREATE TABLE leader_writes (holder TEXT NOT NULL, epoch BIGINT NOT NULL)');
    happened = [];
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });

  /**
   * `short`: the replica's lease runs out 4 s after its last renewal. `onLeading`: runs when it starts
   * leading, before any other timer of its clock (e.g. to freeze that clock).
   */
  function replica(
    who: string,
    clock: Clock = systemClock,
    options: { short?: boolean; onLeading?: () => void } = {},
  ): { elector: LeaderElector; pool: pg.Pool } {
    const leaseMs = options.short ? SHORT_LEASE_MS : LEASE_MS;
    const pool = connect(url, {
      applicationName: who,
      leaseDurationMs: leaseMs,
      idleInTransactionTimeoutMs: IDLE_IN_TRANSACTION_MS,
      onError: (err) => {
        if (/idle-in-transaction timeout/.test(err.message)) happened.push({ who, what: 'session ended' });
      },
    });
    pools.push(pool);
    const elector = new LeaderElector({
      db: pool,
      identity: who,
      leaseDurationMs: leaseMs,
      renewDeadlineMs: options.short ? SHORT_RENEW_DEADLINE_MS : RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      clock,
      onStartedLeading: (epoch) => {
        happened.push({ who, what: 'started', epoch });
        options.onLeading?.();
      },
      onStoppedLeading: () => happened.push({ who, what: 'stopped' }),
    });
    electors.push(elector);
    return { elector, pool };
  }

  /** A leader's write: fenced on its lease, then one row naming it. */
  function leaderWrite(elector: LeaderElector, pool: pg.Pool): Promise<void> {
    return inTransaction(pool, async (c) => {
      await elector.fence(c);
      await c.query('INSERT INTO leader_writes (holder, epoch) VALUES ($1, $2)', [elector.identity, elector.token!.epoch]);
    });
  }

  async function writes(): Promise<{ holder: string; epoch: number }[]> {
    return (await admin.query('SELECT holder, epoch FROM leader_writes ORDER BY epoch, holder')).rows;
  }

  it('of three electors, exactly one leads, and keeps leading while it renews', async () => {
    const all = ['a', 'b', 'c'].map((who) => replica(who).elector);
    all.forEach((e) => e.start());
    const leader = await waitFor(() => all.find((e) => e.isLeader), { what: 'a leader' });
    // Two renewals later, nothing changed hands.
    const first = (await readLease(admin, 'controller'))!;
    await waitFor(async () => (await readLease(admin, 'controller'))!.renewedAt > first.renewedAt, { what: 'a renewal' });
    const second = (await readLease(admin, 'controller'))!;
    await waitFor(async () => (await readLease(admin, 'controller'))!.renewedAt > second.renewedAt, { what: 'another renewal' });
    expect(happened).toEqual([{ who: leader.identity, what: 'started', epoch: 1 }]);
    expect(all.filter((e) => e.isLeader)).toEqual([leader]);
    expect(await readLease(admin, 'controller')).toMatchObject({ holder: leader.identity, epoch: 1, durationMs: LEASE_MS, expired: false });
  });

  it('a leader that stops releases the lease: another takes over before it would have run out, at a higher epoch', async () => {
    const a = replica('a');
    a.elector.start();
    await waitFor(() => a.elector.isLeader, { what: 'a leading' });
    await leaderWrite(a.elector, a.pool);
    await a.elector.stop();
    // Released, long before it would have run out.
    expect(await readLease(admin, 'controller')).toMatchObject({ holder: null, epoch: 1, expired: false });
    const b = replica('b');
    const c = replica('c');
    b.elector.start();
    c.elector.start();
    // Taken over at release: the lease lasts far longer than this wait.
    const next = await waitFor(() => [b.elector, c.elector].find((e) => e.isLeader), { what: 'a new leader' });
    expect(await readLease(admin, 'controller')).toMatchObject({ holder: next.identity, epoch: 2, expired: false });
    await leaderWrite(next, next === b.elector ? b.pool : c.pool);
    expect(happened).toEqual([
      { who: 'a', what: 'started', epoch: 1 },
      { who: 'a', what: 'stopped' },
      { who: next.identity, what: 'started', epoch: 2 },
    ]);
    expect(await writes()).toEqual([{ holder: 'a', epoch: 1 }, { holder: next.identity, epoch: 2 }]);
    // A stopped elector's fence refuses.
    await expect(leaderWrite(a.elector, a.pool)).rejects.toThrow(new FencedError(
      { name: 'controller', holder: 'a', epoch: 0 },
      'a does not hold lease "controller": this replica is not the leader, its write is refused',
    ));
  });

  it('a callback that throws is reported, and the elector goes on leading', async () => {
    const pool = connect(url);
    pools.push(pool);
    const errors: unknown[] = [];
    const elector = new LeaderElector({
      db: pool,
      identity: 'a',
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: () => {
        throw new Error('callback failed');
      },
      onError: (err) => errors.push(err),
    });
    electors.push(elector);
    elector.start();
    await waitFor(() => errors.length > 0, { what: 'the error reported' });
    expect(errors).toEqual([new Error('callback failed')]);
    const before = (await readLease(admin, 'controller'))!;
    await waitFor(async () => (await readLease(admin, 'controller'))!.renewedAt > before.renewedAt, { what: 'a renewal' });
    expect(elector.isLeader).toBe(true);
  });

  it('a frozen leader is replaced after its lease runs out; its write then is fenced, and it steps down when it wakes', async () => {
    const clockA = new FreezableClock();
    const a = replica('a', clockA, { short: true, onLeading: () => clockA.freeze() });
    a.elector.start();
    await waitFor(() => a.elector.isLeader, { what: 'a leading' });
    const tokenA = a.elector.token!;
    const b = replica('b');
    b.elector.start();
    let lastOfA = (await readLease(admin, 'controller'))!;
    await waitFor(async () => {
      const lease = (await readLease(admin, 'controller'))!;
      if (lease.holder === 'a') lastOfA = lease;
      return b.elector.isLeader;
    }, { what: 'b leading' });
    const taken = (await readLease(admin, 'controller'))!;
    expect(taken).toMatchObject({ holder: 'b', epoch: 2 });
    // Taken only once a's lease had run out: the database compares its own times (acquireLease), whatever
    // the test's machine did meanwhile.
    expect(taken.acquiredAt.getTime()).toBeGreaterThanOrEqual(lastOfA.renewedAt.getTime() + SHORT_LEASE_MS);
    // a has noticed nothing yet; the write it makes on waking is refused.
    expect(a.elector.isLeader).toBe(true);
    await expect(inTransaction(a.pool, async (c) => {
      await fence(c, tokenA);
      await c.query("INSERT INTO leader_writes (holder, epoch) VALUES ('a', 1)");
    })).rejects.toThrow(new FencedError(tokenA));
    await leaderWrite(b.elector, b.pool);
    clockA.thaw();
    await waitFor(() => !a.elector.isLeader, { what: 'a stepping down' });
    expect(happened).toEqual([
      { who: 'a', what: 'started', epoch: 1 },
      { who: 'b', what: 'started', epoch: 2 },
      { who: 'a', what: 'stopped' },
    ]);
    expect(await writes()).toEqual([{ holder: 'b', epoch: 2 }]);
  });

  it('the leader renews while its fenced transactions are open; a takeover waits for them', async () => {
    const a = replica('a');
    a.elector.start();
    await waitFor(() => a.elector.isLeader, { what: 'a leading' });
    const client = await a.pool.connect();
    try {
      await client.query('BEGIN');
      await a.elector.fence(client);
      // The transaction keeps talking (it is not idle), so only a lock could stop the renewal.
      const busy = () => client.query('SELECT 1');
      const before = (await readLease(admin, 'controller'))!;
      await waitFor(async () => (await busy(), (await readLease(admin, 'controller'))!.renewedAt > before.renewedAt), {
        what: 'a renewal during the transaction',
      });
      // A takeover (a new epoch) cannot commit while the transaction holds its fence.
      const other = await admin.connect();
      try {
        const takeover = other.query("UPDATE leases SET holder = 'intruder', epoch = epoch + 1 WHERE name = 'controller'");
        const pid = (other as unknown as { processID: number }).processID;
        await waitFor(async () => (await busy(), (await admin.query('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.w === 'Lock'), {
          what: 'the takeover waiting for the fence',
        });
        await client.query("INSERT INTO leader_writes (holder, epoch) VALUES ('a', 1)");
        await client.query('COMMIT');
        await takeover;
      } finally {
        other.release();
      }
    } finally {
      client.release();
    }
    expect(await writes()).toEqual([{ holder: 'a', epoch: 1 }]);
    expect(await readLease(admin, 'controller')).toMatchObject({ holder: 'intruder', epoch: 2 });
    await waitFor(() => !a.elector.isLeader, { what: 'a stepping down' });
  });

  it('a fenced write makes the elector step down at once', async () => {
    const clockA = new FreezableClock();
    const a = replica('a', clockA, { short: true, onLeading: () => clockA.freeze() });
    a.elector.start();
    await waitFor(() => a.elector.isLeader, { what: 'a leading' });
    const b = replica('b');
    b.elector.start();
    await waitFor(() => b.elector.isLeader, { what: 'b leading' });
    await expect(leaderWrite(a.elector, a.pool)).rejects.toThrow(FencedError);
    expect(a.elector.isLeader).toBe(false);
    expect(happened).toEqual([
      { who: 'a', what: 'started', epoch: 1 },
      { who: 'b', what: 'started', epoch: 2 },
      { who: 'a', what: 'stopped' },
    ]);
    clockA.thaw();
  });

  it('a leader frozen inside a fenced transaction holds the lease row until the idle-in-transaction timeout ends it', async () => {
    const clockA = new FreezableClock();
    const a = replica('a', clockA, { short: true });
    a.elector.start();
    await waitFor(() => a.elector.isLeader, { what: 'a leading' });
    const client = await a.pool.connect();
    await client.query('BEGIN');
    await a.elector.fence(client);
    await client.query("INSERT INTO leader_writes (holder, epoch) VALUES ('a', 1)");
    // Frozen here: the transaction stays open and a renews no more.
    clockA.freeze();
    const b = replica('b');
    b.elector.start();
    await waitFor(() => b.elector.isLeader, { what: 'b leading' });
    await expect(client.query('COMMIT')).rejects.toThrow();
    client.release(true);
    // The server ended a's session before b could take the row a held FOR SHARE.
    expect(happened).toEqual([
      { who: 'a', what: 'started', epoch: 1 },
      { who: 'a', what: 'session ended' },
      { who: 'b', what: 'started', epoch: 2 },
    ]);
    expect(await writes()).toEqual([]);
    clockA.thaw();
    await waitFor(() => !a.elector.isLeader, { what: 'a stepping down' });
  });

  it('leadership recovers after PostgreSQL restarts', async () => {
    const a = replica('a');
    const b = replica('b');
    a.elector.start();
    b.elector.start();
    await waitFor(() => a.elector.isLeader || b.elector.isLeader, { what: 'a leader' });
    await (await testPostgres()).restart();
    // Eventually one leader whose fenced write lands (the lease survived the restart, or was taken anew).
    await waitFor(async () => {
      const leaders = [a, b].filter((r) => r.elector.isLeader);
      if (leaders.length !== 1) return false;
      return leaderWrite(leaders[0]!.elector, leaders[0]!.pool).then(() => true, () => false);
    }, { what: 'a leader writing after the restart', timeoutMs: 20_000 });
    const lease = (await readLease(admin, 'controller'))!;
    const leader = [a, b].find((r) => r.elector.isLeader)!.elector;
    expect(lease).toMatchObject({ holder: leader.identity, epoch: leader.token!.epoch, expired: false });
    expect(await writes()).toEqual([{ holder: leader.identity, epoch: leader.token!.epoch }]);
  });

  it('steps down when renewals fail past the renew deadline, not before (fake clock, unreachable database)', async () => {
    const clock = new FakeClock(1_000_000);
    const real = connect(url);
    pools.push(real);
    // A database that stops answering: the pool of an address where nothing listens.
    const dead = connect('postgresql://postgres@127.0.0.1:1/postgres', { connectTimeoutMs: 1000 });
    pools.push(dead);
    let db: pg.Pool = real;
    const errors: unknown[] = [];
    const elector = new LeaderElector({
      db: { query: ((...args: Parameters<pg.Pool['query']>) => db.query(...args)) as pg.Pool['query'] },
      identity: 'a',
      leaseDurationMs: SHORT_LEASE_MS,
      renewDeadlineMs: SHORT_RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      clock,
      onStartedLeading: (epoch) => happened.push({ who: 'a', what: 'started', epoch }),
      onStoppedLeading: () => happened.push({ who: 'a', what: 'stopped' }),
      onError: (err) => errors.push(err),
    });
    electors.push(elector);
    elector.start();
    clock.advance(0);
    await waitFor(() => elector.isLeader, { what: 'leading' });
    db = dead;
    // Renewals fail one after another; up to just before the deadline it still leads.
    let elapsed = 0;
    while (elapsed + RETRY_MS < SHORT_RENEW_DEADLINE_MS) {
      const before = errors.length;
      clock.advance(RETRY_MS);
      elapsed += RETRY_MS;
      await waitFor(() => errors.length > before, { what: 'a failed renewal' });
      await flushPromises();
    }
    clock.advance(SHORT_RENEW_DEADLINE_MS - elapsed - 1);
    expect(elector.isLeader).toBe(true);
    clock.advance(1);
    expect(elector.isLeader).toBe(false);
    expect(happened).toEqual([{ who: 'a', what: 'started', epoch: 1 }, { who: 'a', what: 'stopped' }]);
  });

  it('checks its durations as controller-runtime does', () => {
    expect(() => checkLeaseDurations(15_000, 10_000, 2_000)).not.toThrow();
    expect(() => checkLeaseDurations(10_000, 10_000, 2_000)).toThrow('The lease duration (10000 ms) must be greater than the renew deadline (10000 ms)');
    expect(() => checkLeaseDurations(15_000, 2_000, 2_000)).toThrow('The renew deadline (2000 ms) must be greater than 1.2 × the retry period (2000 ms)');
    expect(() => new LeaderElector({ db: admin, retryPeriodMs: 0 })).toThrow('The retry period (0 ms) must be above 0');
  });
});
