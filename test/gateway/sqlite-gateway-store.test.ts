// The gateway store's transaction: a reconcile worker writes a batch of entries in one, and watchers hear
// of the writes only once they committed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { gatewayEntry } from '../support/gateway-entries.js';

const entry = (name: string, generation = 1): GatewayEntry =>
  gatewayEntry(name, `https://${name}.example.com/mcp`, { headers: { Authorization: `Bearer ${name}-token` }, generation });

let dir: string;
let store: SqliteGatewayStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-store-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('announces the writes of a transaction when it commits, and none of one rolled back', async () => {
  const heard: string[] = [];
  store.watch((fqn) => heard.push(fqn));
  await store.transaction(async () => {
    expect((await store.apply(entry('a')))).toBe(true);
    await store.transaction(() => store.apply(entry('b')));
    expect(heard).toEqual([]);
  });
  expect(heard).toEqual(['default:mcp-server:a', 'default:mcp-server:b']);
  expect((await store.keys())).toEqual(['default:mcp-server:a', 'default:mcp-server:b']);

  await expect(
    store.transaction(async () => {
      await store.apply(entry('a', 2));
      throw new Error('the batch failed');
    }),
  ).rejects.toThrow('the batch failed');
  expect(heard).toHaveLength(2);
  expect((await store.get('default:mcp-server:a'))?.generation).toBe(1);
});

it('skips reading and hashing again when the caller knows both', async () => {
  const first = entry('a');
  await store.apply(first);
  const current = await store.get(first.fqn);
  // The caller's hash equals the stored one: nothing is written.
  expect((await store.apply(first, { hash: current!.configHash, current }))).toBe(false);
  expect((await store.apply(entry('a', 2)))).toBe(true);
  expect((await store.get(first.fqn))).toMatchObject({ generation: 2, headers: { Authorization: 'Bearer a-token' } });
});
