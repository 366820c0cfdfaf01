// A server declared in a watched directory belongs to Git. Taking it over through the API (force: true)
// needs a tenant admin, or the role --file-takeover-role names; the takeover is an event naming who did it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const EDITOR = 'editor-token-file-takeover-0123456789';
const FQN = 'default:mcp-server:from-git';

const manifest = (description: string) => ({
  type: 'mcp-server/remote',
  name: 'from-git',
  description,
  url: 'http://127.0.0.1:9/mcp',
  ownedBy: { account: 'team-a' },
  collaborators: [{ subject: 'user:erin@example.com', role_id: 'mcp-server-manager' }],
});

async function startWithFile(extraArgs: string[] = []): Promise<{ cp: TestControlPlane; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-takeover-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'servers.json'), JSON.stringify(manifest('declared in git')));
  writeTokensFile(join(dir, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:erin@example.com', role: 'editor', accounts: ['team-a'] }]);
  const cp = await startTestControlPlane({ manifests: [manifests], args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0', ...extraArgs] });
  await waitFor(() => cp.store.get(FQN), { what: 'the file-declared server' });
  return { cp, dir };
}

const takeOver = (cp: TestControlPlane, token?: string) =>
  cp.api(API, { method: 'PUT', ...(token ? { token } : {}), body: { manifest: manifest('taken over'), force: true } });

describe('taking a server over from a file', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeEach(async () => {
    ({ cp, dir } = await startWithFile());
  });
  afterEach(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an editor who manages it, with force, and leaves it with Git', async () => {
    const res = await takeOver(cp, EDITOR);
    expect(res.status).toBe(403);
    expect(res.json.error.message).toMatch(/managed by file servers\.json .*; taking it over from the file needs a tenant admin/);
    expect((await cp.store.get(FQN))).toMatchObject({ source: { kind: 'file' }, manifest: { description: 'declared in git' } });
    // Without force the answer is still the ownership conflict.
    expect((await cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: manifest('x') } })).status).toBe(409);
  });

  it('lets a tenant admin take it over, and records who did', async () => {
    const res = await takeOver(cp);
    expect(res.status).toBe(200);
    const r = (await cp.store.get(FQN))!;
    expect(r).toMatchObject({ source: { kind: 'api' }, manifest: { description: 'taken over' } });
    const events = await cp.api(`${API}/${r.id}/events`);
    const takeover = events.json.data.find((e: { reason: string }) => e.reason === 'TakenOver');
    expect(takeover).toBeDefined();
    expect(takeover.actor).toBe('admin');
    expect(takeover.message).toContain('servers.json');
    expect(takeover.message).toContain('by admin');
  });

  it('refuses an editor\'s dryRun takeover too, with the same message', async () => {
    const res = await cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: manifest('taken over'), force: true, dryRun: true } });
    expect(res.status).toBe(403);
  });
});

describe('--file-takeover-role editor', () => {
  it('lets an editor who manages the server take it over, and records who did', async () => {
    const { cp, dir } = await startWithFile(['--file-takeover-role', 'editor']);
    try {
      const res = await takeOver(cp, EDITOR);
      expect(res.status).toBe(200);
      const r = (await cp.store.get(FQN))!;
      expect(r.source.kind).toBe('api');
      const events = await cp.api(`${API}/${r.id}/events`, { token: EDITOR });
      const takeover = events.json.data.find((e: { reason: string }) => e.reason === 'TakenOver');
      expect(takeover).toMatchObject({ actor: 'user:erin@example.com' });
    } finally {
      await cp.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
