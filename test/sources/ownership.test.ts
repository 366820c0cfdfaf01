// Who owns a name: two files, a file and the API, and a document moving between files.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { fileOf, multiDoc, serverOf, serverYaml, storedNames, tempDir, writeFile } from './helpers.js';

const PUT = '/api/svc/v1/mcp-servers';

describe('ownership of names between files and the API', () => {
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

  const start = async (options: { debounceMs?: number } = {}) => {
    cp = await startTestControlPlane({
      manifests: [dir],
      args: ['--resync-interval', '0'],
      ...(options.debounceMs ? { manifestWatch: { debounceMs: options.debounceMs } } : {}),
    });
    return cp;
  };
  const errorsOf = async (path: string) => (await fileOf(cp!, dir, path))?.errors ?? [];

  it('gives a name declared by two files to the first; the second file gets an error naming it', async () => {
    writeFile(dir, 'a.yaml', serverYaml('shared', 'from a'));
    writeFile(dir, 'b.yaml', multiDoc(serverYaml('b-only'), serverYaml('shared', 'from b')));
    const cp = await start();

    expect(await serverOf(cp, 'shared')).toMatchObject({ source: { path: 'a.yaml' }, manifest: { description: 'from a' } });
    // b.yaml fails as a whole: its other document is not applied either.
    expect((await storedNames(cp))).toEqual(['shared']);
    expect(await errorsOf('b.yaml')).toEqual([
      {
        line: 10,
        col: 1,
        pointer: '/name',
        message: 'MCP server "shared" is already declared in a.yaml; a name may be declared by one file only: rename it here or remove it from a.yaml',
      },
    ]);

    // A new file that sorts first does not take the name from the file that owns it.
    writeFile(dir, '0.yaml', serverYaml('shared', 'from 0'));
    await waitFor(async () => (await errorsOf('0.yaml')).length > 0, { what: 'the error on 0.yaml' });
    expect((await errorsOf('0.yaml'))[0]).toMatchObject({ line: 2, col: 1, pointer: '/name', message: expect.stringContaining('already declared in a.yaml') });
    expect(await serverOf(cp, 'shared')).toMatchObject({ source: { path: 'a.yaml' }, generation: 1 });
  });

  it('answers 409 naming the file to an API write of a file-managed server; dryRun still answers the plan', async () => {
    writeFile(dir, 'team/tools.yaml', serverYaml('from-file'));
    const cp = await start();
    const before = await serverOf(cp, 'from-file');

    const put = await cp.api(PUT, { method: 'PUT', body: { manifest: remoteManifest({ name: 'from-file', description: 'via API' }) } });
    expect(put.status).toBe(409);
    expect(put.json.error.message).toBe(
      `MCP server "from-file" is managed by file team/tools.yaml (document 0) in ${dir}; change it there (or send force: true to take it over through the API).`,
    );

    const dry = await cp.api(PUT, { method: 'PUT', body: { manifest: remoteManifest({ name: 'from-file', description: 'via API' }), dryRun: true } });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ action: 'UPDATE', dryRun: true });
    expect(dry.json.diff).toContainEqual({ op: 'replace', path: '/description', from: 'Server from-file', to: 'via API' });
    expect(dry.json.warnings).toEqual([expect.stringContaining('managed by file team/tools.yaml')]);

    const del = await cp.api(`${PUT}/name/from-file`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(del.json.error.message).toContain('team/tools.yaml');

    const after = await serverOf(cp, 'from-file');
    expect(after).toMatchObject({ id: before.id, generation: 1, source: { kind: 'file', path: 'team/tools.yaml' } });
    expect(after.manifest.description).toBe('Server from-file');
  });

  it('refuses a file that declares a name the API owns, and leaves the API server untouched', async () => {
    const cp = await start();
    const created = await cp.api(PUT, { method: 'PUT', body: { manifest: remoteManifest({ name: 'api-owned' }) } });
    expect(created.status).toBe(200);

    writeFile(dir, 'claims.yaml', multiDoc(serverYaml('harmless'), serverYaml('api-owned', 'from a file')));
    await waitFor(async () => (await errorsOf('claims.yaml')).length > 0, { what: 'the conflict on claims.yaml' });
    expect(await errorsOf('claims.yaml')).toEqual([
      {
        line: 10,
        col: 1,
        pointer: '/name',
        message: 'MCP server "api-owned" is already managed by the API; delete it there first or rename it in this file.',
      },
    ]);
    expect((await storedNames(cp))).toEqual([]);
    const api = await serverOf(cp, 'api-owned');
    expect(api).toMatchObject({ id: created.json.data.id, generation: 1, source: { kind: 'api' }, manifest: { description: created.json.data.manifest.description } });
    const events = await cp.api(`${PUT}/${api.id}/events`);
    expect(events.json.data).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'FileConflict', message: expect.stringContaining('claims.yaml') }));

    // Once the API lets go of the name and the file is saved again, the file applies.
    expect((await cp.api(`${PUT}/name/api-owned`, { method: 'DELETE' })).status).toBe(200);
    writeFile(dir, 'claims.yaml', multiDoc(serverYaml('harmless'), serverYaml('api-owned', 'from a file')));
    await waitFor(async () => (await storedNames(cp)).join() === 'api-owned,harmless', { what: 'claims.yaml applied' });
    expect(await errorsOf('claims.yaml')).toEqual([]);
  });

  it('moves a document from one file to another in one batch as an update, keeping id and createdAt', async () => {
    writeFile(dir, 'a.yaml', multiDoc(serverYaml('stays'), serverYaml('mover')));
    writeFile(dir, 'b.yaml', serverYaml('other'));
    // A long debounce puts both saves into one batch even on a slow machine.
    const cp = await start({ debounceMs: 400 });
    const mover = await serverOf(cp, 'mover');

    writeFile(dir, 'b.yaml', multiDoc(serverYaml('other'), serverYaml('mover', 'moved')));
    writeFile(dir, 'a.yaml', serverYaml('stays'));
    const moved = await waitFor(async () => {
      const s = await serverOf(cp, 'mover');
      return s?.source.path === 'b.yaml' ? s : undefined;
    }, { what: 'mover owned by b.yaml' });
    expect(moved).toMatchObject({ id: mover.id, createdAt: mover.createdAt, generation: 2, source: { path: 'b.yaml', document: 1 } });
    expect((await storedNames(cp))).toEqual(['mover', 'other', 'stays']);
    const events = (await cp.api(`${PUT}/${mover.id}/events`)).json.data as { reason: string }[];
    expect(events.map((e) => e.reason)).not.toContain('Deleted');

    // A move into a new file works the same way.
    rmSync(join(dir, 'b.yaml'));
    writeFile(dir, 'c.yaml', multiDoc(serverYaml('other'), serverYaml('mover', 'moved')));
    await waitFor(async () => (await serverOf(cp, 'mover'))?.source.path === 'c.yaml', { what: 'mover owned by c.yaml' });
    expect(await serverOf(cp, 'mover')).toMatchObject({ id: mover.id, generation: 2 });
    expect(await serverOf(cp, 'other')).toMatchObject({ source: { path: 'c.yaml', document: 0 } });
  });
});
