import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { backoffDelay } from '../../src/reconcile/backoff.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

/** Track a promise's settlement without awaiting it, so a test can assert it has NOT resolved yet. */
function track<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

function newQueue(options: { baseDelayMs?: number; maxDelayMs?: number; jitter?: () => number } = {}) {
  const clock = new FakeClock(1_000);
  return { clock, queue: new WorkQueue({ clock, ...options }) };
}

describe('FakeClock', () => {
  it('fires due timers in due order, with now() at each due time, and nothing early', () => {
    const clock = new FakeClock(0);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 15);
    clock.clearTimeout(cancelled);
    clock.advance(9);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([1, 11]);
    clock.advance(11);
    expect(fired).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    expect(clock.now()).toBe(20);
    expect(clock.pendingTimers()).toEqual([]);
  });
});

describe('WorkQueue', () => {
  it('holds a key that is added three times once', async () => {
    const { queue } = newQueue();
    queue.add('x');
    queue.add('x');
    queue.add('x');
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('x');
    const second = track(queue.get());
    await flushPromises();
    expect(second.settled).toBe(false);
    expect(queue.len()).toBe(0);
  });

  it('hands keys out in FIFO order', async () => {
    const { queue } = newQueue();
    for (const key of ['c', 'a', 'b', 'a']) queue.add(key);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(['c', 'a', 'b']);
  });

  it('wakes waiting getters in order, one key each', async () => {
    const { queue } = newQueue();
    const first = queue.get();
    const second = queue.get();
    queue.add('a');
    queue.add('b');
    expect([await first, await second]).toEqual(['a', 'b']);
    expect(queue.processingCount()).toBe(2);
  });

  it('never hands out a key that is being processed', async () => {
    const { queue } = newQueue();
    queue.add('x');
    expect(await queue.get()).toBe('x');
    queue.add('x');
    expect(queue.len()).toBe(0);
    const next = track(queue.get());
    await flushPromises();
    expect(next.settled).toBe(false);
    queue.done('x');
    await flushPromises();
    expect(next.value).toBe('x');
  });

  it('collapses adds during processing into exactly one more run', async () => {
    const { queue } = newQueue();
    queue.add('x');
    await queue.get();
    queue.add('x');
    queue.add('x');
    queue.add('x');
    queue.done('x');
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('x');
    queue.done('x');
    expect(queue.len()).toBe(0);
    expect(queue.processingCount()).toBe(0);
    const third = track(queue.get());
    await flushPromises();
    expect(third.settled).toBe(false);
  });

  it('does not re-queue a key on done() when nothing added it', async () => {
    const { queue } = newQueue();
    queue.add('x');
    await queue.get();
    queue.done('x');
    expect(queue.len()).toBe(0);
    expect(queue.isIdle()).toBe(true);
  });

  it('reports how long a key waited, counting adds made while it was processing', async () => {
    const { clock, queue } = newQueue();
    queue.add('x');
    clock.advance(30);
    expect(await queue.getWithWait()).toEqual({ key: 'x', waitedMs: 30 });
    clock.advance(10);
    queue.add('x'); // while processing
    clock.advance(50);
    queue.done('x');
    clock.advance(5);
    expect(await queue.getWithWait()).toEqual({ key: 'x', waitedMs: 55 });
  });

  it('adds a delayed key only once the clock reaches its time', () => {
    const { clock, queue } = newQueue();
    queue.addAfter('x', 50);
    expect(queue.len()).toBe(0);
    expect(queue.delayedCount()).toBe(1);
    clock.advance(49);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(queue.delayedCount()).toBe(0);
  });

  it.each([
    ['later then earlier', 500, 100],
    ['earlier then later', 100, 500],
  ])('keeps the earlier of two delayed adds (%s)', (_label, firstMs, secondMs) => {
    const { clock, queue } = newQueue();
    queue.addAfter('x', firstMs);
    queue.addAfter('x', secondMs);
    expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([100]);
    clock.advance(99);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(clock.pendingTimers()).toEqual([]);
  });

  it('adds at once when the delay is not positive', () => {
    const { queue } = newQueue();
    queue.addAfter('x', 0);
    expect(queue.len()).toBe(1);
  });

  it('backs off 100, 200, 400, ... per key, capped at the max, and forget() resets it', async () => {
    const { clock, queue } = newQueue({ baseDelayMs: 100, maxDelayMs: 1_000 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const delay = queue.addRateLimited('x');
      delays.push(delay);
      expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([delay]);
      clock.advance(delay - 1);
      expect(queue.len()).toBe(0);
      clock.advance(1);
      expect(await queue.get()).toBe('x');
      queue.done('x');
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(queue.failures('x')).toBe(6);
    expect(queue.failures('y')).toBe(0);
    expect(queue.addRateLimited('y')).toBe(100); // per key
    queue.forget('x');
    expect(queue.failures('x')).toBe(0);
    expect(queue.addRateLimited('x')).toBe(100);
  });

  it('uses the defaults 100 ms and 5 minutes', () => {
    const { queue } = newQueue();
    expect(queue.addRateLimited('x')).toBe(100);
    for (let i = 0; i < 30; i++) queue.addRateLimited('x');
    expect(queue.addRateLimited('x')).toBe(300_000);
  });

  it('applies injected jitter by shortening the delay, never beyond the cap', () => {
    const { queue } = newQueue({ baseDelayMs: 100, maxDelayMs: 1_000, jitter: () => 0.5 });
    expect(queue.addRateLimited('x')).toBe(95);
    for (let i = 0; i < 10; i++) queue.addRateLimited('x');
    expect(queue.addRateLimited('x')).toBe(950);
  });

  it('on shutdown resolves waiting getters with undefined, cancels delayed adds and ignores adds', async () => {
    const { clock, queue } = newQueue();
    const waiting = queue.get();
    queue.addAfter('later', 100);
    queue.shutdown();
    expect(await waiting).toBeUndefined();
    expect(clock.pendingTimers()).toEqual([]);
    queue.add('x');
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(queue.isShuttingDown()).toBe(true);
  });

  it('whenIdle() resolves only once nothing is ready or processing, ignoring delayed adds', async () => {
    const { queue } = newQueue();
    queue.addAfter('later', 10_000);
    await queue.whenIdle(); // delayed only: idle now
    queue.add('x');
    const idle = track(queue.whenIdle());
    await flushPromises();
    expect(idle.settled).toBe(false);
    await queue.get();
    const idleWhileProcessing = track(queue.whenIdle());
    await flushPromises();
    expect(idle.settled).toBe(false);
    expect(idleWhileProcessing.settled).toBe(false);
    expect(queue.isIdle()).toBe(false);
    queue.done('x');
    await flushPromises();
    expect(idle.settled).toBe(true);
    expect(idleWhileProcessing.settled).toBe(true);
  });

  it('rejects a base delay above the max', () => {
    expect(() => new WorkQueue({ clock: new FakeClock(), baseDelayMs: 500, maxDelayMs: 100 })).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  it.each([
    [0, 100],
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1_000],
    [5_000, 1_000],
  ])('after %i failures waits %i ms', (failures, expected) => {
    expect(backoffDelay(failures, { baseDelayMs: 100, maxDelayMs: 1_000 })).toBe(expected);
  });
});
