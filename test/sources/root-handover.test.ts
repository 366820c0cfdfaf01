// A file moved between two watched roots: two DirectorySyncs on one store, joined by a RootHandover as
// ManifestSources joins them, batches driven by hand in either order, time by a FakeClock.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { Intake } from '../../src/intake/index.js';
import { DirectorySync } from '../../src/sources/index.js';
import type { RootHandover } from '../../src/sources/directory-sync.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

const QUIET = 2000;

describe('a name moving between watched roots', () => {
  let a: { dir: string; cleanup(): void };
  let b: { dir: string; cleanup(): void };
  let store: SqliteResourceStore;
  let clock: FakeClock;
  let syncA: DirectorySync;
  let syncB: DirectorySync;
  /** What the handover was told, in order. */
  let told: string[];

  const ids = async () => Object.fromEntries(await Promise.all((await store.keys()).map(async (k) => [k.split(':').pop()!, (await store.get(k))!.id])));
  const deleted = async () => (await store.changesSince(0, 100_000)).filter((c) => c.type === 'DELETED');
  const rootOf = async (name: string) => ((await store.get(`default:mcp-server:${name}`))?.source as { root?: string } | undefined)?.root;

  beforeEach(async () => {
    a = tempDir();
    b = tempDir();
    clock = new FakeClock(1_000_000);
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:', clock });
    const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => undefined, clock });
    told = [];
    const syncs = () => [syncA, syncB];
    const handover: RootHandover = {
      releases: (root, path, name) => syncs().find((s) => s.root === root)?.releases(path, name) ?? false,
      released: (root, names) => told.push(`released ${root === a.dir ? 'a' : 'b'} ${names.join(',')}`),
      taken: (root, path) => told.push(`taken ${root === a.dir ? 'a' : 'b'} ${path}`),
    };
    const newSync = (root: string) =>
      new DirectorySync({ root, intake, store, tenant: 'default', allowEmptyPrune: false, logger: silentLogger, clock, pruneQuietMs: QUIET, handover });
    syncA = newSync(a.dir);
    syncB = newSync(b.dir);
    writeFile(a.dir, 'keep.yaml', serverYaml('keep-a'));
    writeFile(b.dir, 'keep.yaml', serverYaml('keep-b'));
    writeFile(a.dir, 'moving.yaml', multiDoc(serverYaml('m0'), serverYaml('m1')));
    await syncA.syncBatch([], true);
    await syncB.syncBatch([], true);
  });
  afterEach(async () => {
    await store.close();
    a.cleanup();
    b.cleanup();
  });

  it('the source sees the move first: the target adopts the held names, same ids', async () => {
    const before = await ids();
    renameSync(join(a.dir, 'moving.yaml'), join(b.dir, 'moving.yaml'));
    await syncA.syncBatch(['moving.yaml'], false);
    expect(told).toEqual(['released a m0,m1']);
    await syncB.syncBatch(['moving.yaml'], false);
    expect((await rootOf('m0'))).toBe(b.dir);
    expect(told).toEqual(['released a m0,m1', 'taken a moving.yaml']);
    // The source reads its file again (as `taken` asks): nothing is left to hold.
    await syncA.syncBatch(['moving.yaml'], false);
    expect(syncA.nextDue()).toBeUndefined();
    expect((await ids())).toEqual(before);
    expect((await deleted())).toEqual([]);
  });

  it('the target sees it first: refused, then let in once the source holds the names, same ids', async () => {
    const before = await ids();
    renameSync(join(a.dir, 'moving.yaml'), join(b.dir, 'moving.yaml'));
    await syncB.syncBatch(['moving.yaml'], false);
    expect((await rootOf('m0'))).toBe(a.dir);
    expect((await syncB.status()).files.find((f) => f.path === 'moving.yaml')?.errors[0]?.message).toMatch(/managed by/);
    await syncA.syncBatch(['moving.yaml'], false);
    expect(told).toEqual(['released a m0,m1']);
    // What ManifestSources does with `released`: the other root reads its refused files again.
    expect(syncB.refusedDeclaring(['m0', 'm1'])).toEqual(['moving.yaml']);
    await syncB.syncBatch(syncB.refusedDeclaring(['m0', 'm1']), false);
    expect((await rootOf('m1'))).toBe(b.dir);
    await syncA.syncBatch(['moving.yaml'], false);
    clock.advance(QUIET);
    expect(await syncA.syncBatch([], false)).toMatchObject({ pruned: 0 });
    expect((await ids())).toEqual(before);
    expect((await deleted())).toEqual([]);
  });
});
