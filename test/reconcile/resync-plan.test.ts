// A resync that scales: the keys whose stored states differ are reconciled at once; every other key is
// still reconciled in full, a slice per interval (every key within FULL_RESYNC_ROUNDS intervals), and the
// controller adds that slice in parts over the interval, not all at once.
import { Controller } from '../../src/reconcile/controller.js';
import { planResync, ResyncPlanner } from '../../src/reconcile/resync-plan.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import type { EntrySyncState, ResourceSyncState } from '../../src/store/index.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const key = (i: number) => `default:mcp-server:s${String(i).padStart(4, '0')}`;
const inSync = (n: number): { resources: ResourceSyncState[]; entries: EntrySyncState[] } => ({
  resources: Array.from({ length: n }, (_, i) => ({ fqn: key(i), generation: 2, observedGeneration: 2 })),
  entries: Array.from({ length: n }, (_, i) => ({ fqn: key(i), generation: 2 })),
});

describe('planResync', () => {
  it('reconciles at once a missing entry, an orphan, another generation, and status of another generation', () => {
    const { resources, entries } = inSync(10);
    resources[1] = { ...resources[1]!, observedGeneration: 1 };
    entries[2] = { ...entries[2]!, generation: 1 };
    entries.splice(3, 1);
    entries.push({ fqn: 'default:mcp-server:orphan', generation: 1 });
    const plan = planResync(resources, entries, undefined, { rounds: 5, minSlice: 1 });
    expect(plan.now.sort()).toEqual(['default:mcp-server:orphan', key(1), key(2), key(3)]);
    expect(plan.spread.some((k) => plan.now.includes(k))).toBe(false);
    expect(planResync(inSync(10).resources, inSync(10).entries, undefined).now).toEqual([]);
  });

  it('reconciles every key in full within `rounds` resyncs, in slices from where the last one ended', () => {
    const { resources, entries } = inSync(23);
    const seen = new Map<string, number>();
    let cursor: string | undefined;
    for (let round = 0; round < 5; round++) {
      const plan = planResync(resources, entries, cursor, { rounds: 5, minSlice: 1 });
      expect(plan.spread).toHaveLength(5);
      for (const k of plan.spread) seen.set(k, (seen.get(k) ?? 0) + 1);
      cursor = plan.cursor;
    }
    // 5 rounds of 5 cover all 23 keys (two of them twice, after the wrap).
    expect(seen.size).toBe(23);
    // A key added or removed between resyncs does not lose the cursor's place.
    const fewer = inSync(23);
    fewer.resources.splice(0, 3);
    fewer.entries.splice(0, 3);
    const next = planResync(fewer.resources, fewer.entries, key(9), { rounds: 5, minSlice: 1 });
    expect(next.spread[0]).toBe(key(10));
  });

  it('reconciles every key at every resync while there are at most minSlice of them', () => {
    const { resources, entries } = inSync(40);
    const plan = planResync(resources, entries, key(17), { rounds: 30, minSlice: 50 });
    expect(new Set(plan.spread).size).toBe(40);
  });
});

describe('Controller with planResync', () => {
  it('adds the differing keys at once and the full pass in parts over the interval', async () => {
    const clock = new FakeClock(0);
    const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
    const reconciled: { key: string; at: number }[] = [];
    const states = inSync(100);
    states.entries.splice(0, 1); // s0000: its entry is missing
    const planner = new ResyncPlanner(async () => states, { rounds: 2, minSlice: 1 });
    const controller = new Controller({
      name: 'test',
      workers: 1,
      resyncIntervalMs: 60_000,
      listKeys: () => [],
      planResync: () => planner.plan(),
      queue,
      clock,
      reconcile: async (k) => {
        reconciled.push({ key: k, at: clock.now() });
        return {};
      },
    });
    controller.start();
    try {
      const settle = async () => {
        for (let i = 0; i < 20; i++) await flushPromises();
        await controller.waitForIdle();
      };
      clock.advance(60_000);
      await settle();
      // The missing entry's key at once, with the first part of the slice of 50.
      expect(reconciled[0]).toEqual({ key: key(0), at: 60_000 });
      const first = reconciled.length;
      expect(first).toBeLessThan(20);
      // The parts come every 3 s (60 s / 20): the last at 117 s, before the next resync at 120 s.
      for (let t = 0; t < 19; t++) {
        clock.advance(3_000);
        await settle();
      }
      const keys = reconciled.map((r) => r.key);
      // One interval: the slice (50 keys, s0000 among them once) spread over it, no part after it ended.
      expect(new Set(keys).size).toBe(50);
      expect(reconciled.every((r) => r.at < 120_000)).toBe(true);
      expect(new Set(reconciled.map((r) => r.at)).size).toBeGreaterThanOrEqual(10);
      // The next interval's slice is the other half.
      for (let t = 0; t < 21; t++) {
        clock.advance(3_000);
        await settle();
      }
      expect(new Set(reconciled.map((r) => r.key)).size).toBe(100);
    } finally {
      await controller.stop();
    }
  });
});
