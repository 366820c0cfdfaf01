// A server whose managing file was deleted is managed by nobody while its prune is held back: the API
// may delete it (what `mcpctl delete NAME` does). A server whose file is still there stays the file's.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { serverYaml, tempDir, writeFile } from './helpers.js';

const API = '/api/svc/v1/mcp-servers';
let cp: TestControlPlane;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  writeFile(dir, 'keep.yaml', serverYaml('kept'));
  writeFile(dir, 'gone.yaml', serverYaml('orphan-me'));
  // The prune of a deleted file is held far longer than the test runs.
  cp = await startTestControlPlane({ manifests: [dir], args: ['--prune-quiet-period', '1h', '--resync-interval', '0'] });
});
afterAll(async () => {
  await cp.dispose();
  cleanup();
});

it('refuses to delete a server whose file exists (409), and deletes one whose file is gone', async () => {
  const managed = await cp.api(`${API}/name/kept`, { method: 'DELETE' });
  expect(managed.status).toBe(409);
  expect(managed.json.error.message).toContain('keep.yaml');

  rmSync(join(dir, 'gone.yaml'));
  await waitFor(
    async () => {
      const sources = (await cp.api('/api/svc/v1/sources')).json.data as { conditions: { type: string; reason: string }[] }[];
      return sources[0]!.conditions.some((c) => c.type === 'Ready' && c.reason === 'PrunePending');
    },
    { what: 'the prune of gone.yaml to be held' },
  );
  const id = (await cp.api(`${API}/name/orphan-me`)).json.data.id as string;
  const res = await cp.api(`${API}/name/orphan-me`, { method: 'DELETE' });
  expect(res.status).toBe(200);
  expect((await cp.api(`${API}/name/orphan-me`)).status).toBe(404);
  // The events of a deleted server: tenant admins read them in the list of every event.
  const events = ((await cp.api('/api/svc/v1/events')).json.data as { subject: { id: string }; reason: string; message: string }[]).filter((e) => e.subject.id === id);
  expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'Deleted', message: expect.stringContaining('gone.yaml') })]));
  // The other file's server is untouched.
  expect((await cp.api(`${API}/name/kept`)).status).toBe(200);
});
