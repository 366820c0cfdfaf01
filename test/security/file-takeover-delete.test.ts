// DELETE ?force=true of a server a live watched file declares is a takeover: it needs the same consent
// (tenant admin, or the role --file-takeover-role names), and the Deleted event names who forced it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const EDITOR = 'editor-token-file-delete-0123456789ab';
const FQN = 'default:mcp-server:from-git';

const manifest = {
  type: 'mcp-server/remote',
  name: 'from-git',
  description: 'declared in git',
  url: 'http://127.0.0.1:9/mcp',
  ownedBy: { account: 'team-a' },
  collaborators: [{ subject: 'user:erin@example.com', role_id: 'mcp-server-manager' }],
};

async function startWithFile(extraArgs: string[] = []): Promise<{ cp: TestControlPlane; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-takeover-delete-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'servers.json'), JSON.stringify(manifest));
  writeTokensFile(join(dir, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:erin@example.com', role: 'editor', accounts: ['team-a'] }]);
  const cp = await startTestControlPlane({ manifests: [manifests], args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0', ...extraArgs] });
  await waitFor(() => cp.store.get(FQN), { what: 'the file-declared server' });
  return { cp, dir };
}

const forceDelete = (cp: TestControlPlane, token?: string) =>
  cp.api(`${API}/name/from-git?force=true`, { method: 'DELETE', ...(token ? { token } : {}) });

describe('DELETE ?force=true of a file-declared server', () => {
  let cp: TestControlPlane;
  let dir: string;
  afterEach(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an editor who manages it, and leaves it with Git', async () => {
    ({ cp, dir } = await startWithFile());
    const res = await forceDelete(cp, EDITOR);
    expect(res.status).toBe(403);
    expect(res.json.error.message).toMatch(/managed by file servers\.json .*; taking it over from the file needs a tenant admin/);
    expect((await cp.store.get(FQN))).toMatchObject({ source: { kind: 'file' } });
    // Without force the answer is the ownership conflict.
    expect((await cp.api(`${API}/name/from-git`, { method: 'DELETE', token: EDITOR })).status).toBe(409);
  });

  it('lets a tenant admin delete it, and the Deleted event names who forced it from the file', async () => {
    ({ cp, dir } = await startWithFile());
    const id = (await cp.store.get(FQN))!.id;
    const res = await forceDelete(cp);
    expect(res.status).toBe(200);
    expect((await cp.store.get(FQN))).toBeUndefined();
    const deleted = (await cp.store.listEvents({ resourceId: id, limit: 100 })).find((e) => e.reason === 'Deleted');
    expect(deleted).toMatchObject({ actor: 'admin' });
    expect(deleted!.message).toMatch(/Taken from file servers\.json .* by admin \(force\)\./);
  });

  it('lets an editor delete it with --file-takeover-role editor', async () => {
    ({ cp, dir } = await startWithFile(['--file-takeover-role', 'editor']));
    const id = (await cp.store.get(FQN))!.id;
    expect((await forceDelete(cp, EDITOR)).status).toBe(200);
    const deleted = (await cp.store.listEvents({ resourceId: id, limit: 100 })).find((e) => e.reason === 'Deleted');
    expect(deleted).toMatchObject({ actor: 'user:erin@example.com' });
  });
});
