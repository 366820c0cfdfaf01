// The SQLite changelog keeps a status write's entry as its status alone (the manifest is held once, by the
// entry of the write that changed it), reads it back as the whole resource, and never prunes the full
// entry a kept status entry is read from: resuming a watch answers the same objects as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ResourceStatus } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { fqnOf, newResource, readyStatus, updateOf } from './conformance/fixtures.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'changelog-compact-'));
  path = join(dir, 'control-plane.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const statusNo = (i: number): ResourceStatus => ({ ...readyStatus(1), conditions: [{ ...readyStatus(1).conditions[0]!, message: `status ${i}` }] });

function rawRows(): { resource_version: number; fqn: string; type: string; object: string }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT resource_version, fqn, type, object FROM changelog ORDER BY resource_version').all() as never;
  } finally {
    db.close();
  }
}

describe('the SQLite changelog', () => {
  it('stores a status write as its status alone and answers it as the whole resource', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews });
    try {
      await store.create(newResource('a'));
      await store.create(newResource('b'));
      const afterEach: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        await store.setStatus(fqnOf('a'), statusNo(i));
        afterEach.push(await store.get(fqnOf('a')));
      }
      await store.update(fqnOf('a'), updateOf('a', 2));
      await store.setStatus(fqnOf('a'), statusNo(9));
      const rows = rawRows();
      expect(rows.map((r) => r.type)).toEqual(['ADDED', 'ADDED', 'STATUS', 'STATUS', 'STATUS', 'MODIFIED', 'STATUS']);
      // A status entry holds the status, not the manifest.
      expect(JSON.parse(rows[2]!.object)).toEqual(statusNo(0));
      const changes = await store.changesSince(0, 100);
      const added = changes[0]!.object;
      for (let i = 0; i < 3; i++) {
        const c = changes[2 + i]!;
        // The resource as stored after that write (the manifest masked, as every changelog object is).
        expect(c.object).toEqual({ ...added, resourceVersion: c.resourceVersion, status: statusNo(i) });
        expect(c.object.status).toEqual((afterEach[i] as { status: unknown }).status);
        expect(c.type).toBe('MODIFIED');
      }
      // After an update the status entry is read from the update's entry (generation 2).
      expect(changes[6]!.object).toEqual({ ...changes[5]!.object, resourceVersion: changes[6]!.resourceVersion, status: statusNo(9) });
      expect(changes[6]!.object.generation).toBe(2);
      // A page that starts at a status entry finds its full entry before the page.
      expect(await store.changesSince(changes[2]!.resourceVersion, 2)).toEqual(changes.slice(3, 5));
    } finally {
      await store.close();
    }
  });

  it('writes out the first kept status entry of a resource whose full entry is pruned, so resuming answers the same objects', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const store = new SqliteResourceStore({ path, views: resourceViews, clock, changelogMinEntries: 100, changelogMinAgeMs: 0 });
    try {
      await store.create(newResource('a'));
      await store.create(newResource('b'));
      // Every write below is a status write of a or b; housekeeping runs after the 500th write.
      const seen = new Map<number, unknown>();
      const write = async (i: number) => {
        clock.advance(1000);
        await store.setStatus(fqnOf(i % 2 === 0 ? 'a' : 'b'), statusNo(i));
      };
      for (let i = 0; i < 480; i++) await write(i);
      // What a watch would have been answered for every version, before anything was pruned.
      expect(await store.oldestRetainedResourceVersion()).toBe(1);
      for (const c of await store.changesSince(0, 1000)) seen.set(c.resourceVersion, c.object);
      for (let i = 480; i < 520; i++) await write(i);
      for (const c of await store.changesSince(0, 1000)) if (!seen.has(c.resourceVersion)) seen.set(c.resourceVersion, c.object);
      const oldest = await store.oldestRetainedResourceVersion();
      expect(oldest).toBeGreaterThan(2); // both ADDED entries were pruned
      const rows = rawRows();
      const firstOf = (fqn: string) => rows.find((r) => r.fqn === fqn)!;
      // The first kept entry of each resource is full again; the ones after it stay status only.
      expect(firstOf(fqnOf('a')).type).toBe('MODIFIED');
      expect(firstOf(fqnOf('b')).type).toBe('MODIFIED');
      expect(rows.filter((r) => r.type === 'STATUS').length).toBe(rows.length - 2);
      // Resuming from the oldest kept version answers what was answered for those versions before the prune.
      const resumed = await store.changesSince(oldest - 1, 1000);
      expect(resumed.length).toBe(rows.length);
      for (const c of resumed) expect(c.object).toEqual(seen.get(c.resourceVersion));
      expect(resumed.at(-1)!.object.status).toEqual(statusNo(519));
    } finally {
      await store.close();
    }
  });
});
