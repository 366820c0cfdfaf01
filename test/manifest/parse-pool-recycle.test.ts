// A kept parse worker (a server's pool, no idleMs) that parsed much is replaced by a fresh one once idle, so
// the heap a cold sync grew in it is given back; one that parsed little, or is busy, is kept.
import { readFileSync } from 'node:fs';
import { ParsePool, RECYCLE_IDLE_MS } from '../../src/manifest/parse-pool.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';

const fixture = readFileSync(new URL('../fixtures/manifests/remote-full.yaml', import.meta.url), 'utf8');

let pool: ParsePool;
let clock: FakeClock;
afterEach(async () => {
  await pool.close();
});

test('after texts past recycleBytes and RECYCLE_IDLE_MS idle, the worker is replaced by a fresh, warm one that parses', async () => {
  clock = new FakeClock();
  pool = new ParsePool({ clock, recycleBytes: 3 * fixture.length });
  pool.warm();
  for (let i = 0; i < 3; i++) expect((await pool.readManifests(fixture, 'yaml'))[0]!.valid).toBe(true);
  expect(pool.startedWorkers()).toBe(1);
  clock.advance(RECYCLE_IDLE_MS - 1);
  await flushPromises();
  expect(pool.startedWorkers()).toBe(1);
  clock.advance(1);
  await waitFor(() => pool.startedWorkers() === 2, { what: 'a fresh worker' });
  expect(pool.workers()).toBe(1);
  expect((await pool.readManifests(fixture, 'yaml'))[0]!.valid).toBe(true);
  // The fresh worker has parsed little: it is kept.
  clock.advance(RECYCLE_IDLE_MS * 3);
  await flushPromises();
  expect(pool.startedWorkers()).toBe(2);
});

test('a worker given a text before the idle time ran out is kept (the timer starts again when it is idle)', async () => {
  clock = new FakeClock();
  pool = new ParsePool({ clock, recycleBytes: fixture.length });
  await pool.readManifests(fixture, 'yaml');
  clock.advance(RECYCLE_IDLE_MS - 1);
  await pool.readManifests(fixture, 'yaml');
  clock.advance(RECYCLE_IDLE_MS - 1);
  await flushPromises();
  expect(pool.startedWorkers()).toBe(1);
  clock.advance(1);
  await waitFor(() => pool.startedWorkers() === 2, { what: 'a fresh worker' });
});
