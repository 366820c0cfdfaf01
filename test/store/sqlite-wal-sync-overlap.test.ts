// Two fsyncs of the WAL in flight at once (store/sqlite/wal-sync.ts): a commit made while one runs starts
// its own at once and is answered when that one completes, without waiting for the one before; never more
// than two run; a failure of either fails every write not yet answered. The fsyncs are held by the test;
// the last test fsyncs a real file through openWalFsync, two at once.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWalFsync, WalSync } from '../../src/store/sqlite/wal-sync.js';

/** An fsync the test holds: each call waits until the test releases it (or fails it). */
class HeldSync {
  readonly calls: { release: () => void; fail: (err: Error) => void }[] = [];
  readonly sync = (): Promise<void> => new Promise<void>((resolve, reject) => this.calls.push({ release: resolve, fail: reject }));
}

/** The state of a promise once the turns in flight ran. */
async function stateOf(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return state;
}

describe('WalSync: two fsyncs in flight', () => {
  it('answers a commit made during an fsync by the one started for it, while the first still runs', async () => {
    const held = new HeldSync();
    const wal = new WalSync(held.sync);
    const answered: string[] = [];
    const first = wal.sync().then(() => answered.push('first'));
    const second = wal.sync().then(() => answered.push('second'));
    // The second did not wait for the first to end.
    expect(held.calls).toHaveLength(2);
    // It ends first: it started after the first's commits too, so it answers both, in the order they called.
    held.calls[1]!.release();
    expect([await stateOf(first), await stateOf(second)]).toEqual(['resolved', 'resolved']);
    expect(answered).toEqual(['first', 'second']);
    held.calls[0]!.release();
    await new Promise((r) => setImmediate(r));
    expect(answered).toEqual(['first', 'second']);
  });

  it('never answers a later caller before an earlier one', async () => {
    const held = new HeldSync();
    const wal = new WalSync(held.sync);
    const answered: number[] = [];
    const calls = [wal.sync(), wal.sync()].map((p, i) => p.then(() => answered.push(i)));
    // The first fsync ends first: it answers its own caller only (it started before the second's commit).
    held.calls[0]!.release();
    await new Promise((r) => setImmediate(r));
    expect(answered).toEqual([0]);
    held.calls[1]!.release();
    await Promise.all(calls);
    expect(answered).toEqual([0, 1]);
  });

  it('runs no third while two run: the commits made meanwhile share the next one', async () => {
    const held = new HeldSync();
    const wal = new WalSync(held.sync);
    void wal.sync();
    void wal.sync();
    const c = wal.sync();
    const d = wal.sync();
    expect(held.calls).toHaveLength(2);
    held.calls[0]!.release();
    await new Promise((r) => setImmediate(r));
    expect(held.calls).toHaveLength(3);
    held.calls[2]!.release();
    expect([await stateOf(c), await stateOf(d)]).toEqual(['resolved', 'resolved']);
    held.calls[1]!.release();
    await new Promise((r) => setImmediate(r));
    // Nothing waits: no fourth.
    expect(held.calls).toHaveLength(3);
  });

  it('fails the writes of an fsync that succeeds after a concurrent one failed, and every write after', async () => {
    const held = new HeldSync();
    const wal = new WalSync(held.sync);
    const a = wal.sync();
    const b = wal.sync();
    held.calls[0]!.fail(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(a).rejects.toThrow(/could not be made durable \(fsync failed: EIO/);
    // The failed one may have dropped pages the second never saw: its success proves nothing.
    held.calls[1]!.release();
    await expect(b).rejects.toThrow(/could not be made durable/);
    await expect(wal.sync()).rejects.toThrow(/could not be made durable/);
    expect(held.calls).toHaveLength(2);
  });

  it('fsyncs a real WAL file twice at once, each through a descriptor of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-overlap-'));
    const db = join(dir, 'control-plane.db');
    writeFileSync(`${db}-wal`, 'frames');
    const descriptors = () => readdirSync('/proc/self/fd').length;
    try {
      const before = descriptors();
      const wal = openWalFsync(db);
      const sync = new WalSync(wal.sync);
      await Promise.all([sync.sync(), sync.sync()]);
      // One descriptor opened with it, one more for the second fsync in flight; reused afterwards.
      expect(descriptors() - before).toBe(2);
      await Promise.all([sync.sync(), sync.sync()]);
      expect(descriptors() - before).toBe(2);
      wal.close();
      expect(descriptors()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
