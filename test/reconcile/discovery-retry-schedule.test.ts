// The retry schedule of a failing discovery: an unreachable server (refused, unknown name) is retried
// on a short schedule; other failures back off exponentially to the long cap.
import type { DiscoveryResult, DiscoveryFailureReason } from '../../src/discovery/index.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const failure = (reason: DiscoveryFailureReason): DiscoveryResult => ({
  ok: false,
  reason,
  message: 'down',
  authStatus: { status: 'unknown', method: null, message: '' },
});

/** The delays between attempts over `attempts` failures in a row. */
async function schedule(reason: DiscoveryFailureReason, attempts: number, options: { retryUnreachableMaxMs?: number } = {}): Promise<number[]> {
  const clock = new FakeClock(0);
  const manager = new DiscoveryManager({
    clock,
    concurrency: 1,
    intervalMs: 600_000,
    retryBaseMs: 1000,
    retryMaxMs: 300_000,
    ...options,
    enqueue: () => undefined,
    logger: silentLogger,
  });
  const job = async (): Promise<DiscoveryOutcome> => ({ result: failure(reason) });
  const delays: number[] = [];
  for (let i = 0; i < attempts; i++) {
    manager.ensure('k', 'h', job);
    await flushPromises();
    const dueAt = manager.state('k', 'h').record!.dueAt;
    delays.push(dueAt - clock.now());
    clock.advance(dueAt - clock.now());
  }
  manager.stop();
  return delays;
}

it('retries an unreachable server within seconds, however long it has been down (default cap 5 s)', async () => {
  expect(await schedule('Unreachable', 12)).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
});

it('keeps exponential backoff up to --discovery-retry-max for other failures', async () => {
  expect(await schedule('Timeout', 11)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
});

it('takes the unreachable cap from its option', async () => {
  expect(await schedule('Unreachable', 4, { retryUnreachableMaxMs: 2000 })).toEqual([1000, 2000, 2000, 2000]);
});
