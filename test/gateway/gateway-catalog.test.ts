// The data plane's catalog over a real SQLite gateway store whose reads are asynchronous: a cached entry
// answers at once, concurrent misses share one read and announce nothing, a change heard during a read
// is read again, and a change of a cached entry is announced once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayCatalog } from '../../src/gateway/data-plane/gateway-catalog.js';
import type { StoredGatewayEntry } from '../../src/gateway/gateway-entry.js';
import type { GatewayReader } from '../../src/store/index.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { fqnOf, gatewayEntry } from '../store/conformance/fixtures.js';
import { waitFor } from '../support/wait-for.js';

let dir: string;
let store: SqliteGatewayStore;
let catalog: GatewayCatalog | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-catalog-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
});
afterEach(async () => {
  catalog?.close();
  catalog = undefined;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The store, counting its reads of one entry; `beforeRead` runs as each read starts. */
function counted(beforeRead: () => Promise<void> | void = () => {}): { reader: GatewayReader; reads: () => number } {
  let reads = 0;
  const reader: GatewayReader = {
    get: async (fqn) => {
      reads++;
      await beforeRead();
      return store.get(fqn);
    },
    list: () => store.list(),
    keys: () => store.keys(),
    count: () => store.count(),
    syncStates: () => store.syncStates(),
    watch: (listener) => store.watch(listener),
    externalRevision: () => store.externalRevision(),
  };
  return { reader, reads: () => reads };
}

function open(reader: GatewayReader): { changes: [string, StoredGatewayEntry | undefined][] } {
  const changes: [string, StoredGatewayEntry | undefined][] = [];
  catalog = new GatewayCatalog({ store: reader, onChange: (fqn, entry) => void changes.push([fqn, entry]), pollIntervalMs: 0 });
  return { changes };
}

it('reads two concurrent misses of one entry once, announces neither, and answers a cached entry at once', async () => {
  await store.apply(gatewayEntry('a'));
  const { reader, reads } = counted();
  const { changes } = open(reader);
  expect(catalog!.cached(fqnOf('a'))).toBeUndefined();
  const [first, second] = await Promise.all([catalog!.get(fqnOf('a')), catalog!.get(fqnOf('a'))]);
  expect(first?.generation).toBe(1);
  expect(second).toBe(first);
  expect(reads()).toBe(1);
  expect(changes).toEqual([]);
  expect(catalog!.cached(fqnOf('a'))).toBe(first);
  expect(await catalog!.get(fqnOf('a'))).toBe(first);
  expect(reads()).toBe(1);
});

it('reads again when the entry changes during a miss\'s read, and answers the change', async () => {
  await store.apply(gatewayEntry('a'));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = true;
  const { reader, reads } = counted(() => (held ? gate : undefined));
  const { changes } = open(reader);
  const answer = catalog!.get(fqnOf('a'));
  await waitFor(() => reads() === 1, { what: 'the miss to start reading' });
  // Written while the read is under way: the watch tells the catalog, which reads again.
  held = false;
  await store.apply(gatewayEntry('a', 2));
  release();
  expect((await answer)?.generation).toBe(2);
  expect(reads()).toBe(2);
  expect(changes).toEqual([]);
});

it('announces a change of a cached entry once, and its deletion', async () => {
  await store.apply(gatewayEntry('a'));
  const { reader } = counted();
  const { changes } = open(reader);
  await catalog!.get(fqnOf('a'));
  await store.apply(gatewayEntry('a', 2));
  await waitFor(() => changes.length === 1, { what: 'the change to be announced' });
  expect(changes[0]?.[1]?.generation).toBe(2);
  expect(catalog!.cached(fqnOf('a'))?.generation).toBe(2);
  await store.delete(fqnOf('a'));
  await waitFor(() => changes.length === 2, { what: 'the deletion to be announced' });
  expect(changes[1]).toEqual([fqnOf('a'), undefined]);
  expect(catalog!.cached(fqnOf('a'))).toBeUndefined();
});
