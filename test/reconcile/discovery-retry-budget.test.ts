// Retries of failed discoveries share one budget (a token bucket) on top of each server's own backoff, as
// controller-runtime's default rate limiter does: a fleet that fails together is retried at the budget's
// rate, not all at once and forever; while few fail, each keeps its own schedule; a first discovery, a
// changed spec or a refresh never waits for the budget; and jitter keeps a synchronized failure from
// coming back in lockstep. Time is the injected clock; a mini reconciler requeues each key when its record
// says the next discovery is due, as the server reconciler does.
import type { DiscoveryFailureReason, DiscoveryResult } from '../../src/discovery/index.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryManagerOptions, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { RetryBudget } from '../../src/reconcile/retry-budget.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const failure = (reason: DiscoveryFailureReason = 'Unreachable'): DiscoveryResult => ({
  ok: false,
  reason,
  message: 'down',
  authStatus: { status: 'unknown', method: null, message: '' },
});

/** A seeded generator in [0, 1) (mulberry32), so a jittered schedule is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const RATE = { count: 10, perMs: 1000 };

interface FleetOptions {
  /** The retry budget (on the fleet's clock); absent: none. */
  budget?: { count: number; perMs: number };
  jitter?: () => number;
  reason?: DiscoveryFailureReason;
}

/**
 * `servers` keys whose every discovery fails at once with `reason`, the manager driven as the reconciler
 * drives it: a finished job enqueues its key; the reconcile starts a discovery when one is due, else
 * comes back when the record says it is. Every job start is recorded with the clock's time.
 */
function fleet(servers: number, options: FleetOptions = {}) {
  const clock = new FakeClock(0);
  const starts: { key: string; at: number; retry: boolean }[] = [];
  const inputs = new Map<string, string>();
  const requeues = new Map<string, ReturnType<FakeClock['setTimeout']>>();
  const reconcile = (key: string) => {
    const hash = inputs.get(key)!;
    const pending = requeues.get(key);
    if (pending) clock.clearTimeout(pending);
    requeues.delete(key);
    const { record, running } = manager.state(key, hash);
    if (manager.isDue(key, hash)) {
      manager.ensure(key, hash, async () => {
        starts.push({ key, at: clock.now(), retry: record !== undefined });
        return { result: failure(options.reason) } satisfies DiscoveryOutcome;
      });
    } else if (record && !running) {
      requeues.set(key, clock.setTimeout(() => reconcile(key), record.dueAt - clock.now()));
    }
  };
  const retryBudget = options.budget ? new RetryBudget({ ...options.budget, clock }) : undefined;
  const manager: DiscoveryManager = new DiscoveryManager({
    clock,
    concurrency: 8,
    intervalMs: 300_000,
    retryBaseMs: 1000,
    retryMaxMs: 300_000,
    retryUnreachableMaxMs: 5000,
    enqueue: (key) => reconcile(key),
    logger: silentLogger,
    ...(retryBudget ? { retryBudget } : {}),
    ...(options.jitter ? { jitter: options.jitter } : {}),
  });
  const keys = Array.from({ length: servers }, (_, i) => `server-${i}`);
  return {
    clock,
    manager,
    starts,
    keys,
    /** A discovery of each key of `only` (default: all) with inputs `hash`: a first one, or a changed spec. */
    add(hash = 'h', only: readonly string[] = keys) {
      for (const key of only) {
        inputs.set(key, hash);
        reconcile(key);
      }
    },
    /** Moves the clock `ms` forward in steps of `stepMs`, letting the jobs each step starts finish. */
    async run(ms: number, stepMs = 100) {
      await flushPromises();
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(stepMs);
        await flushPromises();
      }
    },
  };
}

/** The most retries that started in any window [t, t + 1 s) of the run. */
function maxPerSecond(starts: readonly { at: number; retry: boolean }[]): number {
  const at = starts.filter((s) => s.retry).map((s) => s.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** The delays between the attempts of `key`. */
function gaps(starts: readonly { key: string; at: number }[], key: string): number[] {
  const at = starts.filter((s) => s.key === key).map((s) => s.at);
  return at.slice(1).map((t, i) => t - at[i]!);
}

describe('the retry budget of discovery', () => {
  it('retries 1,000 failing servers at no more than the budget allows per clock second, and each of them in turn', async () => {
    const run = fleet(1000, { budget: RATE, jitter: seeded(1) });
    run.add();
    await run.run(120_000);
    const retries = run.starts.filter((s) => s.retry);
    // 120 s at 10 a second, plus one burst of 10: not the ~200 a second of 1,000 servers on a 5 s schedule.
    expect(retries.length).toBeLessThanOrEqual(RATE.count + RATE.count * 120);
    expect(retries.length).toBeGreaterThanOrEqual(RATE.count * 110);
    // In any one second: a burst and that second's refill, at most.
    expect(maxPerSecond(run.starts)).toBeLessThanOrEqual(RATE.count * 2);
    // Nobody starves: every server was retried within the time the budget takes to go round the fleet.
    const round = (1000 / RATE.count) * 1000;
    expect(new Set(retries.filter((s) => s.at <= round + 5000).map((s) => s.key)).size).toBe(1000);
    // Status states a bound that holds, and the budget that decided it; the metric counts those waiting.
    for (const key of ['server-20', 'server-500', 'server-999']) {
      const record = run.manager.state(key, 'h').record!;
      expect(record.nextAttempt!.budget).toEqual(RATE);
      expect(record.dueAt - record.finishedAt).toBeLessThanOrEqual(record.nextAttempt!.withinMs);
      expect(record.nextAttempt!.withinMs).toBeLessThanOrEqual(120_000);
    }
    expect(run.manager.retriesWaitingOnBudget()).toBeGreaterThan(900);
    run.manager.stop();
  });

  it('without a budget the same fleet floods: ~200 retries a clock second (what the budget is for)', async () => {
    const run = fleet(1000, { jitter: seeded(1) });
    run.add();
    await run.run(30_000);
    expect(maxPerSecond(run.starts)).toBeGreaterThan(150);
    expect(run.manager.retriesWaitingOnBudget()).toBe(0);
    run.manager.stop();
  });

  it('keeps the promised schedule of each server while few fail, and says so', async () => {
    const run = fleet(5, { budget: RATE });
    run.add();
    await run.run(60_000);
    for (const key of run.keys) {
      const [first, second, third, ...rest] = gaps(run.starts, key);
      expect([first, second, third]).toEqual([1000, 2000, 4000]);
      expect(rest.length).toBeGreaterThan(5);
      for (const gap of rest) expect(gap).toBe(5000);
      expect(run.manager.state(key, 'h').record!.nextAttempt).toEqual({ withinMs: 5000 });
    }
    expect(run.manager.retriesWaitingOnBudget()).toBe(0);
    run.manager.stop();
  });

  it('keeps each server within its own bound when the budget has room, jitter or not', async () => {
    // 40 servers at 5 s are 8 retries a second: within a budget of 10.
    const run = fleet(40, { budget: RATE, jitter: seeded(7) });
    run.add();
    await run.run(120_000);
    for (const key of run.keys) {
      const later = gaps(run.starts, key).slice(3);
      expect(later.length).toBeGreaterThan(15);
      for (const gap of later) expect(gap).toBeLessThanOrEqual(5000 + 100); // the run's 100 ms steps
    }
    run.manager.stop();
  });

  it('never delays a first discovery, a changed spec or a refresh', async () => {
    const run = fleet(1000, { budget: RATE, jitter: seeded(3) });
    run.add();
    await run.run(1000);
    // The budget is spent for a minute and more.
    expect(run.manager.retriesWaitingOnBudget()).toBeGreaterThan(900);
    const at = run.clock.now();
    const startedNow = (key: string) => run.starts.filter((s) => s.key === key && s.at === at);

    // A changed spec of a server waiting on the budget, and a new server: discovered at once.
    const waiting = 'server-999';
    expect(run.manager.state(waiting, 'h').record!.dueAt).toBeGreaterThan(at + 60_000);
    run.add('h2', [waiting]);
    run.add('h', ['new-server']);
    await flushPromises();
    expect(startedNow(waiting)).toEqual([{ key: waiting, at, retry: false }]);
    expect(startedNow('new-server')).toEqual([{ key: 'new-server', at, retry: false }]);

    // A refresh of another waiting server: at once too.
    const refreshed = 'server-998';
    const done = run.manager.refresh(refreshed);
    await flushPromises();
    expect(startedNow(refreshed)).toEqual([{ key: refreshed, at, retry: true }]);
    run.manager.reported(refreshed, run.manager.state(refreshed, 'h').record!);
    await expect(done).resolves.toBe('reported');
    run.manager.stop();
  });

  it('spreads the retries of servers that failed together (jitter), while each stays within its bound', async () => {
    const dueTimes = (jitter?: () => number) => {
      const run = fleet(10, { budget: RATE, ...(jitter ? { jitter } : {}) });
      run.add();
      return { run, due: () => run.keys.map((k) => run.manager.state(k, 'h').record!.dueAt) };
    };
    // Ten servers (within the burst) fail at the same instant, four times in a row.
    const plain = dueTimes();
    const jittered = dueTimes(seeded(11));
    for (const { run } of [plain, jittered]) await run.run(0);
    // Without jitter they would all come back at one instant; with it, apart.
    expect(new Set(plain.due()).size).toBe(1);
    expect(new Set(jittered.due()).size).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < 3; i++) for (const { run } of [plain, jittered]) await run.run(4000);
    const spread = jittered.due();
    expect(new Set(plain.due()).size).toBe(1);
    expect(new Set(spread).size).toBeGreaterThanOrEqual(8);
    expect(Math.max(...spread) - Math.min(...spread)).toBeGreaterThanOrEqual(200);
    for (const key of jittered.run.keys) for (const gap of gaps(jittered.run.starts, key)) expect(gap).toBeLessThanOrEqual(5000 + 100); // the run's 100 ms steps
    plain.run.manager.stop();
    jittered.run.manager.stop();
  });
});

describe('RetryBudget', () => {
  it('books at most `count` retries a period, spaces the ones it pushes, and counts them until their time comes', () => {
    const clock = new FakeClock(10_000);
    const budget = new RetryBudget({ count: 10, perMs: 1000, clock });
    const delays = Array.from({ length: 25 }, () => budget.delay(0));
    expect(delays.slice(0, 10)).toEqual(Array(10).fill({ delayMs: 0, budgeted: false }));
    expect(delays.slice(10).map((d) => d.delayMs)).toEqual([1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000, 2100, 2200, 2300, 2400]);
    expect(delays.slice(10).every((d) => d.budgeted)).toBe(true);
    expect(budget.waiting()).toBe(15);
    clock.advance(1500);
    expect(budget.waiting()).toBe(9);
    // A retry whose own backoff ends in a full period waits for the next with room, never less than its own.
    expect(budget.delay(100)).toEqual({ delayMs: 1000, budgeted: true }); // the period at 12 s has 5, then this
    expect(budget.delay(2000)).toEqual({ delayMs: 2000, budgeted: false }); // 13.5 s: a period with room
    clock.advance(1500);
    expect(budget.waiting()).toBe(0);
    // In a period of its own the budget is whole again.
    clock.advance(1000);
    expect(Array.from({ length: 10 }, () => budget.delay(0).budgeted)).toEqual(Array(10).fill(false));
  });
});
