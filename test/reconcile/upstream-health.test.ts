// The data plane's reports reach the reconciler at most once per second per server, the last one wins,
// and a success only costs something when a failure is kept.
import { UpstreamHealth } from '../../src/reconcile/upstream-health.js';
import { FakeClock } from '../support/fake-clock.js';

function harness() {
  const clock = new FakeClock(10_000);
  const calls: string[] = [];
  const health = new UpstreamHealth({ clock, rediscover: (k) => calls.push(`rediscover ${k}`), enqueue: (k) => calls.push(`enqueue ${k}`) });
  return { clock, calls, health };
}
const down = { ok: false as const, reason: 'Unreachable' as const, message: 'refused.' };

it('keeps the latest failure with the time it was seen and asks for a rediscovery at once', () => {
  const { clock, calls, health } = harness();
  health.report('a', down);
  expect(calls).toEqual(['rediscover a']);
  expect(health.failure('a')).toEqual({ reason: 'Unreachable', message: 'refused.', at: 10_000 });
});

it('debounces: one delivery per server per second, the trailing one carrying the last report', () => {
  const { clock, calls, health } = harness();
  health.report('a', down);
  for (let i = 0; i < 100; i++) health.report('a', down);
  health.report('b', down);
  expect(calls).toEqual(['rediscover a', 'rediscover b']);
  clock.advance(999);
  expect(calls).toHaveLength(2);
  clock.advance(1);
  expect(calls).toEqual(['rediscover a', 'rediscover b', 'rediscover a']);
  clock.advance(5000);
  expect(calls).toHaveLength(3);
});

it('a success clears a kept failure (and is delivered); without one it is free', () => {
  const { clock, calls, health } = harness();
  health.report('a', { ok: true });
  expect(calls).toEqual([]);
  health.report('a', down);
  clock.advance(1000);
  health.report('a', { ok: true });
  expect(health.failure('a')).toBeUndefined();
  expect(calls).toEqual(['rediscover a', 'enqueue a']);
});

it('a failure then a success within the second delivers a plain reconcile, not a rediscovery', () => {
  const { clock, calls, health } = harness();
  health.report('a', down);
  health.report('a', down);
  health.report('a', { ok: true });
  clock.advance(1000);
  expect(calls).toEqual(['rediscover a', 'enqueue a']);
});

it('a discovery that started after the failure supersedes it; forget drops the server and its timer', () => {
  const { clock, calls, health } = harness();
  health.report('a', down);
  health.supersede('a', 9_999);
  expect(health.failure('a')).toBeDefined();
  health.supersede('a', 10_000);
  expect(health.failure('a')).toBeUndefined();
  health.report('b', down);
  health.report('b', down);
  health.forget('b');
  clock.advance(2000);
  expect(calls).toEqual(['rediscover a', 'rediscover b']);
  expect(clock.pendingTimers()).toEqual([]);
});
