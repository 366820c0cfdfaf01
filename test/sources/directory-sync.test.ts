// DirectorySync without a watcher: real files in a temp directory, the real store (SQLite in memory)
// and the real intake; each test drives batches by hand, so it controls exactly what one batch holds.
import { execFileSync } from 'node:child_process';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import type { McpServerResource } from '../../src/domain/resource.js';
import { Intake } from '../../src/intake/index.js';
import { DirectorySync, MAX_MANIFEST_FILE_BYTES } from '../../src/sources/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

describe('DirectorySync', () => {
  let dir: string;
  let cleanup: () => void;
  let store: SqliteResourceStore;
  let intake: Intake;
  let enqueued: string[];

  const newSync = (allowEmptyPrune = false) =>
    new DirectorySync({ root: dir, intake, store, tenant: 'default', allowEmptyPrune, logger: silentLogger });
  const get = (name: string): Promise<McpServerResource | undefined> => store.get(`default:mcp-server:${name}`);
  const names = async () => (await store.keys()).map((k) => k.split(':').pop()).sort();

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    enqueued = [];
    intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: (k) => enqueued.push(k) });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('applies every document with a file source and the gitops service account', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'sub/dir/b.yml', multiDoc(serverYaml('beta'), serverYaml('gamma')));
    const result = await newSync().syncBatch([], true);
    expect(result).toEqual({ applied: 3, pruned: 0, heldBack: 0, failedFiles: 0 });
    expect((await get('gamma'))?.source).toEqual({ kind: 'file', root: dir, path: 'sub/dir/b.yml', document: 1 });
    expect((await get('alpha'))?.createdBy.subjectId).toBe('serviceaccount:gitops');
    expect(enqueued.sort()).toEqual(['default:mcp-server:alpha', 'default:mcp-server:beta', 'default:mcp-server:gamma']);
  });

  it('reads only the files of the batch', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const sync = newSync();
    await sync.syncBatch([], true);
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'changed'));
    writeFile(dir, 'b.yaml', serverYaml('beta', 'changed'));
    await sync.syncBatch(['a.yaml'], false);
    expect((await get('alpha'))?.generation).toBe(2);
    expect((await get('beta'))?.generation).toBe(1);
  });

  it('keeps id and createdAt when two files swap their documents in one batch', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const sync = newSync();
    await sync.syncBatch([], true);
    const [alpha, beta] = [(await get('alpha'))!, (await get('beta'))!];
    writeFile(dir, 'a.yaml', serverYaml('beta'));
    writeFile(dir, 'b.yaml', serverYaml('alpha'));
    expect(await sync.syncBatch(['a.yaml', 'b.yaml'], false)).toMatchObject({ pruned: 0, failedFiles: 0 });
    expect((await get('alpha'))).toMatchObject({ id: alpha.id, createdAt: alpha.createdAt, source: { path: 'b.yaml' } });
    expect((await get('beta'))).toMatchObject({ id: beta.id, createdAt: beta.createdAt, source: { path: 'a.yaml' } });
  });

  it('hands a name to the next file in line when its owner drops it, keeping the id', async () => {
    writeFile(dir, 'a.yaml', serverYaml('shared'));
    writeFile(dir, 'b.yaml', serverYaml('shared', 'from b'));
    const sync = newSync();
    expect(await sync.syncBatch([], true)).toMatchObject({ applied: 1, failedFiles: 1 });
    const shared = (await get('shared'))!;
    expect((await sync.status()).files.find((f) => f.path === 'b.yaml')?.errors).toEqual([
      expect.objectContaining({ line: 2, col: 1, pointer: '/name', message: expect.stringContaining('already declared in a.yaml') }),
    ]);

    writeFile(dir, 'a.yaml', serverYaml('other'));
    await sync.syncBatch(['a.yaml'], false);
    expect((await get('shared'))).toMatchObject({ id: shared.id, generation: 2, source: { path: 'b.yaml' } });
    expect((await get('shared'))?.manifest.description).toBe('from b');
    expect((await sync.status()).files.find((f) => f.path === 'b.yaml')).toMatchObject({ errors: [], resources: ['shared'] });
  });

  it('does not prune a name that a failing file declares, and moves it once that file is fixed', async () => {
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('keep'), serverYaml('mover')));
    const sync = newSync();
    await sync.syncBatch([], true);
    const mover = (await get('mover'))!;
    writeFile(dir, 'a.yaml', serverYaml('keep'));
    writeFile(dir, 'b.yaml', multiDoc(serverYaml('mover'), 'type: mcp-server/remote\nname: broken\n'));
    expect(await sync.syncBatch(['a.yaml', 'b.yaml'], false)).toMatchObject({ pruned: 0, failedFiles: 1 });
    expect((await get('mover'))).toMatchObject({ id: mover.id, source: { path: 'a.yaml', document: 1 } });
    expect((await get('broken'))).toBeUndefined();

    writeFile(dir, 'b.yaml', serverYaml('mover'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 0, failedFiles: 0 });
    expect((await get('mover'))).toMatchObject({ id: mover.id, source: { path: 'b.yaml', document: 0 } });
  });

  it('applies a file of several documents whole or not at all (intake refusing one of them)', async () => {
    writeFile(dir, 'a.yaml', serverYaml('first'));
    const sync = newSync();
    await sync.syncBatch([], true);
    // Lines: document 0 is 1-7, '---' is 8, document 1 is 9-15, additional_headers 16, X-Api-Key 17.
    // The second document sends a masked secret for a server that has none stored: intake refuses it.
    const masked = `${serverYaml('second')}additional_headers:\n  X-Api-Key: "********"\n`;
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('first', 'changed'), masked));
    expect(await sync.syncBatch(['a.yaml'], false)).toMatchObject({ applied: 0, failedFiles: 1 });
    expect((await get('first'))?.generation).toBe(1);
    expect((await get('second'))).toBeUndefined();
    expect((await sync.status()).files[0]?.errors).toEqual([
      { line: 17, col: 3, pointer: '/additional_headers/X-Api-Key', message: expect.stringContaining('masked value') },
    ]);
  });

  it('refuses a file over 1 MiB and keeps its servers', async () => {
    writeFile(dir, 'big.yaml', serverYaml('big'));
    const sync = newSync();
    await sync.syncBatch([], true);
    writeFileSync(join(dir, 'big.yaml'), serverYaml('big', 'changed') + `# ${'x'.repeat(MAX_MANIFEST_FILE_BYTES)}\n`);
    expect(await sync.syncBatch(['big.yaml'], false)).toMatchObject({ failedFiles: 1, pruned: 0 });
    expect((await get('big'))?.generation).toBe(1);
    expect((await sync.status()).files[0]).toMatchObject({
      path: 'big.yaml',
      contentHash: null,
      resources: ['big'],
      errors: [{ line: 1, col: 1, pointer: '', message: expect.stringContaining('at most 1 MiB') }],
    });
    truncateSync(join(dir, 'big.yaml'), 0);
    writeFile(dir, 'big.yaml', serverYaml('big', 'changed'));
    await sync.syncBatch(['big.yaml'], false);
    expect((await get('big'))?.generation).toBe(2);
  });

  it('reports a file it cannot read on that file and goes on with the others (a FIFO does not block it)', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const sync = newSync();
    expect(await sync.syncBatch([], true)).toMatchObject({ applied: 1, failedFiles: 1 });
    expect((await sync.status()).files).toEqual([
      { path: 'a.yaml', contentHash: expect.any(String), resources: ['alpha'], errors: [] },
      { path: 'pipe.yaml', contentHash: null, resources: [], errors: [{ line: 1, col: 1, pointer: '', message: expect.stringContaining('not a regular file') }] },
    ]);
  });

  it('reads the inventory from the store, so a file removed while stopped is pruned at the next start', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    await newSync().syncBatch([], true);
    rmSync(join(dir, 'b.yaml'));
    expect(await newSync().syncBatch([], true)).toMatchObject({ pruned: 1 });
    expect((await names())).toEqual(['alpha']);
  });

  it('holds back a prune that would empty the directory, and says how to allow it', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const sync = newSync();
    await sync.syncBatch([], true);
    rmSync(join(dir, 'a.yaml'));
    expect(await sync.syncBatch(['a.yaml'], false)).toMatchObject({ pruned: 1 });
    rmSync(join(dir, 'b.yaml'));
    expect(await sync.syncBatch(['b.yaml'], false)).toMatchObject({ pruned: 0, heldBack: 1 });
    expect((await names())).toEqual(['beta']);
    const stalled = (await sync.status()).conditions.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'HoldingBackEmptyPrune' });
    expect(stalled?.message).toContain('--allow-empty-prune');
    // The held-back server is still listed under the file it came from.
    expect((await sync.status()).files).toEqual([{ path: 'b.yaml', contentHash: null, resources: ['beta'], errors: [] }]);

    // A new file makes the directory non-empty again: the held-back prune goes through.
    writeFile(dir, 'c.yaml', serverYaml('gamma'));
    expect(await sync.syncBatch(['c.yaml'], false)).toMatchObject({ pruned: 1, heldBack: 0 });
    expect((await names())).toEqual(['gamma']);
    expect((await sync.status()).conditions.find((c) => c.type === 'Stalled')).toBeUndefined();
  });

  it('prunes everything from a missing directory only with allowEmptyPrune', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    await newSync().syncBatch([], true);
    rmSync(dir, { recursive: true });
    const held = newSync();
    expect(await held.syncBatch([], true)).toMatchObject({ pruned: 0, heldBack: 1 });
    expect((await held.status()).conditions.find((c) => c.type === 'Stalled')?.message).toContain('does not exist');
    expect(await newSync(true).syncBatch([], true)).toMatchObject({ pruned: 1, heldBack: 0 });
    expect((await names())).toEqual([]);
  });
});
