// Answers first: a reconcile batch gives way to the API writes in flight (until none is, at most
// maxDeferMs), and runs short (busyBatchMs) while they still are; reads and refreshes hold nothing back.
// A real express app on a loopback port, a real Controller and WorkQueue; time is a FakeClock.
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { AnswersFirst } from '../../src/http/answers-first.js';
import { Controller } from '../../src/reconcile/controller.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';

const MAX_DEFER_MS = 50;
const BUSY_BATCH_MS = 2;
const LONG_WRITE_MS = 1000;

let clock: FakeClock;
let queue: WorkQueue;
let answersFirst: AnswersFirst;
let controller: Controller;
let server: Server;
let base: string;
/** Keys in the order they were reconciled, with the batch each ran in. */
let reconciled: { key: string; batch: number }[];
let batches: number;
/** Ends the requests held open by the app. */
let release: () => void;
let held: Promise<void>;
/** How long (real time, at least) each reconcile of a key spins; keys not named take no time. */
let spinMs: Map<string, number>;

beforeEach(async () => {
  clock = new FakeClock(1_000);
  queue = new WorkQueue({ clock });
  answersFirst = new AnswersFirst({ clock, maxDeferMs: MAX_DEFER_MS, busyBatchMs: BUSY_BATCH_MS, longWriteMs: LONG_WRITE_MS });
  reconciled = [];
  batches = 0;
  spinMs = new Map();
  held = new Promise((r) => (release = r));
  controller = new Controller({
    name: 'answers-first-test',
    queue,
    clock,
    workers: 1,
    resyncIntervalMs: 0,
    // Far longer than any reconcile here: a batch ends early only by the busy budget.
    batchMs: 60_000,
    listKeys: () => [],
    batch: async (run) => {
      batches++;
      await run();
    },
    reconcile: async (key) => {
      const until = performance.now() + (spinMs.get(key) ?? 0);
      while (performance.now() < until) {
        // A reconcile that takes this long.
      }
      reconciled.push({ key, batch: batches });
    },
    beforeBatch: () => answersFirst.beforeBatch(),
  });
  const app = express();
  app.use('/api', answersFirst.middleware);
  const hold = async (_req: express.Request, res: express.Response) => {
    await held;
    res.json({ ok: true });
  };
  app.put('/api/servers', hold);
  app.get('/api/servers', hold);
  app.post('/api/servers/x/refresh', hold);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  controller.start();
});

afterEach(async () => {
  release();
  await controller.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends a request the app holds open until release(); answers its response. */
function send(method: string, path: string): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'PUT' ? { body: '{}' } : {}) });
}

test('a reconcile queued while a write is in flight waits for its answer, then runs with no time passing', async () => {
  const write = send('PUT', '/api/servers');
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  queue.add('k1');
  await waitFor(() => answersFirst.batchesWaiting === 1, { what: 'the batch to be held back' });
  expect(reconciled).toEqual([]);
  release();
  expect((await write).status).toBe(200);
  await waitFor(() => reconciled.length === 1, { what: 'the reconcile after the answer' });
  expect(reconciled[0]!.key).toBe('k1');
  expect(answersFirst.inFlight).toBe(0);
});

test('within maxDeferMs of the last write a batch still runs short; after that it takes the controller budget', async () => {
  const write = send('PUT', '/api/servers');
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  release();
  expect((await write).status).toBe(200);
  expect(answersFirst.inFlight).toBe(0);
  // Writes answered together leave none in flight for a moment: the batch that starts then is short.
  spinMs.set('a', BUSY_BATCH_MS + 3);
  queue.add('a');
  queue.add('b');
  await waitFor(() => reconciled.length === 2, { what: 'both reconciles' });
  expect(reconciled).toEqual([
    { key: 'a', batch: 1 },
    { key: 'b', batch: 2 },
  ]);
  clock.advance(MAX_DEFER_MS);
  queue.add('c');
  queue.add('d');
  spinMs.set('c', BUSY_BATCH_MS + 3);
  await waitFor(() => reconciled.length === 4, { what: 'the next two' });
  expect(reconciled.slice(2)).toEqual([
    { key: 'c', batch: 3 },
    { key: 'd', batch: 3 },
  ]);
});

test('a write that stays in flight holds a batch back for maxDeferMs at most; the batch then runs for busyBatchMs', async () => {
  const write = send('PUT', '/api/servers');
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  // a takes longer than the busy budget: b must wait for the next batch, held back in its turn.
  spinMs.set('a', BUSY_BATCH_MS + 3);
  queue.add('a');
  queue.add('b');
  await waitFor(() => answersFirst.batchesWaiting === 1, { what: 'the batch to be held back' });
  clock.advance(MAX_DEFER_MS - 1);
  expect(reconciled).toEqual([]);
  clock.advance(1);
  await waitFor(() => reconciled.length === 1, { what: 'the first, short batch' });
  expect(reconciled[0]!.key).toBe('a');
  await waitFor(() => answersFirst.batchesWaiting === 1, { what: 'the next batch to be held back' });
  expect(reconciled.map((r) => r.key)).toEqual(['a']);
  clock.advance(MAX_DEFER_MS);
  await waitFor(() => reconciled.length === 2, { what: 'the second batch' });
  expect(reconciled).toEqual([
    { key: 'a', batch: 1 },
    { key: 'b', batch: 2 },
  ]);
  release();
  await write;
});

test('with no write in flight a batch takes the controller budget: keys queued together run in one batch', async () => {
  spinMs.set('a', BUSY_BATCH_MS + 3);
  queue.add('a');
  queue.add('b');
  await waitFor(() => reconciled.length === 2, { what: 'both reconciles' });
  expect(reconciled).toEqual([
    { key: 'a', batch: 1 },
    { key: 'b', batch: 1 },
  ]);
});

test('reads and refreshes in flight hold nothing back (a refresh waits for a reconcile itself)', async () => {
  const read = send('GET', '/api/servers');
  const refresh = send('POST', '/api/servers/x/refresh');
  queue.add('k');
  await waitFor(() => reconciled.length === 1, { what: 'the reconcile, with only a read and a refresh in flight' });
  expect(answersFirst.inFlight).toBe(0);
  release();
  expect((await read).status).toBe(200);
  expect((await refresh).status).toBe(200);
});

test('a write in flight for longWriteMs (waiting on something else) no longer holds batches back', async () => {
  const write = send('PUT', '/api/servers');
  await waitFor(() => answersFirst.inFlight === 1, { what: 'the write to arrive' });
  clock.advance(LONG_WRITE_MS);
  expect(answersFirst.inFlight).toBe(0);
  queue.add('k');
  await waitFor(() => reconciled.length === 1, { what: 'the reconcile beside a long write' });
  release();
  expect((await write).status).toBe(200);
  expect(answersFirst.inFlight).toBe(0);
});
