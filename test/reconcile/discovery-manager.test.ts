import type { DiscoveryResult } from '../../src/discovery/index.js';
import { OK } from '../support/discovery-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, nextSlot, type DiscoveryOutcome, type DiscoveryManagerOptions } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const FAIL: DiscoveryResult = {
  ok: false,
  reason: 'Unreachable',
  message: 'down',
  authStatus: { status: 'unknown', method: null, message: '' },
};

/** Jobs the test finishes by hand, in any order. */
class Jobs {
  readonly started: { key: string; finish: (outcome: DiscoveryOutcome) => void; fail: (error: Error) => void }[] = [];
  job(key: string) {
    return () =>
      new Promise<DiscoveryOutcome>((resolve, reject) => {
        this.started.push({ key, finish: resolve, fail: reject });
      });
  }
  keys(): string[] {
    return this.started.map((s) => s.key);
  }
  /** Finishes the oldest running job of key and lets the manager record it. */
  async finish(key: string, outcome: DiscoveryOutcome = { result: OK }): Promise<void> {
    const i = this.started.findIndex((s) => s.key === key);
    if (i < 0) throw new Error(`no running job for ${key}`);
    const [job] = this.started.splice(i, 1);
    job!.finish(outcome);
    await flushPromises();
  }
}

function harness(options: Partial<DiscoveryManagerOptions> = {}) {
  const clock = new FakeClock(1_000_000);
  const enqueued: string[] = [];
  const jobs = new Jobs();
  const manager = new DiscoveryManager({
    clock,
    concurrency: 2,
    intervalMs: 60_000,
    retryBaseMs: 1000,
    retryMaxMs: 8000,
    enqueue: (key) => enqueued.push(key),
    logger: silentLogger,
    ...options,
  });
  return { clock, enqueued, jobs, manager };
}

describe('DiscoveryManager', () => {
  it('runs at most `concurrency` jobs, starts queued ones in order as slots free, and enqueues each finished key', async () => {
    const { manager, jobs, enqueued } = harness({ concurrency: 2 });
    for (const key of ['a', 'b', 'c', 'd']) manager.ensure(key, 'h', jobs.job(key));
    expect(jobs.keys()).toEqual(['a', 'b']);
    expect(manager.state('c', 'h')).toEqual({ record: undefined, running: true });
    expect(manager.activity('d')).toEqual({ phase: 'queued', ahead: 3 });

    await jobs.finish('b');
    expect(jobs.keys()).toEqual(['a', 'c']);
    expect(enqueued).toEqual(['b']);
    await jobs.finish('a');
    await jobs.finish('c');
    expect(jobs.keys()).toEqual(['d']);
    await jobs.finish('d');
    expect(enqueued).toEqual(['b', 'a', 'c', 'd']);
    expect(manager.activity('d')).toEqual({ phase: 'idle' });
  });

  it('never runs two jobs of one key at once, and replaces a queued job with one for newer inputs', async () => {
    const { manager, jobs } = harness({ concurrency: 1 });
    manager.ensure('busy', 'h', jobs.job('busy'));
    manager.ensure('busy', 'h2', jobs.job('busy'));
    expect(jobs.keys()).toEqual(['busy']);

    const calls: string[] = [];
    manager.ensure('queued', 'old', async () => (calls.push('old'), { result: OK }));
    manager.ensure('queued', 'new', async () => (calls.push('new'), { result: OK }));
    await jobs.finish('busy');
    expect(calls).toEqual(['new']);
    expect(manager.state('queued', 'new').record?.inputsHash).toBe('new');
  });

  it('is due again after the interval on success, and at once for other inputs or a newer generation', async () => {
    const { manager, jobs, clock } = harness();
    manager.ensure('k', 'h', jobs.job('k'), 1);
    clock.advance(250);
    await jobs.finish('k');
    const record = manager.state('k', 'h').record!;
    expect(record).toMatchObject({ failures: 0, finishedAt: 1_000_250, generation: 1 });
    // Due at the key's slot, 0.5–1.5 intervals away (discovery-rediscovery-spread.test.ts).
    expect(record.dueAt).toBeGreaterThan(1_000_250 + 30_000);
    expect(record.dueAt).toBeLessThanOrEqual(1_000_250 + 90_000);
    expect(manager.isDue('k', 'h', 1)).toBe(false);
    expect(manager.isDue('k', 'other', 1)).toBe(true);
    expect(manager.isDue('k', 'h', 2)).toBe(true);
    expect(manager.state('k', 'other').record).toBeUndefined();

    // Not due: ensure starts nothing.
    manager.ensure('k', 'h', jobs.job('k'), 1);
    expect(jobs.keys()).toEqual([]);
    clock.advance(record.dueAt - 1 - clock.now());
    expect(manager.isDue('k', 'h', 1)).toBe(false);
    clock.advance(1);
    expect(manager.isDue('k', 'h', 1)).toBe(true);
    manager.ensure('k', 'h', jobs.job('k'), 1);
    expect(jobs.keys()).toEqual(['k']);
  });

  it('backs off exponentially up to the maximum, and resets on success or changed inputs', async () => {
    const { manager, jobs, clock } = harness({ retryBaseMs: 1000, retryMaxMs: 5000 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      manager.ensure('k', 'h', jobs.job('k'));
      await jobs.finish('k', { result: FAIL });
      const r = manager.state('k', 'h').record!;
      delays.push(r.dueAt - r.finishedAt);
      expect(r.failures).toBe(i + 1);
      clock.advance(r.dueAt - clock.now());
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);

    // Other inputs start over.
    manager.ensure('k', 'h2', jobs.job('k'));
    await jobs.finish('k', { result: FAIL });
    expect(manager.state('k', 'h2').record).toMatchObject({ failures: 1 });
    expect(manager.state('k', 'h2').record!.dueAt - clock.now()).toBe(1000);

    // A success resets the count, and the next failure waits the base delay again.
    clock.advance(1000);
    manager.ensure('k', 'h2', jobs.job('k'));
    await jobs.finish('k', { result: OK });
    expect(manager.state('k', 'h2').record).toMatchObject({ failures: 0 });
    clock.advance(60_000);
    manager.ensure('k', 'h2', jobs.job('k'));
    await jobs.finish('k', { result: FAIL });
    expect(manager.state('k', 'h2').record).toMatchObject({ failures: 1 });
    expect(manager.state('k', 'h2').record!.dueAt - clock.now()).toBe(1000);
  });

  it.each([
    ['a token that outlives the interval', 3_600_000, 300_000],
    ['a token expiring within the interval: renewed a minute early', 200_000, 140_000],
    ['a short-lived token: renewed at half its lifetime', 60_000, 30_000],
  ])('is due before its bearer token expires: %s', async (_what, lifetimeMs, dueInMs) => {
    const { manager, jobs, clock } = harness({ intervalMs: 300_000 });
    // Finish at the key's slot, so its next slot is a whole interval away.
    clock.advance(nextSlot('k', clock.now(), 300_000) - clock.now());
    manager.ensure('k', 'h', jobs.job('k'));
    await jobs.finish('k', { result: OK, bearer: { token: 't', expiresAt: clock.now() + lifetimeMs } });
    expect(manager.state('k', 'h').record!.dueAt - clock.now()).toBe(dueInMs);
  });

  it('records a job that throws as a ProtocolError and keeps going', async () => {
    const { manager, jobs, enqueued } = harness();
    manager.ensure('k', 'h', jobs.job('k'));
    jobs.started.splice(0, 1)[0]!.fail(new Error('bug'));
    await flushPromises();
    expect(manager.state('k', 'h').record?.outcome.result).toMatchObject({ ok: false, reason: 'ProtocolError' });
    expect(enqueued).toEqual(['k']);
  });

  describe('refresh', () => {
    it('forces a discovery, enqueues the key, and ends only when status was written from a job started after it', async () => {
      const { manager, jobs, enqueued } = harness();
      manager.ensure('k', 'h', jobs.job('k'));
      const ended: string[] = [];
      // A job is running when the refresh comes: its result is older than the request.
      void manager.refresh('k').then((end) => ended.push(end));
      expect(enqueued).toEqual(['k']);
      await jobs.finish('k');
      const older = manager.state('k', 'h').record!;
      manager.reported('k', older);
      await flushPromises();
      expect(ended).toEqual([]);

      // Not due by the interval, but forced.
      expect(manager.isDue('k', 'h')).toBe(true);
      manager.ensure('k', 'h', jobs.job('k'));
      expect(jobs.keys()).toEqual(['k']);
      expect(manager.isDue('k', 'h')).toBe(false);
      await jobs.finish('k');
      const fresh = manager.state('k', 'h').record!;
      expect(fresh.seq).toBeGreaterThan(older.seq);
      manager.reported('k', fresh);
      await flushPromises();
      expect(ended).toEqual(['reported']);
    });

    it('counts a queued job that starts after the refresh', async () => {
      const { manager, jobs } = harness({ concurrency: 1 });
      manager.ensure('blocker', 'h', jobs.job('blocker'));
      manager.ensure('k', 'h', jobs.job('k'));
      const end = manager.refresh('k');
      manager.ensure('k', 'h', jobs.job('k'));
      await jobs.finish('blocker');
      await jobs.finish('k');
      manager.reported('k', manager.state('k', 'h').record!);
      await expect(end).resolves.toBe('reported');
    });

    it('ends with settle (nothing to discover), forget (gone), stop, or the caller aborting', async () => {
      const { manager } = harness();
      const settled = manager.refresh('a');
      manager.settle('a');
      await expect(settled).resolves.toBe('reported');
      expect(manager.isDue('a', 'h')).toBe(true); // no record at all

      const gone = manager.refresh('b');
      manager.forget('b');
      await expect(gone).resolves.toBe('gone');

      const controller = new AbortController();
      const aborted = manager.refresh('c', controller.signal);
      const other = manager.refresh('c');
      controller.abort();
      await expect(aborted).resolves.toBe('aborted');
      // Only the aborted waiter went away.
      manager.settle('c');
      await expect(other).resolves.toBe('reported');

      const stopped = manager.refresh('d');
      manager.stop();
      await expect(stopped).resolves.toBe('stopped');
      await expect(manager.refresh('e')).resolves.toBe('stopped');
    });
  });

  it('forget drops the record and a queued job; stop starts nothing new', async () => {
    const { manager, jobs } = harness({ concurrency: 1 });
    manager.ensure('a', 'h', jobs.job('a'));
    await jobs.finish('a');
    manager.ensure('blocker', 'h', jobs.job('blocker'));
    manager.ensure('q', 'h', jobs.job('q'));
    manager.forget('a');
    manager.forget('q');
    expect(manager.state('a', 'h')).toEqual({ record: undefined, running: false });
    expect(manager.state('q', 'h').running).toBe(false);
    await jobs.finish('blocker');
    expect(jobs.keys()).toEqual([]);

    manager.stop();
    manager.ensure('z', 'h', jobs.job('z'));
    expect(jobs.keys()).toEqual([]);
  });

  it('reports how long a job has been running', async () => {
    const { manager, jobs, clock } = harness();
    manager.ensure('k', 'h', jobs.job('k'));
    clock.advance(1234);
    expect(manager.activity('k')).toEqual({ phase: 'running', forMs: 1234 });
    await jobs.finish('k');
  });

  it('starts no job while reconciles are waiting, and resumes when they are done', async () => {
    let reconcilesDone!: () => void;
    let waiting: Promise<void> | undefined = new Promise<void>((r) => (reconcilesDone = r));
    const { jobs, manager } = harness({ reconcilesWaiting: () => waiting });
    manager.ensure('a', 'h1', jobs.job('a'));
    manager.ensure('b', 'h1', jobs.job('b'));
    await flushPromises();
    expect(jobs.keys()).toEqual([]);
    expect(manager.activity('a')).toEqual({ phase: 'queued', ahead: 0 });

    waiting = undefined;
    reconcilesDone();
    await flushPromises();
    expect(jobs.keys()).toEqual(['a', 'b']);
  });

  it('is not starved by reconciles that never stop: after a second of waiting it fills its free slots', async () => {
    const { clock, jobs, manager } = harness({ reconcilesWaiting: () => new Promise<void>(() => undefined) });
    manager.ensure('a', 'h1', jobs.job('a'));
    manager.ensure('b', 'h1', jobs.job('b'));
    manager.ensure('c', 'h1', jobs.job('c'));
    await flushPromises();
    clock.advance(999);
    await flushPromises();
    expect(jobs.keys()).toEqual([]);
    clock.advance(1);
    await flushPromises();
    expect(jobs.keys()).toEqual(['a', 'b']);
    // A freed slot waits again, at most as long.
    await jobs.finish('a');
    await flushPromises();
    expect(jobs.keys()).toEqual(['b']);
    clock.advance(1000);
    await flushPromises();
    expect(jobs.keys()).toEqual(['b', 'c']);
  });
});
