// WalSync.idle() (a store's close() waits on it) after one of two fsyncs in flight failed: it waits for the
// other one and returns. Were it to loop on sync(), which rejects at once after a failure, it would spin on
// microtasks and the event loop would never turn again (the other fsync's end never arrives); a jest timeout
// in the same process could not fire, so each case runs in a child process with a deadline.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runChild(script: string): { stdout: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, ['--import', `${ROOT}test/support/ts-worker-register.mjs`, '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 60_000,
    encoding: 'utf8',
  });
  return { stdout: r.stdout, signal: r.signal };
}

it('idle() returns once the fsync still in flight ends', () => {
  const r = runChild(`
    import { WalSync } from '${ROOT}src/store/sqlite/wal-sync.ts';
    const calls = [];
    const wal = new WalSync(() => new Promise((resolve, reject) => calls.push({ resolve, reject })));
    const a = wal.sync(); const b = wal.sync();
    a.catch(() => {}); b.catch(() => {});
    calls[0].reject(new Error('EIO'));
    await a.catch(() => {});
    // The second fsync ends on a later turn (as one on the thread pool does).
    setImmediate(() => calls[1].resolve());
    await wal.idle();
    console.log('idle returned; b ' + (await b.then(() => 'resolved', (e) => 'rejected: ' + e.message)));
  `);
  expect(r.signal).toBeNull();
  expect(r.stdout).toContain('idle returned; b rejected: the write-ahead log could not be made durable (fsync failed: EIO)');
});

it("a resource store's close() returns after one of two fsyncs in flight failed", () => {
  const r = runChild(`
    import { mkdtempSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { resourceViews } from '${ROOT}src/http/resource-view.ts';
    import { SqliteResourceStore } from '${ROOT}src/store/sqlite/index.ts';
    import { newResource } from '${ROOT}test/store/conformance/fixtures.ts';
    const calls = [];
    const syncWal = () => new Promise((resolve, reject) => calls.push({ resolve, reject }));
    const path = join(mkdtempSync(join(tmpdir(), 'wal-idle-')), 'control-plane.db');
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal });
    const turn = () => new Promise((r) => setImmediate(r));
    const a = store.create(newResource('a')).then(() => 'ok', (e) => 'rejected');
    while (calls.length < 1) await turn();
    const b = store.create(newResource('b')).then(() => 'ok', (e) => 'rejected');
    while (calls.length < 2) await turn();
    calls[0].reject(new Error('EIO'));
    await a;
    setImmediate(() => calls[1].resolve());
    await store.close();
    console.log('closed; a ' + (await a) + ', b ' + (await b));
  `);
  expect(r.signal).toBeNull();
  expect(r.stdout).toContain('closed; a rejected, b rejected');
});
