// What follows a commit may fail (a checkpoint that cannot start: the worker thread, the wal-index, the
// inline checkpoint's I/O; a store's bookkeeping): the commit stands. A group's members are answered with the
// commit's outcome, nothing becomes an unhandled rejection, and checkpoints go on at the next commit.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/domain/logger.js';
import { openDatabase } from '../../src/store/sqlite/migrations.js';
import { SqliteUnits, type UnitScope } from '../../src/store/sqlite/units.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { gatewayEntry } from '../support/gateway-entries.js';
import { waitFor } from '../support/wait-for.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commit-hook-failure-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Settles with the promise's outcome, or 'unanswered' if it has not settled by the deadline. */
function outcome<T>(p: Promise<T>, deadlineMs = 10_000): Promise<string> {
  let timer: NodeJS.Timeout;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('unanswered'), deadlineMs)));
  return Promise.race([p.then((v) => `resolved ${String(v)}`, (e: Error) => `rejected ${e.message}`), late]).finally(() => clearTimeout(timer));
}

it("a group's members are answered with the commit's outcome when what follows the commit throws", async () => {
  const db: Database.Database = openDatabase(join(dir, 'units.db'), [{ version: 1, name: 't', sql: 'CREATE TABLE t (v INTEGER)' }]);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const units = new SqliteUnits(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const scope: UnitScope<undefined> = {
      begin: () => undefined,
      end: (_state, ok, outermost) => {
        if (ok && outermost) throw new Error('bookkeeping after the commit failed');
      },
    };
    const a = units.write(() => insert.run(1).changes, scope);
    const b = units.write(() => {
      throw new Error('b refused');
    }, scope);
    expect(await outcome(a)).toBe('resolved 1');
    expect(await outcome(b)).toBe('rejected b refused');
    // The writer is free again: the next group commits.
    expect(await outcome(units.write(() => insert.run(2).changes, scope))).toBe('resolved 1');
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    db.close();
  }
});

it('a checkpoint that could not start is logged, and the next commit starts one', async () => {
  const warnings: string[] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, error: (_f, m) => void warnings.push(m), warn: (_f, m) => void warnings.push(m), child: () => logger };
  const store = new SqliteGatewayStore({ path: join(dir, 'gateway.db'), checkpoints: { checkpointPages: 5, logger } });
  try {
    const checkpointer = store.checkpointer as unknown as { started: () => unknown; counts: { worker: number } };
    // The worker thread cannot be started once (as when new Worker throws: out of memory or threads).
    const started = checkpointer.started.bind(checkpointer);
    let refused = false;
    checkpointer.started = () => {
      if (!refused) {
        refused = true;
        throw new Error('no worker thread');
      }
      return started();
    };
    let i = 0;
    while (!refused && i < 200) await store.apply(gatewayEntry(`s-${i++}`, `https://s-${i}.example.com/mcp`, { headers: { 'X-Padding': 'p'.repeat(3000) } }));
    expect(refused).toBe(true);
    expect(warnings.some((m) => m.includes('checkpoint'))).toBe(true);
    // Later commits start a checkpoint on the worker.
    for (let n = 0; n < 20; n++) await store.apply(gatewayEntry(`t-${n}`, `https://t-${n}.example.com/mcp`, { headers: { 'X-Padding': 'p'.repeat(3000) } }));
    await waitFor(() => checkpointer.counts.worker >= 1, { what: 'a checkpoint on the worker' });
  } finally {
    await store.close();
  }
});
