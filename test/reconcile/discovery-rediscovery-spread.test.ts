// A fleet discovered at one instant (a sync, a restart) is rediscovered evenly over one interval from half an
// interval later (none sooner, none later than 1.5 intervals), and each server keeps its place after that.
import { OK } from '../support/discovery-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const INTERVAL = 300_000;
const FLEET = 1000;

function fleet() {
  const clock = new FakeClock(1_700_000_123_456);
  const finishers = new Map<string, () => void>();
  const manager = new DiscoveryManager({ clock, concurrency: FLEET, intervalMs: INTERVAL, enqueue: () => {}, logger: silentLogger });
  const keys = Array.from({ length: FLEET }, (_, i) => `default/server-${i}`);
  const start = (key: string) =>
    manager.ensure(key, 'h', () => new Promise<DiscoveryOutcome>((resolve) => finishers.set(key, () => resolve({ result: OK }))), 1);
  const finish = async (key: string) => {
    finishers.get(key)!();
    finishers.delete(key);
    await flushPromises();
  };
  return { clock, manager, keys, start, finish, dueAt: (key: string) => manager.state(key, 'h').record!.dueAt };
}

describe('DiscoveryManager rediscovery spread', () => {
  it('spreads the rediscoveries of a fleet discovered at once evenly over one interval, 0.5–1.5 intervals away', async () => {
    const { clock, keys, start, finish, dueAt } = fleet();
    keys.forEach(start);
    for (const key of keys) await finish(key);
    const now = clock.now();
    const delays = keys.map((key) => dueAt(key) - now);
    expect(Math.min(...delays)).toBeGreaterThan(INTERVAL / 2);
    expect(Math.max(...delays)).toBeLessThanOrEqual((INTERVAL * 3) / 2);
    const tenths = Array.from({ length: 10 }, () => 0);
    for (const d of delays) tenths[Math.min(9, Math.floor(((d - 1 - INTERVAL / 2) / INTERVAL) * 10))]!++;
    // Every tenth of the interval holds between half and twice its share of the fleet.
    for (const count of tenths) {
      expect(count).toBeGreaterThanOrEqual(FLEET / 10 / 2);
      expect(count).toBeLessThanOrEqual((FLEET / 10) * 2);
    }
  });

  it('keeps each server in its place: once rediscovered at its slot, the next is one interval later', async () => {
    const { clock, keys, start, finish, dueAt, manager } = fleet();
    const some = keys.slice(0, 20);
    some.forEach(start);
    for (const key of some) await finish(key);
    const first = new Map(some.map((key) => [key, dueAt(key)]));
    // Walk the clock through the interval, rediscovering each server when it is due; each job takes 2 s.
    for (const key of [...some].sort((a, b) => first.get(a)! - first.get(b)!)) {
      clock.advance(Math.max(0, first.get(key)! - clock.now()));
      expect(manager.isDue(key, 'h', 1)).toBe(true);
      start(key);
      clock.advance(2_000);
      await finish(key);
      expect(dueAt(key)).toBe(first.get(key)! + INTERVAL);
    }
  });
});
