// A full WAL (past the hard limit) is checkpointed by the worker with the store's writer held, not by the
// store's connection on the event loop (store/sqlite/checkpointer.ts): writes made meanwhile wait for it and
// then start the WAL over. When a held checkpoint cannot copy it all (a reader pins a snapshot), the next one
// runs on the connection as before; so does a checkpointer given no way to hold the writer.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import type { NewResource } from '../../src/store/index.js';
import { WalCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { walFrames } from '../support/wal-frames.js';
import { manifest, newResource as fixture } from './conformance/fixtures.js';

const newResource = (name: string): NewResource => ({ ...fixture(name), manifest: manifest(name, name.repeat(50)) });

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpoint-held-'));
  path = join(dir, 'control-plane.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));


it('holds the writer while the worker copies a full WAL; the write after it starts the WAL over', async () => {
  const store = new SqliteResourceStore({ path, views: resourceViews, durability: 'normal', checkpoints: { checkpointPages: 1_000_000, hardLimitPages: 20 } });
  try {
    let i = 0;
    let most = 0;
    while (store.checkpointer!.counts.held === 0 && i < 200) {
      await store.create(newResource(`s-${i++}`));
      most = Math.max(most, walFrames(path));
    }
    expect(store.checkpointer!.counts.held).toBe(1);
    expect(most).toBeGreaterThanOrEqual(20);
    // The write that waited for the held checkpoint started the WAL over: it holds that write's frames alone.
    const one = walFrames(path);
    expect(one).toBeLessThan(20);
    await store.create(newResource('after'));
    expect(walFrames(path)).toBeGreaterThan(one);
    expect(store.checkpointer!.counts.inline).toBe(0);
    expect((await store.keys()).length).toBe(i + 1);
  } finally {
    await store.close();
  }
});

it('falls back to the connection once a held checkpoint could not copy it all (a reader pins a snapshot)', async () => {
  const store = new SqliteResourceStore({ path, views: resourceViews, durability: 'normal', checkpoints: { checkpointPages: 1_000_000, hardLimitPages: 20 } });
  const reader = new Database(path, { readonly: true });
  try {
    await store.create(newResource('first'));
    // An open read transaction: no checkpoint may copy frames past its snapshot.
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM resources').get();
    let i = 0;
    while (store.checkpointer!.counts.inline === 0 && i < 200) await store.create(newResource(`s-${i++}`));
    expect(store.checkpointer!.counts.held).toBeGreaterThanOrEqual(1);
    expect(store.checkpointer!.counts.inline).toBeGreaterThanOrEqual(1);
    reader.prepare('COMMIT').run();
    // Writes went on throughout.
    expect((await store.keys()).length).toBe(i + 1);
  } finally {
    reader.close();
    await store.close();
  }
});

it('checkpoints on the connection past the hard limit when it cannot hold the writer', () => {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v TEXT)');
  const checkpointer = new WalCheckpointer(db, path, { checkpointPages: 1_000_000, hardLimitPages: 20 });
  try {
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 40; i++) {
      insert.run('x'.repeat(4000));
      checkpointer.committed();
    }
    expect(checkpointer.counts.inline).toBeGreaterThanOrEqual(1);
    expect(checkpointer.counts.held).toBe(0);
  } finally {
    void checkpointer.close();
    db.close();
  }
});
