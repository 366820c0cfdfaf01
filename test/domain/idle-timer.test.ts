// The idle countdown the workers share (src/domain/idle-timer.ts), on a fake clock: onIdle runs after the idle
// time and not before, never after busy(), once per countdown; idle() starts it over. Then the pattern the
// owners follow, with a real worker thread: it ends after the idle time, the next use starts a fresh one,
// and a request given while the old one exits is answered by the fresh one.
import { Worker } from 'node:worker_threads';
import { IdleTimer } from '../../src/domain/idle-timer.js';
import { FakeClock } from '../support/fake-clock.js';

const IDLE = 1000;

describe('IdleTimer', () => {
  let clock: FakeClock;
  let fired: number;
  let timer: IdleTimer;
  beforeEach(() => {
    clock = new FakeClock();
    fired = 0;
    timer = new IdleTimer(clock, IDLE, () => fired++);
  });

  it('runs onIdle once the idle time has passed, not before, and once', () => {
    timer.idle();
    expect(timer.counting).toBe(true);
    clock.advance(IDLE - 1);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    expect(timer.counting).toBe(false);
    clock.advance(10 * IDLE);
    expect(fired).toBe(1);
  });

  it('never runs onIdle after busy(); idle() again starts a full countdown', () => {
    timer.idle();
    clock.advance(IDLE - 1);
    timer.busy();
    expect(timer.counting).toBe(false);
    clock.advance(10 * IDLE);
    expect(fired).toBe(0);
    timer.idle();
    clock.advance(IDLE - 1);
    timer.idle();
    clock.advance(IDLE - 1);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    expect(clock.pendingTimers()).toEqual([]);
  });

  it('counts down a shorter time when given one', () => {
    timer.idle(10);
    clock.advance(10);
    expect(fired).toBe(1);
  });
});

/** An echo worker, started on use and ended when idle, as the four owners keep theirs. */
class EchoOwner {
  worker: Worker | undefined;
  started = 0;
  private inFlight = 0;
  private nextId = 0;
  readonly ending: Promise<number>[] = [];
  private readonly idle: IdleTimer;

  constructor(clock: FakeClock) {
    this.idle = new IdleTimer(clock, IDLE, () => {
      const worker = this.worker;
      if (!worker || this.inFlight > 0) return;
      // Let go first: what comes while it exits starts a fresh worker.
      this.worker = undefined;
      this.ending.push(worker.terminate());
    });
  }

  ask(n: number): Promise<number> {
    this.idle.busy();
    this.inFlight++;
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve) => {
      const answered = (answer: { id: number; n: number }) => {
        if (answer.id !== id) return;
        worker.off('message', answered);
        if (--this.inFlight === 0) this.idle.idle();
        resolve(answer.n);
      };
      worker.on('message', answered);
      worker.postMessage({ id, n });
    });
  }

  private start(): Worker {
    this.started++;
    const body = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', ({ id, n }) => parentPort.postMessage({ id, n: n * 2 }));";
    return new Worker(body, { eval: true });
  }

  async close(): Promise<void> {
    this.idle.busy();
    await this.worker?.terminate();
    await Promise.all(this.ending);
  }
}

describe('a worker ended by IdleTimer', () => {
  let clock: FakeClock;
  let owner: EchoOwner;
  beforeEach(() => {
    clock = new FakeClock();
    owner = new EchoOwner(clock);
  });
  afterEach(() => owner.close());

  it('ends after the idle time, and the next request starts a fresh one', async () => {
    expect(await owner.ask(1)).toBe(2);
    clock.advance(IDLE - 1);
    expect(owner.worker).toBeDefined();
    clock.advance(1);
    expect(owner.worker).toBeUndefined();
    expect(owner.ending).toHaveLength(1);
    expect(await owner.ask(2)).toBe(4);
    expect(owner.started).toBe(2);
  });

  it('is not ended while a request runs, however long it takes', async () => {
    const answer = owner.ask(3);
    clock.advance(10 * IDLE);
    expect(owner.worker).toBeDefined();
    expect(await answer).toBe(6);
    expect(owner.started).toBe(1);
  });

  it('a request given while the ended worker exits is answered by a fresh one, none lost', async () => {
    expect(await owner.ask(1)).toBe(2);
    clock.advance(IDLE);
    // The old worker is still exiting (terminate() has not resolved): these go to a fresh one.
    const answers = await Promise.all([owner.ask(5), owner.ask(6)]);
    expect(answers).toEqual([10, 12]);
    expect(owner.started).toBe(2);
    expect(await owner.ending[0]).toBe(1);
  });
});
