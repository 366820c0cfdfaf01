// A refused file changes no stored state: what it declared before still counts as declared for the prune
// decision until it reads cleanly (as Flux keeps a Kustomization's inventory when its build fails), so a
// refused read can never let another file's prune through. Real files, the real store and intake; batches
// driven by hand.
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { Intake } from '../../src/intake/index.js';
import { DirectorySync } from '../../src/sources/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { serverYaml, tempDir, writeFile } from './helpers.js';

/** Declares the name, but is refused (a schema error, so the name is known). */
const broken = (name: string) => serverYaml(name).replace('http://127.0.0.1:9/mcp', 'not a url');

describe('a refused file and the prune of a name another file dropped', () => {
  let dir: string;
  let cleanup: () => void;
  let store: SqliteResourceStore;
  let sync: DirectorySync;
  const names = async () => (await store.keys()).map((k) => k.split(':').pop()).sort();

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => undefined });
    sync = new DirectorySync({ root: dir, intake, store, tenant: 'default', allowEmptyPrune: false, logger: silentLogger });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('a refused read that stops declaring the name prunes nothing; the next clean read of that file does', async () => {
    writeFile(dir, 'a.yaml', serverYaml('moving'));
    writeFile(dir, 'keep.yaml', serverYaml('keep'));
    await sync.syncBatch([], true);
    writeFile(dir, 'b.yaml', broken('moving'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ failedFiles: 1 });
    // a.yaml drops "moving"; the refused b.yaml declares it, so it is kept.
    writeFile(dir, 'a.yaml', serverYaml('other'));
    expect(await sync.syncBatch(['a.yaml'], false)).toMatchObject({ pruned: 0 });
    expect(await names()).toEqual(['keep', 'moving', 'other']);
    const before = await store.currentResourceVersion();

    // b.yaml, still refused, now declares something else: its earlier declaration still counts.
    writeFile(dir, 'b.yaml', broken('elsewhere'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 0, heldBack: 0, failedFiles: 1 });
    expect(await names()).toEqual(['keep', 'moving', 'other']);
    expect(await store.currentResourceVersion()).toBe(before);
    // Refused again, declaring nothing it could read: still nothing changes.
    writeFile(dir, 'b.yaml', 'type: [');
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 0, heldBack: 0, failedFiles: 1 });
    expect(await names()).toEqual(['keep', 'moving', 'other']);

    // b.yaml reads cleanly without "moving": now no file declares it, and this batch prunes it.
    writeFile(dir, 'b.yaml', serverYaml('elsewhere'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 1, heldBack: 0, failedFiles: 0 });
    expect(await names()).toEqual(['elsewhere', 'keep', 'other']);
  });

  it('a refused file that is removed withdraws its declarations', async () => {
    writeFile(dir, 'a.yaml', serverYaml('moving'));
    writeFile(dir, 'keep.yaml', serverYaml('keep'));
    await sync.syncBatch([], true);
    writeFile(dir, 'b.yaml', broken('moving'));
    writeFile(dir, 'a.yaml', serverYaml('other'));
    await sync.syncBatch(['a.yaml', 'b.yaml'], false);
    expect(await names()).toEqual(['keep', 'moving', 'other']);
    const { rmSync } = await import('node:fs');
    rmSync(`${dir}/b.yaml`);
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 1, failedFiles: 0 });
    expect(await names()).toEqual(['keep', 'other']);
  });
});
