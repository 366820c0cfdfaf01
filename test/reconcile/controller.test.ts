import { Controller, type ControllerOptions, type ReconcileOutcome } from '../../src/reconcile/controller.js';
import { TerminalError, type Reconciler } from '../../src/reconcile/reconcile.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves the n-th time `check` is asked and holds; the test awaits a condition, not a duration. */
class Signal {
  private waiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
  poke(): void {
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

function harness(
  options: Partial<Omit<ControllerOptions, 'queue' | 'clock'>> & { reconcile: Reconciler; baseDelayMs?: number },
) {
  const clock = new FakeClock(10_000);
  const queue = new WorkQueue({ clock, baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: 10_000 });
  const outcomes: ReconcileOutcome[] = [];
  const signal = new Signal();
  const { baseDelayMs: _unused, ...controllerOptions } = options;
  const controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => [],
    ...controllerOptions,
    queue,
    clock,
    onOutcome: (o) => {
      outcomes.push(o);
      signal.poke();
      options.onOutcome?.(o);
    },
  });
  const outcomesReach = (n: number) => signal.until(() => outcomes.length >= n);
  return { clock, queue, controller, outcomes, outcomesReach };
}

/** A reconcile whose every call blocks until the test releases it. */
function controlledReconcile() {
  const starts: Array<{ key: string; release: () => void }> = [];
  const running = new Set<string>();
  const overlaps: string[] = [];
  let maxParallel = 0;
  const signal = new Signal();
  const reconcile: Reconciler = async (key) => {
    if (running.has(key)) overlaps.push(key);
    running.add(key);
    maxParallel = Math.max(maxParallel, running.size);
    const gate = deferred();
    starts.push({ key, release: gate.resolve });
    signal.poke();
    await gate.promise;
    running.delete(key);
  };
  return {
    reconcile,
    starts,
    running,
    overlaps,
    maxParallel: () => maxParallel,
    startsReach: (n: number) => signal.until(() => starts.length >= n),
  };
}

describe('Controller', () => {
  let controller: Controller | undefined;
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
  });

  it('reconciles every enqueued key once and reports success with duration and queue wait', async () => {
    const calls: string[] = [];
    const h = harness({
      listKeys: () => ['a', 'b'],
      reconcile: async (key) => {
        calls.push(key);
        h.clock.advance(25);
      },
    });
    controller = h.controller;
    await controller.enqueueAll();
    h.clock.advance(40); // keys wait before any worker runs
    controller.start();
    await h.outcomesReach(2);
    await controller.waitForIdle();
    expect(calls).toEqual(['a', 'b']);
    expect(h.outcomes.map(({ key, result, durationMs }) => ({ key, result, durationMs }))).toEqual([
      { key: 'a', result: 'success', durationMs: 25 },
      { key: 'b', result: 'success', durationMs: 25 },
    ]);
    expect(h.outcomes[0]?.waitedMs).toBe(40);
    expect(h.outcomes[1]?.waitedMs).toBe(65); // waited for a's run too (one worker)
    expect(h.clock.pendingTimers()).toEqual([]);
  });

  it('runs a key again after requeueAfterMs, not before', async () => {
    const callTimes: number[] = [];
    const h = harness({
      reconcile: async () => {
        callTimes.push(h.clock.now());
        return callTimes.length === 1 ? { requeueAfterMs: 500 } : undefined;
      },
    });
    controller = h.controller;
    controller.start();
    h.queue.add('a');
    await h.outcomesReach(1);
    expect(h.outcomes[0]).toMatchObject({ key: 'a', result: 'requeue', retryInMs: 500 });
    h.clock.advance(499);
    await controller.waitForIdle();
    expect(callTimes).toEqual([10_000]);
    h.clock.advance(1);
    await h.outcomesReach(2);
    expect(callTimes).toEqual([10_000, 10_500]);
    expect(h.outcomes[1]?.result).toBe('success');
    expect(h.clock.pendingTimers()).toEqual([]);
  });

  it('retries an ordinary error with growing backoff and resets it after a success', async () => {
    const callTimes: number[] = [];
    const h = harness({
      reconcile: async () => {
        callTimes.push(h.clock.now() - 10_000);
        if (callTimes.length <= 4) throw new Error('gateway unreachable');
      },
    });
    controller = h.controller;
    controller.start();
    h.queue.add('a');
    await h.outcomesReach(1);
    for (const [i, delay] of [100, 200, 400, 800].entries()) {
      await controller.waitForIdle(); // a key in backoff does not hold up idleness
      h.clock.advance(delay - 1);
      await controller.waitForIdle();
      expect(callTimes).toHaveLength(i + 1);
      h.clock.advance(1);
      await h.outcomesReach(i + 2);
    }
    expect(callTimes).toEqual([0, 100, 300, 700, 1_500]);
    expect(h.outcomes.map((o) => [o.result, o.retryInMs])).toEqual([
      ['error', 100],
      ['error', 200],
      ['error', 400],
      ['error', 800],
      ['success', undefined],
    ]);
    expect(h.outcomes[0]?.error?.message).toBe('gateway unreachable');
    expect(h.queue.failures('a')).toBe(0);
    expect(h.clock.pendingTimers()).toEqual([]);
  });

  it('does not retry a TerminalError, and forgets earlier failures', async () => {
    let calls = 0;
    const h = harness({
      reconcile: async () => {
        calls++;
        if (calls === 1) throw new Error('transient');
        throw new TerminalError('spec.url is not a URL', 'InvalidSpec');
      },
    });
    controller = h.controller;
    controller.start();
    h.queue.add('a');
    await h.outcomesReach(1);
    h.clock.advance(100);
    await h.outcomesReach(2);
    expect(h.outcomes[1]).toMatchObject({ key: 'a', result: 'terminal' });
    expect(h.outcomes[1]?.error).toBeInstanceOf(TerminalError);
    expect(h.queue.failures('a')).toBe(0);
    expect(h.clock.pendingTimers()).toEqual([]);
    h.clock.advance(1_000_000);
    await controller.waitForIdle();
    expect(calls).toBe(2);
    h.queue.add('a'); // e.g. the spec changed
    await h.outcomesReach(3);
    expect(calls).toBe(3);
  });

  it('keeps working when one key keeps throwing (even a non-Error) or onOutcome throws', async () => {
    const calls: string[] = [];
    const h = harness({
      workers: 1,
      reconcile: async (key) => {
        calls.push(key);
        if (key === 'bad') throw 'not an Error object';
      },
      onOutcome: () => {
        throw new Error('metrics broke');
      },
    });
    controller = h.controller;
    controller.start();
    h.queue.add('bad');
    h.queue.add('good');
    await h.outcomesReach(2);
    expect(calls).toEqual(['bad', 'good']);
    expect(h.outcomes[0]?.error).toBeInstanceOf(Error);
    expect(h.outcomes[0]?.error?.message).toBe('not an Error object');
    h.clock.advance(100); // bad's retry, on the same single worker
    h.queue.add('good');
    await h.outcomesReach(4);
    expect(calls).toEqual(['bad', 'good', 'bad', 'good']);
  });

  it('never runs one key twice at once, runs different keys in parallel, and collapses adds into one run', async () => {
    const r = controlledReconcile();
    const h = harness({ workers: 2, reconcile: r.reconcile });
    controller = h.controller;
    controller.start();

    h.queue.add('a');
    await r.startsReach(1);
    h.queue.add('a'); // the second worker is free, yet must not take 'a'
    h.queue.add('a');
    h.queue.add('a');
    await flushPromises();
    expect(r.starts.map((s) => s.key)).toEqual(['a']);

    h.queue.add('b');
    await r.startsReach(2);
    expect([...r.running].sort()).toEqual(['a', 'b']);

    r.starts[0]?.release();
    await r.startsReach(3);
    expect(r.starts[2]?.key).toBe('a');

    r.starts[1]?.release();
    r.starts[2]?.release();
    await h.outcomesReach(3);
    await controller.waitForIdle();
    expect(r.starts.map((s) => s.key)).toEqual(['a', 'b', 'a']);
    expect(r.overlaps).toEqual([]);
    expect(r.maxParallel()).toBe(2);
  });

  it('resync re-adds listKeys() through the queue every interval', async () => {
    let listed = 0;
    const calls: string[] = [];
    const h = harness({
      resyncIntervalMs: 1_000,
      listKeys: () => {
        listed++;
        if (listed === 2) throw new Error('store busy');
        return ['a', 'b'];
      },
      reconcile: async (key) => {
        calls.push(key);
      },
    });
    controller = h.controller;
    controller.start();
    h.clock.advance(999);
    await flushPromises();
    expect(listed).toBe(0);
    expect(calls).toEqual([]);
    h.clock.advance(1);
    await h.outcomesReach(2);
    expect(listed).toBe(1);
    expect(calls).toEqual(['a', 'b']);
    h.clock.advance(1_000); // listKeys throws: logged, and resync carries on
    await flushPromises();
    expect(listed).toBe(2);
    h.clock.advance(1_000);
    await h.outcomesReach(4);
    expect(listed).toBe(3);
    expect(calls).toEqual(['a', 'b', 'a', 'b']);
  });

  it('resync does not start a second run of a key that is running', async () => {
    const r = controlledReconcile();
    const h = harness({ workers: 2, resyncIntervalMs: 1_000, listKeys: () => ['a'], reconcile: r.reconcile });
    controller = h.controller;
    controller.start();
    await controller.enqueueAll();
    await r.startsReach(1);
    h.clock.advance(1_000);
    h.clock.advance(1_000);
    await flushPromises();
    expect(r.starts).toHaveLength(1);
    r.starts[0]?.release();
    await r.startsReach(2);
    r.starts[1]?.release();
    await h.outcomesReach(2);
    await controller.waitForIdle();
    expect(r.starts).toHaveLength(2);
    expect(r.overlaps).toEqual([]);
  });

  it('stop() waits for in-flight reconciles, then runs nothing more', async () => {
    const r = controlledReconcile();
    const h = harness({ workers: 2, resyncIntervalMs: 1_000, listKeys: () => ['a', 'b'], reconcile: r.reconcile });
    controller = h.controller;
    controller.start();
    h.queue.add('a');
    await r.startsReach(1);

    let stopped = false;
    const stopping = controller.stop().then(() => {
      stopped = true;
    });
    await flushPromises();
    expect(stopped).toBe(false);
    expect(h.clock.pendingTimers()).toEqual([]); // resync cancelled
    h.queue.add('b');
    h.queue.add('a');

    r.starts[0]?.release();
    await stopping;
    expect(h.outcomes.map((o) => o.key)).toEqual(['a']); // finished before stop() resolved
    expect(r.running.size).toBe(0);
    await flushPromises();
    expect(r.starts).toHaveLength(1);
  });

  it('rejects enqueueAll() when listKeys fails, and a worker count below 1', async () => {
    const h = harness({
      listKeys: async () => {
        throw new Error('store closed');
      },
      reconcile: async () => {},
    });
    await expect(h.controller.enqueueAll()).rejects.toThrow('store closed');
    expect(
      () =>
        new Controller({
          name: 'x',
          workers: 0,
          resyncIntervalMs: 0,
          listKeys: () => [],
          reconcile: async () => {},
          queue: h.queue,
          clock: h.clock,
        }),
    ).toThrow(RangeError);
  });

  it('reconciles the keys ready in one turn as one batch, and retries a batch that fails to commit', async () => {
    const batches: string[][] = [];
    let current: string[] | undefined;
    let failNext = true;
    const h = harness({
      reconcile: async (key) => {
        current!.push(key);
      },
      batch: async (run) => {
        current = [];
        await run();
        batches.push(current);
        current = undefined;
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
      },
    });
    controller = h.controller;
    controller.start();
    for (const key of ['a', 'b', 'c']) h.queue.add(key);
    await h.outcomesReach(3);
    expect(batches).toEqual([['a', 'b', 'c']]);
    // The failed commit put every key of the batch back with backoff; they run again, in one batch.
    h.clock.advance(100);
    await h.outcomesReach(6);
    await controller.waitForIdle();
    expect(batches).toEqual([['a', 'b', 'c'], ['a', 'b', 'c']]);
  });
});
