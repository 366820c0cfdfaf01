// --discovery-rate: a fleet larger than the rate allows in one interval is rediscovered over the smallest
// multiple of the interval that fits, each server at its phase of it; a small fleet keeps the interval.
import { OK } from '../support/discovery-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, rediscoveryInterval, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import type { RetryRate } from '../../src/reconcile/retry-budget.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const FIVE_MIN = 300_000;
const PER_SECOND = (count: number): RetryRate => ({ count, perMs: 1000 });

describe('rediscoveryInterval', () => {
  it.each([
    [10_000, FIVE_MIN],
    [15_000, FIVE_MIN],
    [15_001, 2 * FIVE_MIN],
    [50_000, 4 * FIVE_MIN],
    [0, FIVE_MIN],
  ])('%i servers at 50/s and 5 m: %i ms', (servers, expected) => {
    expect(rediscoveryInterval(FIVE_MIN, servers, PER_SECOND(50))).toBe(expected);
  });

  it('is the interval without a rate, however large the fleet', () => {
    expect(rediscoveryInterval(FIVE_MIN, 1_000_000, undefined)).toBe(FIVE_MIN);
  });

  it('reads the rate per its period (N/m)', () => {
    expect(rediscoveryInterval(60_000, 200, { count: 100, perMs: 60_000 })).toBe(120_000);
  });
});

describe('DiscoveryManager with a rediscovery rate', () => {
  const INTERVAL = 10_000;
  const FLEET = 300;

  async function settledFleet(rate: RetryRate | undefined) {
    const clock = new FakeClock(1_700_000_000_000);
    const finishers = new Map<string, () => void>();
    const started: string[] = [];
    const manager = new DiscoveryManager({ clock, concurrency: FLEET, intervalMs: INTERVAL, ...(rate ? { rediscoveryRate: rate } : {}), enqueue: () => {}, logger: silentLogger });
    const keys = Array.from({ length: FLEET }, (_, i) => `default/server-${i}`);
    const run = (key: string) => () =>
      new Promise<DiscoveryOutcome>((resolve) => {
        started.push(key);
        finishers.set(key, () => resolve({ result: OK }));
      });
    for (const key of keys) manager.ensure(key, 'h', run(key), 1);
    for (const key of keys) {
      finishers.get(key)!();
      finishers.delete(key);
    }
    await flushPromises();
    const now = clock.now();
    return { clock, manager, keys, now, delays: keys.map((key) => manager.state(key, 'h').record!.dueAt - now) };
  }

  it('spreads a fleet the rate cannot rediscover in one interval over the multiple of it that fits', async () => {
    // 300 servers at 10/s need 30 s: three intervals of 10 s.
    const { manager, delays } = await settledFleet(PER_SECOND(10));
    expect(manager.rediscoveryIntervalMs()).toBe(3 * INTERVAL);
    const effective = 3 * INTERVAL;
    expect(Math.min(...delays)).toBeGreaterThan(effective / 2);
    expect(Math.max(...delays)).toBeLessThanOrEqual((effective * 3) / 2);
    // At most about the rate in any tenth of the effective interval (3 s: 30 at 10/s), with the phases' unevenness.
    const tenths = Array.from({ length: 10 }, () => 0);
    for (const d of delays) tenths[Math.min(9, Math.floor(((d - 1 - effective / 2) / effective) * 10))]!++;
    for (const count of tenths) expect(count).toBeLessThanOrEqual(2 * 30);
    // Without the rate every server would be due within 15 s.
    expect(delays.filter((d) => d <= (INTERVAL * 3) / 2).length).toBeLessThan(FLEET / 2);
  });

  it('keeps the interval when the fleet fits in it, and without a rate', async () => {
    const fits = await settledFleet(PER_SECOND(100));
    expect(fits.manager.rediscoveryIntervalMs()).toBe(INTERVAL);
    expect(Math.max(...fits.delays)).toBeLessThanOrEqual((INTERVAL * 3) / 2);
    const none = await settledFleet(undefined);
    expect(none.manager.rediscoveryIntervalMs()).toBe(INTERVAL);
    expect(Math.max(...none.delays)).toBeLessThanOrEqual((INTERVAL * 3) / 2);
  });

  it('shrinks back when servers are forgotten', async () => {
    const { manager, keys } = await settledFleet(PER_SECOND(10));
    for (const key of keys.slice(100)) manager.forget(key);
    expect(manager.rediscoveryIntervalMs()).toBe(INTERVAL);
  });
});
