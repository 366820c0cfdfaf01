// The manager's own rediscovery runs only the job the latest reconcile asked for: a reconcile that asks
// for other inputs or a newer generation while a rediscovery runs is not lost, a reconcile that asks for
// no discovery (settle) stops the reruns, and an interval longer than a timer can wait is honoured.
// Unit tests: the DiscoveryManager on a fake clock.
import type { DiscoveryResult } from '../../src/discovery/index.js';
import type { TimerHandle } from '../../src/domain/clock.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const KEY = 'default:mcp-server:a';

function ok(tools: string[]): DiscoveryResult {
  return {
    ok: true,
    transport: 'streamable-http',
    serverInfo: { name: 's', version: '1' },
    capabilities: { tools: {} },
    tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })),
    authStatus: { status: 'authentication_not_required', method: null, message: '' },
  };
}

/** Node's setTimeout: a delay above 2^31 - 1 ms fires after 1 ms. */
class NodeLikeClock extends FakeClock {
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    return super.setTimeout(fn, ms > 2 ** 31 - 1 ? 1 : ms);
  }
}

/** A job that counts its runs; while `hold` is set, a run waits for release(). */
function job(tools: string[]) {
  let runs = 0;
  let hold = false;
  let release: (() => void) | undefined;
  const run = async (): Promise<DiscoveryOutcome> => {
    runs++;
    if (hold) await new Promise<void>((r) => (release = r));
    return { result: ok(tools) };
  };
  return {
    run,
    runs: () => runs,
    hold: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

function setup(intervalMs = 60_000, clock: FakeClock = new FakeClock(1_700_000_000_000)) {
  const enqueued: string[] = [];
  const manager = new DiscoveryManager({ clock, concurrency: 4, intervalMs, enqueue: (k) => enqueued.push(k), logger: silentLogger });
  /** The reconciler's converge: ensure with the current inputs, then report the record of those inputs if any. */
  const reconcile = (inputsHash: string, run: () => Promise<DiscoveryOutcome>, generation: number) => {
    const { record } = manager.state(KEY, inputsHash);
    manager.ensure(KEY, inputsHash, run, generation);
    if (record) manager.reported(KEY, record);
  };
  /** Fires the pending timers one by one, up to `n` of them. */
  const fireTimers = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = clock.pendingTimers()[0];
      if (!t) break;
      clock.advance(Math.max(0, t.at - clock.now()));
      await flushPromises();
    }
  };
  return { clock, manager, enqueued, reconcile, fireTimers };
}

/** Settles KEY on `old` (inputs 'old', generation 1), then starts the manager's own rediscovery of it and holds it. */
async function rediscoveryRunning(s: ReturnType<typeof setup>, old: ReturnType<typeof job>) {
  s.reconcile('old', old.run, 1);
  await flushPromises();
  s.reconcile('old', old.run, 1);
  old.hold();
  s.clock.advance(s.manager.state(KEY, 'old').record!.dueAt - s.clock.now());
  await flushPromises();
  expect(s.manager.activity(KEY).phase).toBe('running');
  expect(old.runs()).toBe(2);
}

describe('DiscoveryManager: the rerun is the latest reconcile\'s job', () => {
  test('new inputs asked for while a rediscovery of the old ones runs are discovered next', async () => {
    const s = setup();
    const old = job(['a']);
    const neu = job(['b']);
    await rediscoveryRunning(s, old);
    const before = s.enqueued.length;
    // The spec changed (a new URL): the reconcile asks for a discovery of the new inputs while the old one runs.
    s.reconcile('new', neu.run, 2);
    expect(s.manager.state(KEY, 'new').record).toBeUndefined();
    old.release();
    await flushPromises();
    // The old job's result is reconciled (not taken for "the same"), and that reconcile starts the new job.
    expect(s.enqueued.length).toBe(before + 1);
    s.reconcile('new', neu.run, 2);
    await flushPromises();
    expect(neu.runs()).toBe(1);
    const record = s.manager.state(KEY, 'new').record!;
    expect(record.outcome.result).toMatchObject({ ok: true, tools: [{ name: 'b' }] });
    s.reconcile('new', neu.run, 2);
    // From now on only the new job is rerun.
    await s.fireTimers(5);
    expect(old.runs()).toBe(2);
    expect(neu.runs()).toBeGreaterThanOrEqual(5);
  });

  test('a newer generation of the same inputs asked for while a rediscovery runs is discovered next', async () => {
    const s = setup();
    const old = job(['a']);
    await rediscoveryRunning(s, old);
    const before = s.enqueued.length;
    s.reconcile('old', old.run, 2);
    old.release();
    await flushPromises();
    expect(s.enqueued.length).toBe(before + 1);
    // The record says generation 1: the reconcile finds generation 2 due and starts its discovery.
    s.reconcile('old', old.run, 2);
    await flushPromises();
    expect(old.runs()).toBe(3);
    expect(s.manager.state(KEY, 'old').record!.generation).toBe(2);
  });

  test('settle cancels the rerun and drops the kept job; the next reconcile that discovers arms it again', async () => {
    const s = setup();
    const old = job(['a']);
    s.reconcile('old', old.run, 1);
    await flushPromises();
    s.reconcile('old', old.run, 1);
    expect(s.clock.pendingTimers()).toHaveLength(1);
    // The reconcile failed before it could discover (a secret is gone) or the kind has nothing to discover.
    s.manager.settle(KEY);
    expect(s.clock.pendingTimers()).toHaveLength(0);
    s.clock.advance(10 * 60_000);
    await flushPromises();
    expect(old.runs()).toBe(1);
    // The reconcile succeeds again: it asks for the discovery (due by now) with its current job.
    const current = job(['a']);
    s.reconcile('old', current.run, 1);
    await flushPromises();
    expect(current.runs()).toBe(1);
    s.reconcile('old', current.run, 1);
    await s.fireTimers(3);
    expect(current.runs()).toBe(4);
    expect(old.runs()).toBe(1);
  });

  test('a rediscovery still running when the reconcile settles is reconciled, never rerun', async () => {
    const s = setup();
    const old = job(['a']);
    await rediscoveryRunning(s, old);
    s.manager.settle(KEY);
    const before = s.enqueued.length;
    old.release();
    await flushPromises();
    expect(s.enqueued.length).toBe(before + 1);
    expect(s.clock.pendingTimers()).toHaveLength(0);
    // That reconcile settles again (still nothing to discover): no rerun ever comes.
    s.manager.settle(KEY);
    s.clock.advance(10 * 60_000);
    await flushPromises();
    expect(old.runs()).toBe(2);
  });

  test('settle drops a queued job that has not started', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const manager = new DiscoveryManager({ clock, concurrency: 1, intervalMs: 60_000, enqueue: () => undefined, logger: silentLogger });
    const first = job(['a']);
    const queued = job(['b']);
    first.hold();
    manager.ensure('default:mcp-server:first', 'h', first.run, 1);
    manager.ensure(KEY, 'h', queued.run, 1);
    expect(manager.activity(KEY).phase).toBe('queued');
    manager.settle(KEY);
    first.release();
    await flushPromises();
    expect(queued.runs()).toBe(0);
    expect(manager.activity(KEY).phase).toBe('idle');
  });
});

describe('DiscoveryManager: an interval longer than a timer can wait', () => {
  test('a 60-day interval rediscovers once per interval, not every millisecond', async () => {
    const day = 24 * 3600_000;
    const s = setup(60 * day, new NodeLikeClock(1_700_000_000_000));
    const j = job(['a']);
    s.reconcile('h', j.run, 1);
    await flushPromises();
    s.reconcile('h', j.run, 1);
    const dueAt = s.manager.state(KEY, 'h').record!.dueAt;
    expect(dueAt - s.clock.now()).toBeGreaterThan(30 * day);
    // Every timer waits at most 2^31 - 1 ms; none starts a discovery before the record is due.
    for (let i = 0; i < 100 && s.clock.now() < dueAt - 1; i++) {
      const t = s.clock.pendingTimers()[0]!;
      expect(t.inMs).toBeGreaterThan(1);
      s.clock.advance(Math.min(t.inMs, dueAt - 1 - s.clock.now()));
      await flushPromises();
    }
    expect(j.runs()).toBe(1);
    s.clock.advance(1);
    await flushPromises();
    expect(j.runs()).toBe(2);
  });
});
