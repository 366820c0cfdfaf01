// The gateway store's WAL checkpoints run on a worker thread with a connection of its own, as the resource
// store's (store/sqlite/checkpointer.ts): a reconcile batch's COMMIT that passes the threshold no longer
// copies the WAL and fsyncs both files on the event loop. Entries written in units and outside them stay.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { gatewayEntry } from '../support/gateway-entries.js';
import { waitFor } from '../support/wait-for.js';

/** An entry whose headers fill a WAL frame or so. */
const entry = (name: string): GatewayEntry => gatewayEntry(name, `https://${name}.example.com/mcp`, { headers: { 'X-Padding': name.repeat(200) } });

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-checkpointer-'));
  path = join(dir, 'gateway.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function reopenedKeys(): Promise<number> {
  const again = new SqliteGatewayStore({ path });
  try {
    return (await again.keys()).length;
  } finally {
    await again.close();
  }
}

it('checkpoints on a worker, never inside a reconcile batch\'s COMMIT, and keeps every entry', async () => {
  const store = new SqliteGatewayStore({ path, checkpoints: { checkpointPages: 20 } });
  try {
    const db = (store as unknown as { db: Database.Database }).db;
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const fileBefore = statSync(path).size;
    // Batches of entries in one unit each, as the reconciler writes them.
    for (let batch = 0; batch < 6; batch++) {
      await store.transaction(async () => {
        for (let i = 0; i < 10; i++) await store.apply(entry(`s-${batch}-${i}`));
      });
    }
    await waitFor(() => store.checkpointer!.counts.worker >= 1, { what: 'a checkpoint on the worker' });
    expect(store.checkpointer!.counts.inline).toBe(0);
    await waitFor(() => statSync(path).size > fileBefore, { what: 'the database file to grow' });
  } finally {
    await store.close();
  }
  expect(await reopenedKeys()).toBe(60);
});

it('is told of writes outside units too (an entry applied or deleted on its own)', async () => {
  const store = new SqliteGatewayStore({ path, checkpoints: { checkpointPages: 20 } });
  try {
    for (let i = 0; i < 60; i++) await store.apply(entry(`s-${i}`));
    await store.delete('default:mcp-server:s-0');
    await waitFor(() => store.checkpointer!.counts.worker >= 1, { what: 'a checkpoint on the worker' });
    expect(store.checkpointer!.counts.inline).toBe(0);
  } finally {
    await store.close();
  }
  expect(await reopenedKeys()).toBe(59);
});

it('has no checkpointer in memory', async () => {
  const store = new SqliteGatewayStore({ path: ':memory:' });
  try {
    expect(store.checkpointer).toBeUndefined();
    await store.apply(entry('a'));
    expect(await store.keys()).toEqual(['default:mcp-server:a']);
  } finally {
    await store.close();
  }
});
