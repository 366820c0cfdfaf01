// The resource store's WAL checkpoints run on a worker thread with a connection of its own (see
// store/sqlite/checkpointer.ts), not inside a COMMIT on the event loop; past the hard limit the store's
// connection checkpoints itself. Either way what was written stays, and the WAL is copied into the file.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import type { NewResource } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { manifest, newResource as fixture } from './conformance/fixtures.js';
import { waitFor } from '../support/wait-for.js';

/** A server whose manifest fills a few WAL frames. */
const newResource = (name: string): NewResource => ({ ...fixture(name), manifest: manifest(name, name.repeat(50)) });

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
  path = join(dir, 'control-plane.db');
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

describe('WAL checkpoints off the event loop', () => {
  it('never checkpoints inside a COMMIT: a worker copies the WAL into the database file once it passed the threshold', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews, checkpoints: { checkpointPages: 20 } });
    try {
      const db = (store as unknown as { db: Database.Database }).db;
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      const fileBefore = statSync(path).size;
      for (let i = 0; i < 60; i++) await store.create(newResource(`s-${i}`));
      await waitFor(() => store.checkpointer!.counts.worker >= 1, { what: 'a checkpoint on the worker' });
      expect(store.checkpointer!.counts.inline).toBe(0);
      // The pages reached the database file itself.
      await waitFor(() => statSync(path).size > fileBefore, { what: 'the database file to grow' });
      // Writes go on while and after it ran.
      for (let i = 60; i < 80; i++) await store.create(newResource(`s-${i}`));
    } finally {
      await store.close();
    }
    expect(await reopenedKeys()).toBe(80);
  });

  it('past the hard limit holds the writer while the worker copies the rest, never checkpointing on the loop', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews, checkpoints: { checkpointPages: 1_000_000, hardLimitPages: 20 } });
    try {
      for (let i = 0; i < 40; i++) await store.create(newResource(`s-${i}`));
      expect(store.checkpointer!.counts.held).toBeGreaterThanOrEqual(1);
      expect(store.checkpointer!.counts.inline).toBe(0);
    } finally {
      await store.close();
    }
    expect(await reopenedKeys()).toBe(40);
  });

  it('lets a unit that was open when the store began to close commit, and keeps its write', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews, durability: 'normal' });
    await store.create(newResource('a'));
    const unit = store.transaction(async () => {
      for (let i = 0; i < 20; i++) await store.get('default:mcp-server:a');
      await store.create(newResource('b'));
    });
    const closed = store.close();
    await expect(unit).resolves.toBeUndefined();
    await closed;
    expect(await reopenedKeys()).toBe(2);
  });
});
