// The pool yields to reconciles while reconcilesWaiting() answers a promise: only the latest wait may end
// the yield. A wait that already ended by its timeout (MAX_YIELD_MS) and resolves later must not end a
// newer wait early, nor may the newer wait's timer be left armed by the older one's resume.
import { OK } from '../support/discovery-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

function harness(failWaits = false) {
  const clock = new FakeClock(1_000_000);
  const started: string[] = [];
  const finishers = new Map<string, (o: DiscoveryOutcome) => void>();
  /** Each call of reconcilesWaiting opens a wait the test ends by hand. */
  const waits: (() => void)[] = [];
  const manager = new DiscoveryManager({
    clock,
    concurrency: 1,
    intervalMs: 60_000,
    enqueue: () => undefined,
    logger: silentLogger,
    reconcilesWaiting: () => new Promise<void>((resolve, reject) => waits.push(failWaits ? () => reject(new Error('the wait failed')) : resolve)),
  });
  const job = (key: string) => () =>
    new Promise<DiscoveryOutcome>((resolve) => {
      started.push(key);
      finishers.set(key, resolve);
    });
  const finish = async (key: string) => {
    finishers.get(key)!({ result: OK });
    await flushPromises();
  };
  return { clock, started, waits, manager, job, finish };
}

describe('DiscoveryManager: yielding to reconciles', () => {
  it('a wait that timed out and resolves later does not end the newer wait', async () => {
    const { clock, started, waits, manager, job, finish } = harness();
    manager.ensure('a', 'h', job('a'));
    manager.ensure('b', 'h', job('b'));
    manager.ensure('c', 'h', job('c'));
    await flushPromises();
    expect(waits).toHaveLength(1);
    clock.advance(1000); // the first wait times out: a starts
    await flushPromises();
    expect(started).toEqual(['a']);

    await finish('a'); // a free slot: the pool waits again
    expect(waits).toHaveLength(2);
    expect(started).toEqual(['a']);

    waits[0]!(); // the stale wait resolves
    await flushPromises();
    expect(started).toEqual(['a']);

    waits[1]!(); // the current one does
    await flushPromises();
    expect(started).toEqual(['a', 'b']);
  });

  it("the newer wait still ends by its own timeout, a full MAX_YIELD_MS after it began", async () => {
    const { clock, started, waits, manager, job, finish } = harness();
    manager.ensure('a', 'h', job('a'));
    manager.ensure('b', 'h', job('b'));
    await flushPromises();
    clock.advance(1000);
    await flushPromises();
    expect(started).toEqual(['a']);
    clock.advance(500);
    await finish('a'); // the second wait begins at +1500
    expect(waits).toHaveLength(2);
    waits[0]!();
    await flushPromises();
    clock.advance(999);
    await flushPromises();
    expect(started).toEqual(['a']);
    clock.advance(1);
    await flushPromises();
    expect(started).toEqual(['a', 'b']);
  });

  it('a wait that fails ends the yield as one that resolves, and leaves no rejection unhandled', async () => {
    const { started, waits, manager, job } = harness(true);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      manager.ensure('a', 'h', job('a'));
      await flushPromises();
      expect(waits).toHaveLength(1);
      waits[0]!();
      await flushPromises();
      expect(started).toEqual(['a']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
