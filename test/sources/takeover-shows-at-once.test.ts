// A forced API takeover of a file-declared server shows on that file at once, not at its next edit.
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { fileOf, multiDoc, serverOf, serverYaml, tempDir, writeFile } from './helpers.js';

const PUT = '/api/svc/v1/mcp-servers';

describe('a forced API takeover of a file-declared server', () => {
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

  const ids = async (cp: TestControlPlane): Promise<Record<string, string>> =>
    Object.fromEntries((await cp.store.list({ tenant: 'default', limit: 100_000, offset: 0 })).items.map((r) => [r.name, r.id]));
  const deleted = async (cp: TestControlPlane) =>
    (await cp.store
      .changesSince(0, 1_000_000))
      .filter((c) => c.type === 'DELETED')
      .map((c) => c.object.name);

  it('gives the file that still declares the name its ownership error without an edit; nothing is pruned or re-applied', async () => {
    writeFile(dir, 'team/tools.yaml', multiDoc(serverYaml('other'), serverYaml('taken')));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
    const before = await ids(cp);
    expect(Object.keys(before).sort()).toEqual(['other', 'taken']);
    expect((await fileOf(cp, dir, 'team/tools.yaml'))?.errors).toEqual([]);

    const put = await cp.api(PUT, { method: 'PUT', body: { manifest: remoteManifest({ name: 'taken', description: 'via API' }), force: true } });
    expect(put.status).toBe(200);

    const errors = async () => (await fileOf(cp!, dir, 'team/tools.yaml'))?.errors ?? [];
    await waitFor(async () => (await errors()).length > 0, { what: 'the ownership error on team/tools.yaml' });
    expect(await errors()).toEqual([
      {
        line: 10,
        col: 1,
        pointer: '/name',
        message: 'MCP server "taken" is already managed by the API; delete it there first or rename it in this file.',
      },
    ]);

    // The API keeps what it took; the file's other server stays as it was; same ids, nothing deleted.
    expect(await serverOf(cp, 'taken')).toMatchObject({ id: before.taken, source: { kind: 'api' }, manifest: { description: 'via API' }, generation: 2 });
    expect(await serverOf(cp, 'other')).toMatchObject({ id: before.other, source: { kind: 'file', path: 'team/tools.yaml' }, generation: 1 });
    expect((await ids(cp))).toEqual(before);
    expect((await deleted(cp))).toEqual([]);
  });
});
