// The WAL checkpointer's worker (store/sqlite/checkpointer.ts) on a fake clock: it starts at the first
// checkpoint due, ends after idleMs without one, and the next checkpoint due starts a fresh one; nothing
// written is lost across that, and a store closed while the worker ends closes after it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import type { NewResource } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { manifest, newResource as fixture } from './conformance/fixtures.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';

/** A server whose manifest fills a few WAL frames. */
const newResource = (name: string): NewResource => ({ ...fixture(name), manifest: manifest(name, name.repeat(50)) });
const IDLE = 1000;

let dir: string;
let path: string;
let clock: FakeClock;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpointer-idle-'));
  path = join(dir, 'control-plane.db');
  clock = new FakeClock();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function reopenedKeys(): Promise<number> {
  const again = new SqliteResourceStore({ path, views: resourceViews });
  try {
    return (await again.keys()).length;
  } finally {
    await again.close();
  }
}

it('ends the worker after idleMs without a checkpoint, and starts a fresh one at the next checkpoint due', async () => {
  const store = new SqliteResourceStore({ path, views: resourceViews, checkpoints: { checkpointPages: 20, idleMs: IDLE, clock } });
  const checkpointer = store.checkpointer!;
  try {
    expect(checkpointer.workerRunning).toBe(false);
    for (let i = 0; i < 60; i++) await store.create(newResource(`s-${i}`));
    await waitFor(() => checkpointer.counts.worker >= 1, { what: 'a checkpoint on the worker' });
    expect(checkpointer.workerRunning).toBe(true);
    // The last checkpoint answered: the idle timer (the only timer on this clock) is armed.
    await waitFor(() => clock.pendingTimers().some((t) => t.inMs === IDLE), { what: 'the idle timer' });
    clock.advance(IDLE - 1);
    await flushPromises();
    expect(checkpointer.workerRunning).toBe(true);
    clock.advance(1);
    expect(checkpointer.workerRunning).toBe(false);
    const before = checkpointer.counts.worker;
    for (let i = 60; i < 140; i++) await store.create(newResource(`s-${i}`));
    await waitFor(() => checkpointer.counts.worker > before, { what: 'a checkpoint on a fresh worker' });
    expect(checkpointer.counts).toMatchObject({ started: 2, inline: 0 });
  } finally {
    await store.close();
  }
  expect(await reopenedKeys()).toBe(140);
});

it('a store closed as its worker ends for being idle closes after it, keeping every write', async () => {
  const store = new SqliteResourceStore({ path, views: resourceViews, checkpoints: { checkpointPages: 20, idleMs: IDLE, clock } });
  for (let i = 0; i < 60; i++) await store.create(newResource(`s-${i}`));
  await waitFor(() => store.checkpointer!.counts.worker >= 1, { what: 'a checkpoint on the worker' });
  await waitFor(() => clock.pendingTimers().some((t) => t.inMs === IDLE), { what: 'the idle timer' });
  clock.advance(IDLE);
  expect(store.checkpointer!.workerRunning).toBe(false);
  await store.close();
  expect(await reopenedKeys()).toBe(60);
});
