// The watched directory end to end: the real server on port 0, real files in a temp directory, the real
// watcher. Every wait is on a condition (waitFor), never a fixed sleep.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import {
  condition,
  fileOf,
  gatewayNames,
  multiDoc,
  serverJson,
  serverOf,
  serverYaml,
  sourceOf,
  storedNames,
  tempDir,
  writeFile,
} from './helpers.js';

describe('watched manifest directory', () => {
  let dir: string;
  let cleanup: () => void;
  let cp: TestControlPlane | undefined;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(async () => {
    await cp?.dispose();
    cp = undefined;
    cleanup();
  });

  const start = async (args: string[] = []) => {
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0', ...args] });
    return cp;
  };
  const generationOf = async (name: string): Promise<number | undefined> => (await serverOf(cp!, name))?.generation;

  it('syncs every file before /readyz is ready, then the reconciler fills the gateway store', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'team/b.yml', multiDoc(serverYaml('beta'), serverYaml('gamma')));
    writeFile(dir, 'team/c.json', serverJson('delta'));
    writeFile(dir, 'README.md', 'not a manifest\n');
    const cp = await start();

    // Started means synced: no waiting for the files.
    expect((await cp.api('/readyz', { token: null })).status).toBe(200);
    expect((await storedNames(cp))).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    const gamma = await serverOf(cp, 'gamma');
    expect(gamma).toMatchObject({
      generation: 1,
      source: { kind: 'file', root: dir, path: 'team/b.yml', document: 1 },
      createdBySubject: { subjectId: 'serviceaccount:gitops', subjectType: 'serviceaccount' },
    });

    const source = await sourceOf(cp, dir);
    expect(condition(source, 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(typeof source.lastSyncTime).toBe('string');
    expect(source.files.map((f) => [f.path, f.resources, f.errors])).toEqual([
      ['a.yaml', ['alpha'], []],
      ['team/b.yml', ['beta', 'gamma'], []],
      ['team/c.json', ['delta'], []],
    ]);
    expect(source.files[0]?.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    await waitFor(async () => (await gatewayNames(cp)).length === 4, { what: 'four gateway entries' });
    expect(await gatewayNames(cp)).toEqual(['alpha', 'beta', 'delta', 'gamma']);
  });

  it('updates a server when its file is edited (generation 2, same id)', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    const cp = await start();
    const before = await serverOf(cp, 'alpha');
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'Edited in place'));
    const after = await waitFor(async () => {
      const s = await serverOf(cp, 'alpha');
      return s?.generation === 2 ? s : undefined;
    }, { what: 'alpha at generation 2' });
    expect(after).toMatchObject({ id: before.id, createdAt: before.createdAt, manifest: { description: 'Edited in place' } });
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).json.data[0]?.generation === 2, { what: 'gateway at generation 2' });
  });

  it('picks up an atomic rename-save once', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'z.yaml', serverYaml('zeta'));
    const cp = await start();
    const alpha = await serverOf(cp, 'alpha');

    writeFileSync(join(dir, 'a.yaml.tmp'), serverYaml('alpha', 'Saved by rename'));
    renameSync(join(dir, 'a.yaml.tmp'), join(dir, 'a.yaml'));
    await waitFor(async () => (await generationOf('alpha')) === 2, { what: 'alpha at generation 2' });

    // A later change to another file has been through its own batch: anything the rename could
    // still have caused has happened by now.
    writeFile(dir, 'z.yaml', serverYaml('zeta', 'later'));
    await waitFor(async () => (await generationOf('zeta')) === 2, { what: 'zeta at generation 2' });
    expect(await generationOf('alpha')).toBe(2);
    const events = await cp.api(`/api/svc/v1/mcp-servers/${alpha.id}/events`);
    expect(events.json.data.filter((e: { reason: string }) => e.reason === 'Updated')).toHaveLength(1);
    expect((await fileOf(cp, dir, 'a.yaml'))?.errors).toEqual([]);
    expect((await sourceOf(cp, dir)).files.map((f) => f.path)).toEqual(['a.yaml', 'z.yaml']);
  });

  it('handles a burst of changes as one batch', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'], manifestWatch: { debounceMs: 300 } });
    const source = cp.sources.sources[0]!;
    const batchesBefore = source.batchCount;
    for (let i = 0; i < 20; i++) writeFile(dir, `burst/${i}.yaml`, serverYaml(`burst-${i}`));
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'changed in the burst'));
    await waitFor(async () => (await storedNames(cp!)).length === 21, { what: 'the burst applied' });
    await waitFor(async () => (await generationOf('alpha')) === 2, { what: 'alpha changed' });
    expect(source.batchCount - batchesBefore).toBe(1);
  });

  it('adds and removes documents of a multi-document file', async () => {
    writeFile(dir, 'team.yaml', multiDoc(serverYaml('one'), serverYaml('two')));
    const cp = await start();
    const one = await serverOf(cp, 'one');
    writeFile(dir, 'team.yaml', multiDoc(serverYaml('one'), serverYaml('three'), serverYaml('four')));
    await waitFor(async () => (await storedNames(cp)).join() === 'four,one,three', { what: 'two pruned, three and four created' });
    expect(await serverOf(cp, 'one')).toMatchObject({ id: one.id, generation: 1 });
    expect((await serverOf(cp, 'four')).source).toMatchObject({ path: 'team.yaml', document: 2 });
    expect((await fileOf(cp, dir, 'team.yaml'))?.resources).toEqual(['four', 'one', 'three']);
    await waitFor(async () => (await gatewayNames(cp)).join() === 'four,one,three', { what: 'gateway converged' });
  });

  it('prunes the servers of a deleted file, from the store and the gateway', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'sub/b.yaml', serverYaml('beta'));
    const cp = await start();
    await waitFor(async () => (await gatewayNames(cp)).length === 2, { what: 'two gateway entries' });
    const beta = await serverOf(cp, 'beta');
    rmSync(join(dir, 'sub'), { recursive: true });
    await waitFor(async () => (await gatewayNames(cp)).join() === 'alpha', { what: 'beta gone from the gateway' });
    expect((await storedNames(cp))).toEqual(['alpha']);
    expect((await sourceOf(cp, dir)).files.map((f) => f.path)).toEqual(['a.yaml']);
    const events = await cp.api('/api/svc/v1/events?limit=1000');
    expect(events.json.data).toContainEqual(
      expect.objectContaining({ reason: 'Deleted', subject: { fqn: 'default:mcp-server:beta', id: beta.id }, actor: 'serviceaccount:gitops' }),
    );
  });

  it('keeps the servers of a broken file, reports every error with line:col, and applies the fix', async () => {
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('alpha'), serverYaml('beta')));
    writeFile(dir, 'other.yaml', serverYaml('other'));
    const cp = await start();
    const alpha = await serverOf(cp, 'alpha');

    // 1. A YAML syntax error in the second document (its description, line 11), a valid change in the first.
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('alpha', 'not applied'), serverYaml('beta', 'a: b')));
    const syntax = await waitFor(async () => {
      const f = await fileOf(cp, dir, 'a.yaml');
      return f && f.errors.length > 0 ? f : undefined;
    }, { what: 'the syntax error' });
    expect(syntax.errors).toEqual([
      { line: 11, col: 14, pointer: '/description/a', message: 'invalid YAML: Nested mappings are not allowed in compact mappings' },
    ]);
    expect(syntax.resources).toEqual(['alpha', 'beta']);
    expect((await storedNames(cp))).toEqual(['alpha', 'beta', 'other']);
    expect(await serverOf(cp, 'alpha')).toMatchObject({ id: alpha.id, generation: 1, manifest: { description: 'Server alpha' } });
    const source = await sourceOf(cp, dir);
    expect(condition(source, 'Ready')).toMatchObject({ status: 'False', reason: 'FileErrors' });
    expect(condition(source, 'Ready')?.message).toContain('a.yaml:11:14');
    expect((await fileOf(cp, dir, 'other.yaml'))?.errors).toEqual([]);

    // 2. Schema errors: every one at once, located in the file.
    writeFile(
      dir,
      'a.yaml',
      multiDoc(serverYaml('alpha').replace('url: http://127.0.0.1:9/mcp', 'url: 42'), serverYaml('beta').replace('description: Server beta\n', '')),
    );
    const schema = await waitFor(async () => {
      const f = await fileOf(cp, dir, 'a.yaml');
      return f?.errors.some((e) => e.pointer === '/url') ? f : undefined;
    }, { what: 'the schema errors' });
    expect(schema.errors).toEqual([
      { line: 4, col: 1, pointer: '/url', message: 'must be a string, got an integer' },
      { line: 9, col: 1, pointer: '/description', message: 'is required' },
    ]);
    expect((await storedNames(cp))).toEqual(['alpha', 'beta', 'other']);
    expect(await generationOf('alpha')).toBe(1);
    const events = await cp.api(`/api/svc/v1/mcp-servers/${alpha.id}/events`);
    expect(events.json.data).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'SourceFileInvalid', message: expect.stringContaining('a.yaml:4:1') }),
    );

    // 3. The fix clears the errors and applies the file.
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('alpha', 'fixed'), serverYaml('beta')));
    await waitFor(async () => (await generationOf('alpha')) === 2, { what: 'the fix applied' });
    expect((await fileOf(cp, dir, 'a.yaml'))?.errors).toEqual([]);
    expect(condition(await sourceOf(cp, dir), 'Ready')).toMatchObject({ status: 'True' });
    expect(await generationOf('beta')).toBe(1);
  });

  it('prunes nothing when the directory is emptied, and says so with Stalled', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    writeFile(dir, 'b.yaml', serverYaml('beta'));
    const cp = await start();
    rmSync(join(dir, 'a.yaml'));
    rmSync(join(dir, 'b.yaml'));
    const source = await waitFor(async () => {
      const s = await sourceOf(cp, dir);
      return condition(s, 'Stalled') ? s : undefined;
    }, { what: 'Stalled' });
    expect(condition(source, 'Stalled')).toMatchObject({ status: 'True', reason: 'HoldingBackEmptyPrune' });
    expect(condition(source, 'Stalled')?.message).toContain('--allow-empty-prune');
    expect(condition(source, 'Ready')).toMatchObject({ status: 'False', reason: 'HoldingBackEmptyPrune' });
    expect((await storedNames(cp))).toEqual(['alpha', 'beta']);

    // A restart does not prune them either; with --allow-empty-prune it does.
    await cp.stop();
    const held = await startTestControlPlane({ dataDir: cp.dataDir, manifests: [dir], args: ['--resync-interval', '0'] });
    expect((await storedNames(held))).toEqual(['alpha', 'beta']);
    await held.stop();
    const allowed = await startTestControlPlane({ dataDir: cp.dataDir, manifests: [dir], args: ['--allow-empty-prune'] });
    try {
      expect((await storedNames(allowed))).toEqual([]);
      expect(condition(await sourceOf(allowed, dir), 'Stalled')).toBeUndefined();
    } finally {
      await allowed.stop();
    }
  });

  it('keeps watching a directory that is removed and re-created', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    const cp = await start();
    const alpha = await serverOf(cp, 'alpha');
    rmSync(dir, { recursive: true });
    await waitFor(async () => condition(await sourceOf(cp, dir), 'Stalled'), { what: 'Stalled' });
    expect((await storedNames(cp))).toEqual(['alpha']);

    writeFile(dir, 'a.yaml', serverYaml('alpha', 'Restored'));
    await waitFor(async () => (await generationOf('alpha')) === 2, { what: 'the restored file applied' });
    expect(await serverOf(cp, 'alpha')).toMatchObject({ id: alpha.id, manifest: { description: 'Restored' } });
    const source = await sourceOf(cp, dir);
    expect(condition(source, 'Stalled')).toBeUndefined();
    expect(condition(source, 'Ready')).toMatchObject({ status: 'True' });
    writeFile(dir, 'a.yaml', serverYaml('alpha', 'Edited after'));
    await waitFor(async () => (await generationOf('alpha')) === 3, { what: 'an edit after the re-creation applied' });
  });

  it('prunes when the directory is emptied with --allow-empty-prune', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    const cp = await start(['--allow-empty-prune']);
    await waitFor(async () => (await gatewayNames(cp)).length === 1, { what: 'alpha in the gateway' });
    rmSync(join(dir, 'a.yaml'));
    await waitFor(async () => (await storedNames(cp)).length === 0, { what: 'alpha pruned' });
    await waitFor(async () => (await gatewayNames(cp)).length === 0, { what: 'gateway emptied' });
    expect(condition(await sourceOf(cp, dir), 'Ready')).toMatchObject({ status: 'True' });
  });

  it('ignores dotfiles, dot-directories and editor swap and backup files', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    const cp = await start();
    const ignored = ['.hidden.yaml', '.git/config.yaml', 'a.yaml.swp', 'a.yaml.swx', 'a.yaml~', '.#a.yaml', '#a.yaml#', 'a.yaml.bak', 'a.yaml.tmp', '4913', 'notes.txt'];
    ignored.forEach((rel, i) => writeFile(dir, rel, serverYaml(`ignored-${i}`)));
    // Written after the ignored files, so its batch comes no earlier than theirs would.
    writeFile(dir, 'sentinel.yaml', serverYaml('sentinel'));
    await waitFor(async () => (await storedNames(cp)).includes('sentinel'), { what: 'the sentinel applied' });
    expect((await storedNames(cp))).toEqual(['alpha', 'sentinel']);
    expect((await sourceOf(cp, dir)).files.map((f) => f.path)).toEqual(['a.yaml', 'sentinel.yaml']);
    // And a full sync (a restart) ignores them too.
    await cp.stop();
    const again = await startTestControlPlane({ dataDir: cp.dataDir, manifests: [dir] });
    try {
      expect((await storedNames(again))).toEqual(['alpha', 'sentinel']);
    } finally {
      await again.stop();
    }
  });

  it('answers GET /api/svc/v1/sources in the documented shape, to authenticated callers only', async () => {
    writeFile(dir, 'a.yaml', serverYaml('alpha'));
    const cp = await start();
    expect((await cp.api('/api/svc/v1/sources', { token: null })).status).toBe(401);
    const res = await cp.api('/api/svc/v1/sources');
    expect(res.json.data).toEqual([
      {
        path: dir,
        lastSyncTime: expect.any(String),
        conditions: [expect.objectContaining({ type: 'Ready', status: 'True' })],
        files: [{ path: 'a.yaml', contentHash: expect.stringMatching(/^sha256:/), resources: ['alpha'], errors: [] }],
      },
    ]);
  });
});
