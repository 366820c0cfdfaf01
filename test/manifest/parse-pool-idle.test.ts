// A parse worker's lifecycle on a fake clock: a server's pool (no idleMs given) ends its worker after IDLE_MS
// without work, sooner (RECYCLE_IDLE_MS) once it parsed recycleBytes; the next text starts a fresh worker,
// and no text is lost to a worker ending: one given before the idle time ran out keeps the worker, one
// given as it ends goes to a fresh one.
import { readFileSync } from 'node:fs';
import { IDLE_MS, ParsePool, RECYCLE_IDLE_MS } from '../../src/manifest/parse-pool.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const fixture = readFileSync(new URL('../fixtures/manifests/remote-full.yaml', import.meta.url), 'utf8');

let pool: ParsePool;
let clock: FakeClock;
beforeEach(() => {
  clock = new FakeClock();
});
afterEach(async () => {
  await pool.close();
});

const parses = async () => expect((await pool.readManifests(fixture, 'yaml'))[0]!.valid).toBe(true);

test('a warm worker left idle ends after IDLE_MS, not before; the next text starts a fresh one', async () => {
  pool = new ParsePool({ clock, inlineMaxBytes: 0 });
  pool.warm();
  await parses();
  clock.advance(IDLE_MS - 1);
  await flushPromises();
  expect(pool.workers()).toBe(1);
  clock.advance(1);
  expect(pool.workers()).toBe(0);
  await parses();
  expect(pool.startedWorkers()).toBe(2);
  expect(pool.workers()).toBe(1);
});

test('a worker that parsed recycleBytes ends after RECYCLE_IDLE_MS, and none starts until the next text', async () => {
  pool = new ParsePool({ clock, recycleBytes: 3 * fixture.length, inlineMaxBytes: 0 });
  for (let i = 0; i < 3; i++) await parses();
  clock.advance(RECYCLE_IDLE_MS - 1);
  await flushPromises();
  expect(pool.workers()).toBe(1);
  clock.advance(1);
  await flushPromises();
  expect(pool.workers()).toBe(0);
  expect(pool.startedWorkers()).toBe(1);
  await parses();
  expect(pool.startedWorkers()).toBe(2);
});

test('a text given before the idle time ran out keeps the worker, whose idle time starts again', async () => {
  pool = new ParsePool({ clock, inlineMaxBytes: 0 });
  await parses();
  clock.advance(IDLE_MS - 1);
  await parses();
  clock.advance(IDLE_MS - 1);
  await flushPromises();
  expect(pool.startedWorkers()).toBe(1);
  expect(pool.workers()).toBe(1);
  clock.advance(1);
  expect(pool.workers()).toBe(0);
});

test('texts given as the worker ends are parsed by a fresh one, none lost', async () => {
  pool = new ParsePool({ clock, size: 1, inlineMaxBytes: 0 });
  await parses();
  clock.advance(IDLE_MS);
  const answers = Promise.all([pool.readManifests(fixture, 'yaml'), pool.readManifests(fixture, 'yaml')]);
  expect((await answers).map((documents) => documents[0]!.valid)).toEqual([true, true]);
  expect(pool.startedWorkers()).toBe(2);
});
