// waitForProgress: work that keeps moving is waited for however long it takes; work that stops fails
// once it has been still for the stall window, naming what it waited for and how far it got.
import { FakeClock } from './fake-clock.js';
import { waitForProgress } from './wait-for.js';

it('waits for a count that keeps growing for longer than the stall window', async () => {
  const clock = new FakeClock(0);
  let calls = 0;
  // Each poll finds one more and 50 ms of the clock gone: the whole wait outlasts the stall window.
  const grows = () => (clock.advance(50), ++calls);
  await waitForProgress(grows, 60, { stallMs: 1000, intervalMs: 0, what: 'sixty', clock });
  expect(calls).toBe(60);
  expect(clock.now()).toBeGreaterThan(1000);
});

it('fails once the count stands still for the stall window, naming what and how far', async () => {
  const clock = new FakeClock(0);
  let calls = 0;
  await expect(
    waitForProgress(() => {
      calls++;
      clock.advance(10);
      return 5;
    }, 10, { stallMs: 100, intervalMs: 0, what: 'ten entries', clock }),
  ).rejects.toThrow('Timed out waiting for ten entries: 5 of 10, no progress for 100 ms');
  // Still for more than the window of the clock, not of the wall: 1 poll that moved, then 11 that did not.
  expect(calls).toBe(12);
});

it('does not count going back as progress', async () => {
  const clock = new FakeClock(0);
  const counts = [3, 2, 1, 1, 1];
  let at = 0;
  const falls = () => (clock.advance(10), counts[Math.min(at++, counts.length - 1)]!);
  await expect(waitForProgress(falls, 10, { stallMs: 100, intervalMs: 0, what: 'ten', clock })).rejects.toThrow(
    /1 of 10, no progress/,
  );
});
