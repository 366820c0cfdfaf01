// Stores of one thread share one checkpoint worker (checkpoint-thread.ts): each file's checkpoints run on a
// connection of its own on it, a lane that ends for being idle leaves the others' running, the worker ends
// with its last lane, and a worker that fails sends every store back to checkpointing on its own connection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { resourceViews } from '../../src/http/resource-view.js';
import type { NewResource } from '../../src/store/index.js';
import { CheckpointThread, SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { manifest, newResource as fixture } from './conformance/fixtures.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';

/** A server whose manifest fills a few WAL frames. */
const newResource = (name: string): NewResource => ({ ...fixture(name), manifest: manifest(name, name.repeat(50)) });
const IDLE = 1000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpoint-thread-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(file: string, thread: CheckpointThread, clock?: FakeClock): SqliteResourceStore {
  return new SqliteResourceStore({ path: join(dir, file), views: resourceViews, checkpoints: { checkpointPages: 20, idleMs: IDLE, thread, ...(clock ? { clock } : {}) } });
}

async function keysIn(file: string): Promise<number> {
  const again = new SqliteResourceStore({ path: join(dir, file), views: resourceViews });
  try {
    return (await again.keys()).length;
  } finally {
    await again.close();
  }
}

async function fill(store: SqliteResourceStore, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await store.create(newResource(`s-${i}`));
}

it("runs two files' checkpoints on one worker, which ends once both stores closed", async () => {
  const thread = new CheckpointThread();
  const a = open('a.db', thread);
  const b = open('b.db', thread);
  await fill(a, 0, 60);
  await fill(b, 0, 60);
  await waitFor(() => a.checkpointer!.counts.worker >= 1 && b.checkpointer!.counts.worker >= 1, { what: 'a checkpoint of each file on the worker' });
  expect(thread.started).toBe(1);
  expect(a.checkpointer!.counts.inline + b.checkpointer!.counts.inline).toBe(0);

  await a.close();
  // The other store's lane keeps the worker, and its checkpoints go on.
  expect(thread.workerRunning).toBe(true);
  const before = b.checkpointer!.counts.worker;
  await fill(b, 60, 140);
  await waitFor(() => b.checkpointer!.counts.worker > before, { what: 'a checkpoint after the other store closed' });
  expect(thread.started).toBe(1);

  await b.close();
  expect(thread.workerRunning).toBe(false);
  expect(await keysIn('a.db')).toBe(60);
  expect(await keysIn('b.db')).toBe(140);
});

it('a lane idle for idleMs ends alone; the worker ends with the last lane and starts again at the next checkpoint due', async () => {
  const thread = new CheckpointThread();
  const clockA = new FakeClock();
  const clockB = new FakeClock();
  const a = open('a.db', thread, clockA);
  const b = open('b.db', thread, clockB);
  try {
    await fill(a, 0, 60);
    await fill(b, 0, 60);
    await waitFor(() => a.checkpointer!.counts.worker >= 1 && b.checkpointer!.counts.worker >= 1, { what: 'a checkpoint of each file' });
    await waitFor(() => clockA.pendingTimers().some((t) => t.inMs === IDLE), { what: "a's idle timer" });
    clockA.advance(IDLE);
    expect(a.checkpointer!.workerRunning).toBe(false);
    expect(b.checkpointer!.workerRunning).toBe(true);
    await flushPromises();
    expect(thread.workerRunning).toBe(true);

    await waitFor(() => clockB.pendingTimers().some((t) => t.inMs === IDLE), { what: "b's idle timer" });
    clockB.advance(IDLE);
    await waitFor(() => !thread.workerRunning, { what: 'the worker to end with its last lane' });
    expect(thread.started).toBe(1);

    const before = a.checkpointer!.counts.worker;
    await fill(a, 60, 140);
    await waitFor(() => a.checkpointer!.counts.worker > before, { what: 'a checkpoint on a fresh worker' });
    expect(thread.started).toBe(2);
    expect(a.checkpointer!.counts).toMatchObject({ started: 2, inline: 0 });
  } finally {
    await a.close();
    await b.close();
  }
  expect(await keysIn('a.db')).toBe(140);
  expect(await keysIn('b.db')).toBe(60);
});

it('a worker that dies sends every store sharing it back to its own connection, losing no write', async () => {
  const thread = new CheckpointThread();
  const a = open('a.db', thread);
  const b = open('b.db', thread);
  try {
    await fill(a, 0, 60);
    await fill(b, 0, 60);
    await waitFor(() => a.checkpointer!.counts.worker >= 1 && b.checkpointer!.counts.worker >= 1, { what: 'a checkpoint of each file' });
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await waitFor(() => !thread.workerRunning, { what: 'the worker to be gone' });
    await fill(a, 60, 140);
    await fill(b, 60, 140);
    expect(a.checkpointer!.counts.inline).toBeGreaterThan(0);
    expect(b.checkpointer!.counts.inline).toBeGreaterThan(0);
    expect(thread.started).toBe(1);
  } finally {
    await a.close();
    await b.close();
  }
  expect(await keysIn('a.db')).toBe(140);
  expect(await keysIn('b.db')).toBe(140);
});
