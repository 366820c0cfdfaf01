// gateway.db's connection runs with SQLite's automatic checkpoint off (checkpointer.ts), so every commit on it
// must tell the checkpointer, the credential and OAuth-state writes of the data plane (token refreshes, logins)
// as much as the entries: otherwise, with no entry written, the WAL grows without bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { walFrames } from '../support/wal-frames.js';


/** One event-loop turn, as between requests (the worker's answers arrive as messages). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-credentials-checkpoint-'));
  path = join(dir, 'gateway.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const credential = (i: number) => ({ fqn: `default:mcp-server:s-${i % 10}`, subject: `user-${i}`, kind: 'oauth' as const, secrets: { access_token: 'x'.repeat(2000) }, data: { expires_at: i }, binding: 'b' });

it('checkpoints a WAL that only credential and OAuth-state writes fill, and starts it over', async () => {
  const store = new SqliteGatewayStore({ path, checkpoints: { checkpointPages: 20, hardLimitPages: 60 } });
  let i = 0;
  const write = async () => {
    await store.credentials.putCredential(credential(i));
    if (i % 4 === 0) await store.credentials.putState({ id: `state-${i}`, fqn: 'default:mcp-server:s-0', subject: `user-${i}`, secrets: { verifier: 'v'.repeat(500) }, data: {}, expiresAt: Number.MAX_SAFE_INTEGER }, 0);
    if (i % 8 === 0) await store.credentials.takeState(`state-${i}`);
    if (i % 16 === 0) await store.credentials.deleteCredential(credential(i).fqn, credential(i).subject, 'oauth');
    i++;
    await turn();
  };
  try {
    const checkpoints = () => store.checkpointer!.counts.worker + store.checkpointer!.counts.held + store.checkpointer!.counts.inline;
    while (checkpoints() === 0 && i < 5000) await write();
    expect(checkpoints()).toBeGreaterThan(0);
    // Then the WAL starts over (its frames drop), as it would with entries written: it does not grow for good.
    let frames = walFrames(path);
    let restarted = false;
    for (let n = 0; n < 5000 && !restarted; n++) {
      await write();
      const now = walFrames(path);
      restarted = now < frames;
      frames = now;
    }
    expect(restarted).toBe(true);
  } finally {
    await store.close();
  }
});

it('keeps the WAL within its limit even when writes never let the event loop turn', async () => {
  const hardLimit = 60;
  const store = new SqliteGatewayStore({ path, checkpoints: { checkpointPages: 20, hardLimitPages: hardLimit } });
  try {
    let largest = 0;
    // Each write's promise is settled when awaited: without a hold on the writer the worker's answers (messages) never arrive.
    for (let i = 0; i < 600; i++) {
      await store.credentials.putCredential(credential(i));
      largest = Math.max(largest, walFrames(path));
    }
    expect(store.checkpointer!.counts.held).toBeGreaterThan(0);
    // A write's frames may land past the limit before the writer is held: a few, never without bound.
    expect(largest).toBeLessThan(hardLimit + 10);
  } finally {
    await store.close();
  }
});
