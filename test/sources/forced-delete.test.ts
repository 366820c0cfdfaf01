// DELETE ?force=true of a server a live watched file declares: the file is the source of truth, so the
// forced delete is recorded as a takeover by the API. The file that still declares the name is refused at
// once with an ownership error naming who deleted it (it does not silently create it again at its next
// edit); once it stops declaring the name, declaring it again creates it anew.
import { createHash } from 'node:crypto';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { fileOf, multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';

const API = '/api/svc/v1/mcp-servers';

describe('a forced delete of a server a live file declares', () => {
  let dir: string;
  let cleanup: () => void;
  let cp: TestControlPlane;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    writeFile(dir, 'servers.yaml', multiDoc(serverYaml('from-git'), serverYaml('sibling')));
    writeFile(dir, 'keep.yaml', serverYaml('keep'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
  });
  afterEach(async () => {
    await cp.dispose();
    cleanup();
  });

  const exists = async (name: string) => (await cp.api(`${API}/name/${name}`)).status === 200;
  const deletedError = (path: string) =>
    waitFor(async () => (await fileOf(cp, dir, path))?.errors.find((e) => e.message.includes('was deleted through the API')), { what: `${path} refused for the deleted name` });

  it('refuses the file at once and at every edit until it stops declaring the name', async () => {
    expect((await cp.api(`${API}/name/from-git?force=true`, { method: 'DELETE' })).status).toBe(200);
    const error = await deletedError('servers.yaml');
    expect(error).toMatchObject({ pointer: '/name', line: 2 });
    expect(error.message).toContain('"from-git" was deleted through the API by admin (force)');
    expect(await exists('from-git')).toBe(false);

    // An edit that still declares it: refused again, nothing created.
    const edited = multiDoc(serverYaml('from-git', 'edited'), serverYaml('sibling', 'edited'));
    writeFile(dir, 'servers.yaml', edited);
    const hash = `sha256:${createHash('sha256').update(edited).digest('hex')}`;
    const source = await waitFor(async () => {
      const f = await fileOf(cp, dir, 'servers.yaml');
      return f?.contentHash === hash ? f : undefined;
    }, { what: 'the edit read' });
    expect(source.errors.map((e) => e.message)).toEqual([expect.stringContaining('was deleted through the API by admin (force)')]);
    expect(await exists('from-git')).toBe(false);
    expect((await cp.api(`${API}/name/sibling`)).json.data.generation).toBe(1);

    // The file lets go of it: applied; declaring it again then creates it anew.
    writeFile(dir, 'servers.yaml', serverYaml('sibling', 'edited'));
    await waitFor(async () => (await cp.api(`${API}/name/sibling`)).json.data?.generation === 2, { what: 'sibling updated' });
    expect((await fileOf(cp, dir, 'servers.yaml'))!.errors).toEqual([]);
    writeFile(dir, 'servers.yaml', multiDoc(serverYaml('sibling', 'edited'), serverYaml('from-git')));
    await waitFor(() => exists('from-git'), { what: 'from-git created again' });
  });
});
