// The manager's own reruns of a settled fleet share one clock timer (DueKeys), not a timer per server:
// every server is rediscovered once per interval, and only one timer is armed while they wait.
import type { DiscoveryResult } from '../../src/discovery/index.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const SERVERS = 200;
const INTERVAL_MS = 60_000;

const result: DiscoveryResult = {
  ok: true,
  transport: 'streamable-http',
  serverInfo: { name: 's', version: '1' },
  capabilities: { tools: {} },
  tools: [{ name: 't', inputSchema: { type: 'object' } }],
  authStatus: { status: 'authentication_not_required', method: null, message: '' },
};

it('keeps one timer for the reruns of a settled fleet and runs each server once per interval', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const enqueued: string[] = [];
  const manager = new DiscoveryManager({ clock, concurrency: 8, intervalMs: INTERVAL_MS, enqueue: (k) => enqueued.push(k), logger: silentLogger });
  const runs = new Map<string, number>();
  const keys = Array.from({ length: SERVERS }, (_, i) => `default:mcp-server:s${i}`);
  const jobOf = (key: string) => async (): Promise<DiscoveryOutcome> => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { result };
  };
  // The reconciler's first converge of each key: ensure, the discovery runs, then the reconcile reports it.
  for (const key of keys) manager.ensure(key, 'inputs', jobOf(key), 1);
  await flushPromises();
  expect(enqueued.sort()).toEqual([...keys].sort());
  for (const key of keys) manager.reported(key, manager.state(key, 'inputs').record!);
  expect(clock.pendingTimers()).toHaveLength(1);

  // Two intervals (the first rerun falls 0.5-1.5 intervals after the discovery): every server runs again,
  // without a reconcile (it found the same), and never more than one timer waits.
  for (let t = 0; t < 2 * INTERVAL_MS; t += 1000) {
    clock.advance(1000);
    await flushPromises();
    expect(clock.pendingTimers().length).toBeLessThanOrEqual(1);
  }
  for (const key of keys) expect(runs.get(key)).toBeGreaterThanOrEqual(2);
  expect(enqueued).toHaveLength(SERVERS);
  manager.stop();
  expect(clock.pendingTimers()).toEqual([]);
});
