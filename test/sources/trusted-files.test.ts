// A full sync trusts a file applied cleanly before (same bytes, same names in the store, same schemas):
// it hashes it and neither parses nor applies it again. Whatever breaks one of those conditions makes
// the file read and applied as before. Real files, the real store (a SQLite file, so a "restart" is a
// new DirectorySync and a new store object on the same data) and the real intake.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { Intake } from '../../src/intake/index.js';
import { DirectorySync } from '../../src/sources/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

describe('DirectorySync: trusted files on a full sync', () => {
  let dir: string;
  let dataDir: string;
  let cleanups: (() => void)[];
  let store: SqliteResourceStore;
  let intake: Intake;

  const open = () => {
    store = new SqliteResourceStore({ views: resourceViews, path: join(dataDir, 'control-plane.db') });
    intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
  };
  /** A new process: a new store object and a new DirectorySync on the same files and data. */
  const restart = async () => {
    await store.close();
    open();
    return newSync();
  };
  const newSync = () => new DirectorySync({ root: dir, intake, store, tenant: 'default', allowEmptyPrune: false, logger: silentLogger });
  const get = (name: string) => store.get(`default:mcp-server:${name}`);

  beforeEach(() => {
    const d = tempDir();
    const data = tempDir('mcp-cp-data-');
    dir = d.dir;
    dataDir = data.dir;
    cleanups = [d.cleanup, data.cleanup];
    open();
  });
  afterEach(async () => {
    await store.close();
    for (const c of cleanups) c();
  });

  it('restarts on an unchanged directory without applying or writing anything', async () => {
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('alpha'), serverYaml('beta')));
    writeFile(dir, 'b.yaml', serverYaml('gamma'));
    expect(await newSync().syncBatch([], true)).toMatchObject({ applied: 3, failedFiles: 0 });
    const rv = await store.currentResourceVersion();
    const sync = await restart();
    expect(await sync.syncBatch([], true)).toEqual({ applied: 0, pruned: 0, heldBack: 0, failedFiles: 0 });
    expect((await store.currentResourceVersion())).toBe(rv);
    // The source still knows every file and what it declares.
    expect((await sync.status()).files.map((f) => [f.path, f.resources])).toEqual([
      ['a.yaml', ['alpha', 'beta']],
      ['b.yaml', ['gamma']],
    ]);
    // ...and a later edit or removal works as usual.
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'changed'));
    expect(await sync.syncBatch(['a.yaml'], false)).toMatchObject({ applied: 1, pruned: 1 });
    expect((await get('alpha'))?.generation).toBe(2);
    expect((await get('beta'))).toBeUndefined();
  });

  it('reads a file again when its bytes changed while the server was down', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    await newSync().syncBatch([], true);
    await store.close();
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'edited while down'));
    open();
    expect(await newSync().syncBatch([], true)).toMatchObject({ applied: 1 });
    expect((await get('alpha'))?.manifest.description).toBe('edited while down');
  });

  it('reads a file again when the store no longer holds its names for it (an API takeover, a forced delete)', async () => {
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('alpha'), serverYaml('beta')));
    await newSync().syncBatch([], true);
    const alpha = (await get('alpha'))!;
    await intake.apply({
      manifest: { ...alpha.manifest, description: 'taken over' },
      dryRun: false,
      force: true,
      metadata: undefined,
      source: { kind: 'api' },
      principal: adminPrincipal('default'),
    });
    await intake.delete({ fqn: 'default:mcp-server:beta', source: { kind: 'api' }, principal: adminPrincipal('default'), force: true });
    const sync = await restart();
    const result = await sync.syncBatch([], true);
    // alpha is the API's now: the file is refused over it (and beta, its other document, waits with it).
    expect(result).toMatchObject({ failedFiles: 1 });
    expect((await sync.status()).files[0]?.errors[0]?.message).toMatch(/already managed by the API/);
    expect((await get('alpha'))?.manifest.description).toBe('taken over');
  });

  it('reads every file again when the recorded schemas differ', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    await newSync().syncBatch([], true);
    await store.close();
    const db = new Database(join(dataDir, 'control-plane.db'));
    db.prepare("UPDATE source_files SET fingerprint = 'from-another-version'").run();
    db.close();
    open();
    const rv = await store.currentResourceVersion();
    expect(await newSync().syncBatch([], true)).toMatchObject({ applied: 1 });
    // Applied (UNCHANGED, so nothing written but the new record), not merely trusted.
    expect((await store.currentResourceVersion())).toBe(rv);
    expect((await store.sourceFiles(dir))[0]?.fingerprint).not.toBe('from-another-version');
  });

  it('never trusts a file that was refused: it is read on every full sync until it is fixed', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'bad.yaml', 'type: mcp-server/remote\nname: broken\n');
    expect(await newSync().syncBatch([], true)).toMatchObject({ applied: 1, failedFiles: 1 });
    expect((await store.sourceFiles(dir)).map((r) => r.path)).toEqual(['a.yaml']);
    const sync = await restart();
    expect(await sync.syncBatch([], true)).toMatchObject({ applied: 0, failedFiles: 1 });
    expect((await sync.status()).files.find((f) => f.path === 'bad.yaml')?.errors.length).toBeGreaterThan(0);
  });
});
