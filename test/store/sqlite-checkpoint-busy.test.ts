// A checkpoint that finds another connection checkpointing (gateway.db has a checkpointer on each thread that
// writes it) answers busy (busy=1, log=-1, checkpointed=-1): it copied nothing. A held checkpoint answered so fell
// short (the next one at the hard limit runs on the connection), and counts as busy, not as a checkpoint run.
// The other checkpointer is played by a process holding SQLite's checkpoint lock (byte 121 of the -shm file).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { gatewayEntry } from '../support/gateway-entries.js';
import { requireSystemBinary } from '../support/system-binary.js';

// Node has no fcntl: python3 holds the lock (skipped loudly without it; .ci/run installs it).
const python = requireSystemBinary('python3', ['python3'], { install: 'apt-get install -y python3' });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpoint-busy-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Another process holding the WAL's checkpoint lock (SQLite's unix VFS: an fcntl lock on byte 120 + 1 of -shm). */
async function holdCheckpointLock(shm: string): Promise<ChildProcess> {
  const child = spawn(python.path!, ['-c', 'import fcntl, sys\nf = open(sys.argv[1], "r+b")\nfcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 121)\nprint("locked", flush=True)\nsys.stdin.read()', shm], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return child;
}

python.it('a busy held checkpoint fell short: the next one at the hard limit runs on the connection', async () => {
  const path = join(dir, 'gateway.db');
  const store = new SqliteGatewayStore({ path, checkpoints: { checkpointPages: 1_000_000, hardLimitPages: 20 } });
  const holder = await holdCheckpointLock(`${path}-shm`);
  try {
    const counts = store.checkpointer!.counts;
    for (let i = 0; i < 200 && counts.inline === 0; i++) {
      await store.apply(gatewayEntry(`s-${i}`, `https://s-${i}.example.com/mcp`, { headers: { 'X-Padding': 'p'.repeat(3000) } }));
      // A read after each write waits for a held checkpoint (it holds the writer); a turn lets its answer in.
      await new Promise((resolve) => setImmediate(resolve));
      await store.keys();
    }
    expect(counts.held).toBe(1);
    expect(counts.busy).toBe(1);
    expect(counts.worker).toBe(0);
    expect(counts.inline).toBeGreaterThanOrEqual(1);
  } finally {
    holder.stdin!.end();
    await store.close();
  }
});
