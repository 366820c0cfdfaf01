// waitForProgress: work that keeps moving is waited for however long it takes; work that stops fails
// once it has been still for the stall window, naming what it waited for and how far it got.
import { waitForProgress } from './wait-for.js';

it('waits for a count that keeps growing for longer than the stall window', async () => {
  let calls = 0;
  const started = Date.now();
  await waitForProgress(() => ++calls, 60, { stallMs: 1000, intervalMs: 50, what: 'sixty' });
  expect(calls).toBe(60);
  // 59 pauses of at least 50 ms: the whole wait outlasted the stall window without failing.
  expect(Date.now() - started).toBeGreaterThan(1000);
});

it('fails once the count stands still for the stall window, naming what and how far', async () => {
  let calls = 0;
  await expect(
    waitForProgress(() => {
      calls++;
      return 5;
    }, 10, { stallMs: 100, intervalMs: 10, what: 'ten entries' }),
  ).rejects.toThrow('Timed out waiting for ten entries: 5 of 10, no progress for 100 ms');
  expect(calls).toBeGreaterThan(1);
});

it('does not count going back as progress', async () => {
  const counts = [3, 2, 1, 1, 1];
  let at = 0;
  await expect(waitForProgress(() => counts[Math.min(at++, counts.length - 1)]!, 10, { stallMs: 100, intervalMs: 10, what: 'ten' })).rejects.toThrow(
    /1 of 10, no progress/,
  );
});
