// The descriptors WAL fsyncs go through are all opened as the store opens: an fsync never opens one. One opened
// later would not be told of a writeback error reported before (errseq), and failing to open one then (out of
// descriptors: a burst of sockets) is no failed fsync, yet would end durability until a restart. And a
// checkpoint that reports an I/O error ends durability as a failed fsync does: its pages may never reach disk.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { openWalFsync } from '../../src/store/sqlite/wal-sync.js';
import { newResource } from './conformance/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wal-fsync-descriptors-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('two fsyncs in flight need no descriptor opened then: out of descriptors, both succeed', () => {
  // In a child process: it runs out of descriptors on purpose.
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      `${ROOT}test/support/ts-worker-register.mjs`,
      '--input-type=module',
      '-e',
      `
      import { closeSync, openSync, writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      import { openWalFsync, WalSync } from '${ROOT}src/store/sqlite/wal-sync.ts';
      const db = join(${JSON.stringify(dir)}, 'control-plane.db');
      writeFileSync(db + '-wal', 'frames');
      const wal = new WalSync(openWalFsync(db).sync);
      await wal.sync();
      const hog = [];
      try { for (;;) hog.push(openSync('/dev/null', 'r')); } catch (e) { console.log('exhausted: ' + e.code); }
      const answer = (p) => p.then(() => 'ok', (e) => 'rejected: ' + e.message);
      const [a, b] = await Promise.all([answer(wal.sync()), answer(wal.sync())]);
      for (const fd of hog) closeSync(fd);
      console.log('a ' + a + ', b ' + b + ', later ' + (await answer(wal.sync())));
      `,
    ],
    { cwd: ROOT, timeout: 60_000, encoding: 'utf8' },
  );
  expect(r.stdout).toContain('exhausted: EMFILE');
  expect(r.stdout).toContain('a ok, b ok, later ok');
});

it('a WAL that cannot be opened fails the open, naming the file', () => {
  expect(() => openWalFsync(join(dir, 'missing.db'))).toThrow(`cannot open the write-ahead log ${join(dir, 'missing.db')}-wal to fsync it`);
});

it('a checkpoint that reports an I/O error ends durability: later writes are refused', async () => {
  const store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews, checkpoints: { checkpointPages: 1 } });
  try {
    await store.create(newResource('a'));
    // The checkpointer's own thread (none given), whose first lane is this file's.
    const thread = (store.checkpointer as unknown as { thread: { worker: Worker | undefined } }).thread;
    expect(thread.worker).toBeDefined();
    // What checkpoint-worker.ts answers when SQLite's checkpoint fails with an I/O error (an fsync of the WAL or a write of the file).
    thread.worker!.emit('message', { id: 1, answer: { ok: false, error: 'disk I/O error', code: 'SQLITE_IOERR_FSYNC' } });
    await expect(store.create(newResource('b'))).rejects.toThrow('the write-ahead log could not be made durable (a checkpoint failed: disk I/O error (SQLITE_IOERR_FSYNC))');
  } finally {
    await store.close();
  }
});
