// --durability full on SQLite: every commit runs at synchronous=NORMAL and the WAL is fsynced off the event
// loop (store/sqlite/wal-sync.ts) before a write is answered. These tests hold that fsync (injected) to see
// what waits for it and what does not, and kill a writer process to see that an answered write stays.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initialStatus } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { newResource } from './conformance/fixtures.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** An fsync the test holds: each call waits until the test releases it (or fails it). */
class HeldSync {
  readonly calls: { release: () => void; fail: (err: Error) => void }[] = [];
  readonly sync = (): Promise<void> => new Promise<void>((resolve, reject) => this.calls.push({ release: resolve, fail: reject }));
}

/** Whether a promise has settled, asked after the turns in flight ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return done;
}

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
  path = join(dir, 'control-plane.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('--durability full: the WAL fsynced off the event loop', () => {
  it('answers a write only after the fsync that started after its commit, and its listeners hear of it only then', async () => {
    const held = new HeldSync();
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal: held.sync });
    const other = new Database(path, { readonly: true });
    const heard: number[] = [];
    store.onWrite(() => heard.push(heard.length));
    try {
      const create = store.create(newResource('a'));
      // The group commit ran (another connection sees the row) and its fsync started; no answer yet.
      await waitFor(() => held.calls.length === 1, { what: 'the fsync of the group commit' });
      expect(other.prepare('SELECT count(*) FROM resources').pluck().get()).toBe(1);
      expect(await settled(create)).toBe(false);
      expect(heard).toEqual([]);
      held.calls[0]!.release();
      expect((await create).name).toBe('a');
      await waitFor(() => heard.length === 1, { what: 'the write listener' });
    } finally {
      other.close();
      held.calls.forEach((c) => c.release());
      await store.close();
    }
  });

  it('covers a commit made while an fsync runs with one started after it, never with the running one', async () => {
    const held = new HeldSync();
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal: held.sync });
    try {
      const a = store.create(newResource('a'));
      await waitFor(() => held.calls.length === 1, { what: 'the first fsync' });
      // b commits while the first fsync runs: a second starts for it (two may run at once, wal-sync.ts).
      const b = store.create(newResource('b'));
      await waitFor(() => held.calls.length === 2, { what: 'the second fsync' });
      // c commits while both run: it waits for the next one, which starts when one of them ends.
      const c = store.create(newResource('c'));
      await waitFor(async () => (await store.keys()).length === 3, { what: 'c committed' });
      expect(held.calls).toHaveLength(2);
      held.calls[0]!.release();
      await a;
      expect(await settled(b)).toBe(false);
      await waitFor(() => held.calls.length === 3, { what: 'the third fsync' });
      expect(await settled(c)).toBe(false);
      held.calls[1]!.release();
      await b;
      expect(await settled(c)).toBe(false);
      held.calls[2]!.release();
      await c;
      expect(held.calls).toHaveLength(3);
    } finally {
      held.calls.forEach((call) => call.release());
      await store.close();
    }
  });

  it('settles a unit after its fsync, a derived unit (the reconciler\'s) without waiting for one', async () => {
    const held = new HeldSync();
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal: held.sync });
    try {
      const created = store.create(newResource('a'));
      await waitFor(() => held.calls.length === 1, { what: 'the create\'s fsync' });
      held.calls[0]!.release();
      await created;
      const status = { ...initialStatus(), observedGeneration: 1 };
      await store.transaction(() => store.setStatus('default:mcp-server:a', status).then(() => undefined), { derived: true });
      expect(held.calls).toHaveLength(1);
      const unit = store.transaction(() => store.create(newResource('b')).then(() => undefined));
      await waitFor(() => held.calls.length === 2, { what: 'the unit\'s fsync' });
      expect(await settled(unit)).toBe(false);
      held.calls[1]!.release();
      await unit;
    } finally {
      held.calls.forEach((call) => call.release());
      await store.close();
    }
  });

  it('fails a write whose fsync failed, and every write after it (the file\'s state on disk is unknown)', async () => {
    const held = new HeldSync();
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal: held.sync });
    try {
      const a = store.create(newResource('a'));
      await waitFor(() => held.calls.length === 1, { what: 'the fsync' });
      held.calls[0]!.fail(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
      await expect(a).rejects.toThrow(/write-ahead log could not be made durable \(fsync failed: EIO: i\/o error, fsync\); restart/);
      await expect(store.create(newResource('b'))).rejects.toThrow(/could not be made durable/);
      expect(held.calls).toHaveLength(1);
      // Refused, not committed: the failed write's fate is unknown, but nothing after it is applied.
      expect(await store.keys()).toEqual(['default:mcp-server:a']);
      await expect(store.transaction(() => store.create(newResource('c')), { derived: true })).rejects.toThrow(/could not be made durable/);
      expect(await store.keys()).toEqual(['default:mcp-server:a']);
    } finally {
      await store.close();
    }
  });

  it('hands a change to a reader of the changelog (the watch feed) only once it is durable', async () => {
    const held = new HeldSync();
    const store = new SqliteResourceStore({ path, views: resourceViews, syncWal: held.sync });
    try {
      const a = store.create(newResource('a'));
      await waitFor(() => held.calls.length === 1, { what: 'the fsync of the group commit' });
      // Committed, its fsync running: the change is read, but not answered until an fsync started after the read completes.
      const read = store.changesSince(0, 100);
      expect(await settled(read)).toBe(false);
      held.calls[0]!.release();
      await a;
      await waitFor(() => held.calls.length === 2, { what: 'the fsync the read waits for' });
      expect(await settled(read)).toBe(false);
      held.calls[1]!.release();
      expect((await read).map((c) => c.fqn)).toEqual(['default:mcp-server:a']);
    } finally {
      held.calls.forEach((c) => c.release());
      await store.close();
    }
  });

  it('undoes a group member that fails after its first rows, its neighbours and the ref index untouched', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews });
    try {
      await store.create(newResource('existing'));
      expect([...(await store.fileRefs('default', '')).keys()]).toEqual([]);
      // The event's NOT NULL columns refuse it after the row, its changelog entry and its revision were written.
      const broken = { type: null, reason: null, message: null, actor: null } as unknown as NonNullable<Parameters<SqliteResourceStore['create']>[1]>['events'];
      const [a, bad, c] = await Promise.allSettled([
        store.create(newResource('a')),
        store.create(newResource('bad'), { events: broken }),
        store.create(newResource('c')),
      ]);
      expect([a.status, bad.status, c.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await store.keys()).sort()).toEqual(['default:mcp-server:a', 'default:mcp-server:c', 'default:mcp-server:existing']);
      expect(await store.get('default:mcp-server:bad')).toBeUndefined();
      expect(await store.revisedIdOf('default:mcp-server:bad')).toBeUndefined();
      const changes = await store.changesSince(0, 100);
      expect(changes.map((ch) => ch.fqn).filter((f) => f.endsWith(':bad'))).toEqual([]);
      expect((await store.listRefs('default')).map((r) => r.fqn).sort()).toEqual(['default:mcp-server:a', 'default:mcp-server:c', 'default:mcp-server:existing']);
    } finally {
      await store.close();
    }
  });

  it('commits at synchronous=NORMAL, never OFF: a checkpoint (the checkpointer\'s) fsyncs the WAL and the database file', async () => {
    const store = new SqliteResourceStore({ path, views: resourceViews });
    try {
      await store.create(newResource('a'));
      const db = (store as unknown as { db: Database.Database }).db;
      // NORMAL in WAL mode: no fsync at commit (the WAL's is ours), both at each checkpoint; never OFF.
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      // Checkpoints run on the checkpointer's connection, at NORMAL too (sqlite-checkpointer.test.ts).
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      expect(store.durability()).toBe('full');
    } finally {
      await store.close();
    }
  });

  it('keeps every answered write when the writing process is killed (SIGKILL) at any moment', async () => {
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/support/ts-worker-register.mjs'), join(ROOT, 'test/support/durable-writer.ts'), path], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(() => out.split('\n').length > 200 || child.exitCode !== null, { timeoutMs: 60_000, what: '200 answered creates' });
      expect(child.exitCode).toBeNull();
      child.kill('SIGKILL');
      await exited;
      const answered = out.split('\n').filter(Boolean);
      const store = new SqliteResourceStore({ path, views: resourceViews });
      try {
        const keys = new Set(await store.keys());
        expect(answered.filter((name) => !keys.has(`default:mcp-server:${name}`))).toEqual([]);
        expect(keys.size).toBeGreaterThanOrEqual(answered.length);
      } finally {
        await store.close();
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nchild stderr:\n${err}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
