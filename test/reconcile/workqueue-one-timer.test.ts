// The work queue's delayed adds share one clock timer, set for the earliest due time, instead of a timer per
// key (at 50,000 servers each waiting for its next discovery, a Timeout and a timer list per distinct delay
// each): keys are added in due order (ties in the order of the calls), a key moved earlier re-arms the
// timer and is added once, and nothing is left armed when nothing waits.
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { FakeClock } from '../support/fake-clock.js';

function newQueue() {
  const clock = new FakeClock(1_000);
  return { clock, queue: new WorkQueue({ clock }) };
}

async function drain(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  for (let item = queue.tryGet(); item; item = queue.tryGet()) {
    keys.push(item.key);
    queue.done(item.key);
  }
  return keys;
}

it('keeps one timer for a thousand delayed keys and adds them in due order, ties in call order', async () => {
  const { clock, queue } = newQueue();
  // Delays 1..1000 ms in a scrambled order, and two keys due at the same time.
  for (let i = 0; i < 1000; i++) queue.addAfter(`k${(i * 7919) % 1000}`, ((i * 7919) % 1000) + 1);
  queue.addAfter('tie-b', 500);
  queue.addAfter('tie-a', 500);
  expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: 1 })]);
  expect(queue.delayedCount()).toBe(1002);
  const added: string[] = [];
  for (let t = 1; t <= 1000; t++) {
    clock.advance(1);
    added.push(...(await drain(queue)));
    expect(clock.pendingTimers().length).toBeLessThanOrEqual(1);
  }
  const expected = Array.from({ length: 1000 }, (_, i) => `k${i}`);
  expected.splice(expected.indexOf('k499') + 1, 0, 'tie-b', 'tie-a');
  expect(added).toEqual(expected);
  expect(clock.pendingTimers()).toEqual([]);
  expect(queue.delayedCount()).toBe(0);
});

it('a key moved earlier re-arms the timer and is added once, not again at its old time', async () => {
  const { clock, queue } = newQueue();
  queue.addAfter('x', 500);
  queue.addAfter('y', 300);
  queue.addAfter('x', 100);
  expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: 100 })]);
  clock.advance(100);
  expect(await drain(queue)).toEqual(['x']);
  expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: 200 })]);
  clock.advance(200);
  expect(await drain(queue)).toEqual(['y']);
  // x's superseded add (due at 500) is dropped, not armed.
  expect(clock.pendingTimers()).toEqual([]);
  clock.advance(1000);
  expect(await drain(queue)).toEqual([]);
});

it('shutdown leaves no timer armed', () => {
  const { clock, queue } = newQueue();
  for (let i = 0; i < 10; i++) queue.addAfter(`k${i}`, 100 + i);
  queue.shutdown();
  expect(clock.pendingTimers()).toEqual([]);
  expect(queue.delayedCount()).toBe(0);
});
