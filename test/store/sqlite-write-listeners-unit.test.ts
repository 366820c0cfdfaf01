// SQLite: write listeners hear of a unit's writes once it committed, never of a unit or savepoint that
// rolled back (as the gateway store's watch listeners do).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { newResource } from './conformance/fixtures.js';

let dir: string;
let store: SqliteResourceStore;
let heard = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqlite-write-listeners-'));
  store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  heard = 0;
  store.onWrite(() => heard++);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a unit that rolls back is never heard of', async () => {
  await expect(
    store.transaction(async () => {
      await store.create(newResource('a'));
      throw new Error('the unit fails');
    }),
  ).rejects.toThrow('the unit fails');
  expect(heard).toBe(0);
  expect(await store.keys()).toEqual([]);
});

it('a unit is heard of after its commit, not while open; a savepoint that rolled back adds nothing', async () => {
  let heardInside = -1;
  await store.transaction(async () => {
    await store.create(newResource('a'));
    await expect(
      store.transaction(async () => {
        await store.create(newResource('b'));
        throw new Error('this one is refused');
      }),
    ).rejects.toThrow('this one is refused');
    heardInside = heard;
  });
  expect(heardInside).toBe(0);
  expect(heard).toBeGreaterThan(0);
});

it('a unit whose only writes were in a savepoint that rolled back is never heard of', async () => {
  await store.transaction(async () => {
    await expect(
      store.transaction(async () => {
        await store.create(newResource('b'));
        throw new Error('this one is refused');
      }),
    ).rejects.toThrow('this one is refused');
  });
  expect(heard).toBe(0);
});

it('a write outside a unit is heard of at once', async () => {
  await store.create(newResource('a'));
  expect(heard).toBe(1);
});
