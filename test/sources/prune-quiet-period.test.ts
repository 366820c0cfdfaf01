// DirectorySync with a quiet period before any prune: real files, the real store (SQLite in memory) and
// the real intake; batches driven by hand and time by a FakeClock, so each test says exactly what one
// batch saw and when.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { Intake } from '../../src/intake/index.js';
import { DirectorySync } from '../../src/sources/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

const QUIET = 2000;

describe('DirectorySync: prunes only after the quiet period and a confirming read', () => {
  let dir: string;
  let cleanup: () => void;
  let store: SqliteResourceStore;
  let intake: Intake;
  let clock: FakeClock;

  const newSync = (pruneQuietMs = QUIET) =>
    new DirectorySync({ root: dir, intake, store, tenant: 'default', allowEmptyPrune: false, logger: silentLogger, clock, pruneQuietMs });
  const names = async () => (await store.keys()).map((k) => k.split(':').pop()!).sort();
  const ids = async () => Object.fromEntries(await Promise.all((await names()).map(async (n) => [n, (await store.get(`default:mcp-server:${n}`))!.id])));
  const deleted = async () => (await store.changesSince(0, 100_000)).filter((c) => c.type === 'DELETED').map((c) => c.object.name).sort();
  const servers = (prefix: string, n: number, description?: string) =>
    Array.from({ length: n }, (_, i) => serverYaml(`${prefix}${i}`, description ?? `Server ${prefix}${i}`));

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    clock = new FakeClock(1_000_000);
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:', clock });
    intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => undefined, clock });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('truncate, then the new content a moment later: every server updated in place, none deleted', async () => {
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10)));
    const sync = newSync();
    await sync.syncBatch([], true);
    const before = await ids();

    writeFileSync(join(dir, 'f.yaml'), '');
    expect(await sync.syncBatch(['f.yaml'], false)).toMatchObject({ pruned: 0 });
    expect((await ids())).toEqual(before);
    const file = (await sync.status()).files.find((f) => f.path === 'f.yaml')!;
    expect(file.resources).toHaveLength(10);
    expect(file.errors[0]?.message).toMatch(/no longer declares 10 server\(s\).*kept.*2000 ms/);
    expect((await sync.status()).conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PrunePending' });
    expect(sync.nextDue()).toEqual({ at: 1_002_000, paths: ['f.yaml'] });
    expect((await store.listEvents({ resourceId: (await store.get('default:mcp-server:s3'))!.id, limit: 10 })).map((e) => e.reason)).toContain('PrunePending');

    clock.advance(150);
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10, 'rewritten')));
    await sync.syncBatch(['f.yaml'], false);
    expect((await ids())).toEqual(before);
    expect((await store.get('default:mcp-server:s3'))).toMatchObject({ generation: 2, manifest: { description: 'rewritten' } });
    expect((await deleted())).toEqual([]);
    expect(sync.nextDue()).toBeUndefined();
    expect((await sync.status()).files.find((f) => f.path === 'f.yaml')!.errors).toEqual([]);
    expect((await sync.status()).conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a file written in two parts: the first part is held whole (not applied), the second completes it', async () => {
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10)));
    const sync = newSync();
    await sync.syncBatch([], true);
    const before = await ids();

    const all = servers('s', 10, 'second version');
    writeFile(dir, 'f.yaml', multiDoc(...all.slice(0, 4)));
    await sync.syncBatch(['f.yaml'], false);
    expect((await ids())).toEqual(before);
    // Held like a file with errors: even the documents it still declares are not applied yet.
    expect((await store.get('default:mcp-server:s0'))?.generation).toBe(1);

    clock.advance(400);
    appendFileSync(join(dir, 'f.yaml'), `---\n${multiDoc(...all.slice(4))}`);
    await sync.syncBatch(['f.yaml'], false);
    expect((await ids())).toEqual(before);
    expect((await names()).filter((n) => n.startsWith('s'))).toHaveLength(10);
    expect((await store.get('default:mcp-server:s0'))).toMatchObject({ generation: 2, manifest: { description: 'second version' } });
    expect((await deleted())).toEqual([]);
  });

  it('a genuine removal is pruned by the first read after the quiet period, not before', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', multiDoc(serverYaml('beta'), serverYaml('gamma')));
    const sync = newSync();
    await sync.syncBatch([], true);
    const gammaId = (await ids()).gamma;

    writeFile(dir, 'b.yaml', serverYaml('beta'));
    await sync.syncBatch(['b.yaml'], false);
    clock.advance(QUIET - 1);
    // Any batch reads the held file again, whatever it was about.
    expect(await sync.syncBatch(['a.yaml'], false)).toMatchObject({ pruned: 0 });
    expect((await names())).toEqual(['alpha', 'beta', 'gamma']);

    clock.advance(1);
    expect(await sync.syncBatch([], false)).toMatchObject({ pruned: 1 });
    expect((await names())).toEqual(['alpha', 'beta']);
    expect((await deleted())).toEqual(['gamma']);
    expect(sync.nextDue()).toBeUndefined();

    // Declared again after the prune: a new server, nothing kept from the old one.
    writeFile(dir, 'b.yaml', multiDoc(serverYaml('beta'), serverYaml('gamma', 'back')));
    await sync.syncBatch(['b.yaml'], false);
    const gamma = (await store.get('default:mcp-server:gamma'))!;
    expect(gamma.id).not.toBe(gammaId);
    expect(gamma).toMatchObject({ generation: 1, manifest: { description: 'back' } });
  });

  it('a deleted file is pruned after the quiet period; an edit meanwhile starts the period again', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', multiDoc(serverYaml('beta'), serverYaml('gamma')));
    const sync = newSync();
    await sync.syncBatch([], true);

    writeFile(dir, 'b.yaml', serverYaml('beta'));
    await sync.syncBatch(['b.yaml'], false);
    clock.advance(QUIET - 10);
    rmSync(join(dir, 'b.yaml'));
    await sync.syncBatch(['b.yaml'], false);
    clock.advance(QUIET - 1);
    await sync.syncBatch([], false);
    expect((await names())).toEqual(['alpha', 'beta', 'gamma']);
    clock.advance(1);
    expect(await sync.syncBatch([], false)).toMatchObject({ pruned: 2 });
    expect((await names())).toEqual(['alpha']);
  });

  it('a file swapped out file by file keeps every id: names move to the new files while the old ones are held', async () => {
    for (let i = 0; i < 5; i++) writeFile(dir, `old/f${i}.yaml`, multiDoc(...servers(`d${i}-`, 3)));
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    const sync = newSync();
    await sync.syncBatch([], true);
    const before = await ids();

    // One file at a time: the old one goes in one batch, its replacement (another path) comes in a later one.
    for (let i = 0; i < 5; i++) {
      rmSync(join(dir, `old/f${i}.yaml`));
      await sync.syncBatch([`old/f${i}.yaml`], false);
      clock.advance(100);
      writeFile(dir, `new/f${i}.yaml`, multiDoc(...servers(`d${i}-`, 3, 'moved')));
      await sync.syncBatch([`new/f${i}.yaml`], false);
      clock.advance(100);
    }
    expect((await ids())).toEqual(before);
    expect((await deleted())).toEqual([]);
    expect((await store.get('default:mcp-server:d4-2'))).toMatchObject({ source: { path: 'new/f4.yaml' }, manifest: { description: 'moved' } });
    expect(sync.nextDue()).toBeUndefined();
    expect((await sync.status()).files.map((f) => f.path)).toEqual(['keep.yaml', 'new/f0.yaml', 'new/f1.yaml', 'new/f2.yaml', 'new/f3.yaml', 'new/f4.yaml']);
  });

  it('a directory emptied stays held for the quiet period, then the empty-directory guard keeps its servers', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const sync = newSync();
    await sync.syncBatch([], true);
    rmSync(join(dir, 'a.yaml'));
    rmSync(join(dir, 'b.yaml'));
    expect(await sync.syncBatch(['a.yaml', 'b.yaml'], false)).toMatchObject({ pruned: 0, heldBack: 0 });
    expect((await sync.status()).conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'PrunePending' });
    clock.advance(QUIET);
    expect(await sync.syncBatch([], false)).toMatchObject({ pruned: 0, heldBack: 2 });
    expect((await sync.status()).conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'HoldingBackEmptyPrune' });
    expect((await names())).toEqual(['alpha', 'beta']);
  });

  it('with a quiet period of 0 a removal is pruned at once', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const sync = newSync(0);
    await sync.syncBatch([], true);
    rmSync(join(dir, 'b.yaml'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 1 });
    expect(sync.nextDue()).toBeUndefined();
  });
});
