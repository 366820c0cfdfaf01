// A batch larger than a part (DirectorySync's `part`) is read and committed a part at a time: real files
// in a temp directory, the real store (SQLite in memory), the real intake and parse pool. The same
// scripts run with parts of a few files and as one batch must end in the same state; a failure midway
// prunes nothing and keeps what the parts before it committed; and at no commit are more than two parts'
// readings alive (counted after a full collection, not timed).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { Intake } from '../../src/intake/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { sharedParsePool, type ParsePool } from '../../src/manifest/parse-pool.js';
import { DirectorySync } from '../../src/sources/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const file = (i: number) => `f${String(i).padStart(2, '0')}.yaml`;

interface Harness {
  sync: DirectorySync;
  store: SqliteResourceStore;
  clock: FakeClock;
  /** Makes the n-th unit of work from now on fail before it starts (undefined: none fails). */
  failUnit(n: number | undefined): void;
  /** Called at the start of every unit of work (top level, not a savepoint). */
  onUnit?: () => void;
  close(): Promise<void>;
}

function harness(dir: string, options: { partFiles: number; pruneQuietMs?: number; parsePool?: ParsePool }): Harness {
  const clock = new FakeClock(1_000_000);
  const store = new SqliteResourceStore({ views: resourceViews, path: ':memory:', clock });
  const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => undefined, clock });
  let depth = 0;
  let failIn: number | undefined;
  const h: Harness = {
    sync: undefined as unknown as DirectorySync,
    store,
    clock,
    failUnit: (n) => (failIn = n),
    close: () => store.close(),
  };
  // The store as DirectorySync sees it, with a unit of work that can fail before it begins (a disk error at BEGIN).
  const faulty = new Proxy(store, {
    get(target, prop) {
      if (prop === 'transaction') {
        return async <T>(fn: () => Promise<T>, opts?: unknown): Promise<T> => {
          if (depth === 0) {
            h.onUnit?.();
            if (failIn !== undefined && --failIn === 0) throw new Error('disk I/O error (injected)');
          }
          depth++;
          try {
            return await target.transaction(fn, opts as never);
          } finally {
            depth--;
          }
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  h.sync = new DirectorySync({
    root: dir,
    intake,
    store: faulty,
    tenant: 'default',
    allowEmptyPrune: false,
    logger: silentLogger,
    clock,
    pruneQuietMs: options.pruneQuietMs ?? 0,
    part: { files: options.partFiles },
    parsePool: options.parsePool,
  });
  return h;
}

/** What the store and the source say, with ids replaced by the name that first had them (runs differ in ids). */
async function stateOf(h: Harness, idNames: Map<string, string>) {
  const servers: Record<string, unknown> = {};
  for (const key of (await h.store.keys()).sort()) {
    const r = (await h.store.get(key))!;
    if (!idNames.has(r.id)) idNames.set(r.id, r.name);
    const source = r.source as { path: string; document: number };
    servers[r.name] = { id: idNames.get(r.id), generation: r.generation, path: source.path, document: source.document, description: r.manifest.description };
  }
  const status = await h.sync.status();
  const files = status.files.map((f) => ({ path: f.path, resources: f.resources, errors: f.errors.map((e) => `${e.line}:${e.pointer}: ${e.message}`) }));
  const ready = status.conditions.find((c) => c.type === 'Ready');
  return { servers, files, ready: { status: ready?.status, reason: ready?.reason, message: ready?.message } };
}

/** 30 files of two servers each (f07 declares a name f20 declares too; f25 is broken), then one full sync. */
function writeFirst(dir: string): void {
  for (let i = 0; i < 30; i++) writeFile(dir, file(i), multiDoc(serverYaml(`s${i}a`), serverYaml(`s${i}b`)));
  writeFile(dir, file(7), multiDoc(serverYaml('s7a'), serverYaml('dup', 'from f07')));
  writeFile(dir, file(20), multiDoc(serverYaml('s20a'), serverYaml('dup', 'from f20')));
  writeFile(dir, file(25), multiDoc(serverYaml('s25a'), 'type: mcp-server/remote\nname: s25b\n'));
}

/** Names moving between parts both ways, a swap across parts, a removal, edits, and a new name two files declare. */
function writeSecond(dir: string): void {
  writeFile(dir, file(1), serverYaml('s1a'));
  writeFile(dir, file(27), multiDoc(serverYaml('s27a'), serverYaml('s27b'), serverYaml('s1b', 'moved to f27')));
  writeFile(dir, file(28), serverYaml('s28a'));
  writeFile(dir, file(2), multiDoc(serverYaml('s2a'), serverYaml('s2b'), serverYaml('s28b', 'moved to f02')));
  writeFile(dir, file(3), multiDoc(serverYaml('s24a', 'swapped to f03'), serverYaml('s3b')));
  writeFile(dir, file(24), multiDoc(serverYaml('s3a', 'swapped to f24'), serverYaml('s24b')));
  rmSync(join(dir, file(10)));
  writeFile(dir, file(11), multiDoc(serverYaml('s11a', 'edited'), serverYaml('s11b', 'edited')));
  writeFile(dir, file(4), multiDoc(serverYaml('s4a'), serverYaml('fresh', 'from f04')));
  writeFile(dir, file(26), multiDoc(serverYaml('s26a'), serverYaml('s26b'), serverYaml('fresh', 'from f26')));
  writeFile(dir, file(7), serverYaml('s7a'));
  writeFile(dir, file(25), multiDoc(serverYaml('s25a'), serverYaml('s25b')));
}

describe('DirectorySync in parts', () => {
  let dir: string;
  let cleanup: () => void;
  const open: Harness[] = [];
  const make = (options: Parameters<typeof harness>[1]) => {
    const h = harness(dir, options);
    open.push(h);
    return h;
  };

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
    cleanup();
  });

  it.each([0, 5000])('ends where one batch ends, with names moving across parts (quiet period %i ms)', async (pruneQuietMs) => {
    writeFirst(dir);
    const parted = make({ partFiles: 3, pruneQuietMs });
    const whole = make({ partFiles: 1000, pruneQuietMs });
    const units = { parted: 0, whole: 0 };
    parted.onUnit = () => units.parted++;
    whole.onUnit = () => units.whole++;
    const [partedIds, wholeIds] = [new Map<string, string>(), new Map<string, string>()];

    const first = await parted.sync.syncBatch([], true);
    expect(await whole.sync.syncBatch([], true)).toEqual(first);
    expect(first).toEqual({ applied: 56, pruned: 0, heldBack: 0, failedFiles: 2 });
    expect(await stateOf(parted, partedIds)).toEqual(await stateOf(whole, wholeIds));
    // Ten parts of three files, each its own unit of work (the whole directory: one).
    expect(units).toEqual({ parted: 10, whole: 1 });
    units.parted = 0;

    writeSecond(dir);
    const second = await parted.sync.syncBatch([], true);
    expect(await whole.sync.syncBatch([], true)).toEqual(second);
    const state = await stateOf(parted, partedIds);
    expect(state).toEqual(await stateOf(whole, wholeIds));
    // What moved kept its id and was applied once (one generation); the new name went to the first path.
    expect(state.servers).toMatchObject({
      s1b: { id: 's1b', generation: 2, path: file(27), description: 'moved to f27' },
      s28b: { id: 's28b', generation: 2, path: file(2), description: 'moved to f02' },
      s3a: { id: 's3a', generation: 2, path: file(24) },
      s24a: { id: 's24a', generation: 2, path: file(3) },
      s11a: { generation: 2, description: 'edited' },
      dup: { id: 'dup', generation: 2, path: file(20), description: 'from f20' },
      s25b: { generation: 1, path: file(25) },
      s12a: { generation: 1 },
    });
    if (pruneQuietMs === 0) {
      // f04 dropped s4b and claims the new name first: f26, declaring it too, is refused.
      expect(state.servers).toMatchObject({ fresh: { path: file(4), generation: 1 } });
      expect(state.files.find((f) => f.path === file(26))?.errors).toEqual([expect.stringContaining('already declared in f04.yaml')]);
      expect(second.pruned).toBe(3);
      expect(state.servers).not.toHaveProperty('s10a');
      expect(state.servers).not.toHaveProperty('s4b');
      return;
    }
    // The removed file and f04 (it dropped s4b) are held for the quiet period, as in one batch, so f26 has
    // the new name; the names that moved were not held.
    expect(second.pruned).toBe(0);
    expect(state.servers).toMatchObject({ s10a: { generation: 1, path: file(10) }, s4b: { generation: 1 }, fresh: { path: file(26) } });
    parted.clock.advance(pruneQuietMs);
    whole.clock.advance(pruneQuietMs);
    const third = await parted.sync.syncBatch([], true);
    expect(await whole.sync.syncBatch([], true)).toEqual(third);
    // f10 is pruned; f04 now claims a name f26 holds: refused, it keeps s4b.
    expect(third.pruned).toBe(2);
    expect(await stateOf(parted, partedIds)).toEqual(await stateOf(whole, wholeIds));
  });

  it('a failure midway prunes nothing; the parts before it stay committed and are reported; the next sync completes', async () => {
    for (let i = 0; i < 12; i++) writeFile(dir, file(i), serverYaml(`s${i}`));
    const h = make({ partFiles: 3 });
    await h.sync.syncBatch([], true);
    const generation = async (i: number) => (await h.store.get(`default:mcp-server:s${i}`))?.generation;

    rmSync(join(dir, file(0)));
    for (let i = 1; i < 12; i++) writeFile(dir, file(i), serverYaml(`s${i}`, 'edited'));
    // Parts: f00-f02 (f00 waits: it would prune), f03-f05, f06-f08 (the third unit, fails), f09-f11.
    h.failUnit(3);
    await expect(h.sync.syncBatch([], true)).rejects.toThrow('disk I/O error (injected)');
    h.sync.reportFailure('disk I/O error (injected)');
    expect(await generation(0)).toBe(1);
    for (const i of [1, 2, 3, 4, 5]) expect(await generation(i)).toBe(2);
    for (const i of [6, 7, 8, 9, 10, 11]) expect(await generation(i)).toBe(1);
    const status = await h.sync.status();
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'SyncFailed' });
    // The status shows what the committed parts hold (the edited files' new hashes), and s0 still where it was.
    const hashOf = (path: string) => status.files.find((f) => f.path === path)?.contentHash;
    const before = hashOf(file(9));
    expect(status.files.find((f) => f.path === file(0))?.resources).toEqual(['s0']);
    h.failUnit(undefined);
    const again = await h.sync.syncBatch([], true);
    // Only what was not committed is applied: s1-s5 keep generation 2 (trusted, not applied again).
    expect(again).toMatchObject({ pruned: 1, failedFiles: 0 });
    expect(await generation(0)).toBeUndefined();
    for (let i = 1; i < 12; i++) expect(await generation(i)).toBe(2);
    const after = await h.sync.status();
    expect(after.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(after.files.find((f) => f.path === file(9))?.contentHash).not.toBe(before);
  });

  it('holds no more than two parts of readings at once (one committing, the next read meanwhile)', async () => {
    const FILES = 40;
    const DOCS = 5;
    for (let i = 0; i < FILES; i++) writeFile(dir, file(i), multiDoc(...Array.from({ length: DOCS }, (_, d) => serverYaml(`s${i}-${d}`))));
    // Every manifest the parser hands over, weakly: alive after a full collection means still held.
    const parsed: WeakRef<object>[] = [];
    const pool = sharedParsePool();
    const counting = {
      readManifests: async (text: string, format: 'yaml' | 'json') => {
        const documents = await pool.readManifests(text, format);
        for (const d of documents) if (d.value) parsed.push(new WeakRef(d.value as object));
        return documents;
      },
    } as unknown as ParsePool;
    const h = make({ partFiles: 4, parsePool: counting });
    let most = 0;
    h.onUnit = () => {
      gc();
      most = Math.max(most, parsed.filter((r) => r.deref() !== undefined).length);
    };
    expect(await h.sync.syncBatch([], true)).toMatchObject({ applied: FILES * DOCS, failedFiles: 0 });
    expect(parsed).toHaveLength(FILES * DOCS);
    // Two parts' files, and at most one file more: the last file applied stays referenced until the next
    // unit of work begins (whatever the directory's size). One batch of the whole held all 40 files.
    expect(most).toBeGreaterThanOrEqual(4 * DOCS);
    expect(most).toBeLessThanOrEqual(9 * DOCS);
  });
});
