// New discoveries give way to the API's writes as reconciles do (answers-first.ts, discoveryMayStart): no
// job starts while a write is in flight or within maxDeferMs of the last one, or while reconciles wait, and
// the DiscoveryManager's own bound (a second) keeps writes that never pause from starving it.
// A real express app with the answers-first middleware on a loopback port, a real DiscoveryManager and
// WorkQueue; time is a FakeClock.
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { OK } from '../support/discovery-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { AnswersFirst } from '../../src/http/answers-first.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';

const MAX_DEFER_MS = 50;
/** The DiscoveryManager's bound on one wait (its MAX_YIELD_MS). */
const MAX_YIELD_MS = 1000;

let clock: FakeClock;
let queue: WorkQueue;
let answersFirst: AnswersFirst;
let manager: DiscoveryManager;
let server: Server;
let base: string;
/** Keys whose discovery started, in order. */
let started: string[];
let release: () => void;
let held: Promise<void>;

beforeEach(async () => {
  clock = new FakeClock(1_000);
  queue = new WorkQueue({ clock });
  // Writes never count as long here: only the manager's own bound ends a wait for them.
  answersFirst = new AnswersFirst({ clock, maxDeferMs: MAX_DEFER_MS, longWriteMs: 60_000 });
  started = [];
  held = new Promise((r) => (release = r));
  // Wired as main.ts wires it.
  manager = new DiscoveryManager({
    clock,
    concurrency: 2,
    intervalMs: 60_000,
    enqueue: () => undefined,
    reconcilesWaiting: () => answersFirst.discoveryMayStart(() => (queue.len() > 0 ? queue.whenIdle() : undefined)),
    logger: silentLogger,
  });
  const app = express();
  app.use('/api', answersFirst.middleware);
  app.put('/api/servers', async (_req, res) => {
    await held;
    res.json({ ok: true });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  release();
  manager.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const job = (key: string) => () => {
  started.push(key);
  return Promise.resolve<DiscoveryOutcome>({ result: OK });
};

function put(): Promise<Response> {
  return fetch(`${base}/api/servers`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
}

test('with no write in flight or recent, a discovery starts at once', async () => {
  manager.ensure('a', 'h', job('a'));
  await flushPromises();
  expect(started).toEqual(['a']);
});

test('a discovery due while a write is in flight starts maxDeferMs after its answer, not before', async () => {
  const write = put();
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  manager.ensure('a', 'h', job('a'));
  await flushPromises();
  clock.advance(MAX_DEFER_MS * 4);
  await flushPromises();
  expect(started).toEqual([]);

  release();
  expect((await write).status).toBe(200);
  await waitFor(() => answersFirst.inFlight === 0, { what: 'the write to be answered' });
  clock.advance(MAX_DEFER_MS - 1);
  await flushPromises();
  expect(started).toEqual([]);
  clock.advance(1);
  await flushPromises();
  expect(started).toEqual(['a']);
});

test('a write that arrives before the pause is over starts the wait again', async () => {
  release();
  expect((await put()).status).toBe(200);
  await waitFor(() => answersFirst.inFlight === 0, { what: 'the first write to be answered' });
  manager.ensure('a', 'h', job('a'));
  clock.advance(MAX_DEFER_MS - 10);
  await flushPromises();
  expect((await put()).status).toBe(200);
  await waitFor(() => answersFirst.inFlight === 0, { what: 'the second write to be answered' });
  clock.advance(10);
  await flushPromises();
  expect(started).toEqual([]);
  clock.advance(MAX_DEFER_MS - 10);
  await flushPromises();
  expect(started).toEqual(['a']);
});

test('reconciles waiting hold discoveries too, and the writes are checked once they are done', async () => {
  queue.add('k');
  const write = put();
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  manager.ensure('a', 'h', job('a'));
  await flushPromises();
  // The reconcile finishes while the write is still in flight: the discovery keeps waiting.
  const key = await queue.get();
  queue.done(key!);
  await flushPromises();
  expect(started).toEqual([]);
  release();
  expect((await write).status).toBe(200);
  await waitFor(() => answersFirst.inFlight === 0, { what: 'the write to be answered' });
  clock.advance(MAX_DEFER_MS);
  await flushPromises();
  expect(started).toEqual(['a']);
});

test('writes that never pause do not starve discovery: the manager fills its free slots after its bound', async () => {
  const write = put();
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  for (const key of ['a', 'b', 'c']) manager.ensure(key, 'h', () => new Promise<DiscoveryOutcome>(() => started.push(key)));
  await flushPromises();
  clock.advance(MAX_YIELD_MS - 1);
  await flushPromises();
  expect(started).toEqual([]);
  clock.advance(1);
  await flushPromises();
  expect(started).toEqual(['a', 'b']);
  release();
  await write;
});

test('a reconciles wait that resolves at once (a queue shut down with keys left) is asked once, not in a loop', async () => {
  let asked = 0;
  // Resolved at once every time, as WorkQueue.whenIdle is once the queue shuts down with keys still ready;
  // a bound here only so that a loop shows as a count instead of starving the event loop.
  const wait = answersFirst.discoveryMayStart(() => (++asked <= 1000 ? Promise.resolve() : undefined));
  await wait;
  await flushPromises();
  expect(asked).toBe(1);
});

test('a discovery due after the queue shut down with keys left starts, without a loop', async () => {
  queue.add('k');
  queue.shutdown();
  manager.ensure('a', 'h', job('a'));
  await flushPromises();
  expect(started).toEqual(['a']);
});
