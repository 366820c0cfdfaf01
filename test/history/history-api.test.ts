// Revision history and rollback through the real HTTP server, real files, the GAIA-style API, real MCP
// upstreams and mcpctl: who changed what from where, rollback of a secret change (the upstream gets the
// old secret again), undo of a delete, a file-managed server refused, tenant isolation, and no secret in
// any revision, diff or CLI output.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { runHistory } from '../../src/cli/history.js';
import { runRollback } from '../../src/cli/rollback.js';
import type { Principal } from '../../src/domain/principal.js';
import { workspace, type Workspace } from '../cli/cli-support.js';
import { createServer, editorAuthenticator, EDITOR_TOKEN, gaia } from '../gaia/support.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { putServer, SERVERS, waitForReady } from '../support/servers-api.js';

const OLD_SECRET = 'Bearer CANARY-old-7f3a91';
const NEW_SECRET = 'Bearer CANARY-new-2c8e44';
const OTHER_TOKEN = 'test-other-editor-token-0123456789ab';

/** An editor of another account (proj-b) only. */
function otherEditor(): StaticTokenAuthenticator {
  const principal: Principal = {
    subject: { subjectId: 'user:olga@example.com', subjectType: 'user', subjectSlug: 'olga@example.com', subjectDisplayName: 'Olga' },
    role: 'editor',
    teams: [],
    accounts: ['proj-b'],
  };
  return new StaticTokenAuthenticator(OTHER_TOKEN, principal);
}

let cp: TestControlPlane;
let dir: string;
let upstream: RunningMcpServer;
let ws: Workspace;
/** Every answer body of the test, for the canary. */
const seen: string[] = [];

const api = async (path: string, init: Parameters<TestControlPlane['api']>[1] = {}) => {
  const res = await cp.api(path, init);
  seen.push(res.text);
  return res;
};
const cli = async (command: typeof runHistory, argv: string[]) => {
  const out = await ws.run(command, [...argv, '--server', cp.url], { MCPCTL_TOKEN: ADMIN_TOKEN });
  seen.push(out.stdout, out.stderr);
  return out;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-history-'));
  ws = workspace();
  // Answers only the old secret: Ready says which one the gateway sends.
  upstream = await startMcpServer({ transport: 'streamable-http', requireHeader: { name: 'authorization', value: OLD_SECRET } });
  cp = await startTestControlPlane({
    args: ['--resync-interval', '0', '--discovery-retry-base', '60s'],
    manifests: [dir],
    authenticators: [editorAuthenticator(), otherEditor()],
  });
});

afterAll(async () => {
  await cp.dispose();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
  ws.dispose();
  // The canary: no secret value in any answer or output of the whole file.
  const all = seen.join('\n');
  expect(all).not.toContain('CANARY');
});

const revisions = async (name: string, token?: string) => api(`${SERVERS}/name/${name}/revisions`, token ? { token } : {});

it('keeps a revision per generation across GAIA, PUT and file changes, with who, from where and what; status writes add none', async () => {
  const id = await createServer(cp, { projectId: 'proj-a', name: 'History One', transportType: 'http', url: 'http://127.0.0.1:9/mcp' });
  expect((await gaia(cp, `/${id}`, { method: 'PATCH', body: { description: 'patched through GAIA' } })).status).toBe(200);
  const stored = await api(`${SERVERS}/${id}`);
  const name = stored.json.data.name as string;
  await putServer(cp, { ...stored.json.data.manifest, description: 'put through the API' });
  await waitFor(async () => (await api(`${SERVERS}/${id}`)).json.data.status.observedGeneration === 3, { what: 'status of generation 3' });

  const listed = await api(`${SERVERS}/${id}/revisions`);
  expect(listed.status).toBe(200);
  expect(listed.json.pagination).toEqual({ total: 3, offset: 0, limit: 100 });
  expect(listed.json.data.map((r: { generation: number; source: { via: string }; subject: { subjectId: string } }) => [r.generation, r.source.via, r.subject.subjectId])).toEqual([
    [3, 'api', 'admin'],
    [2, 'gaia', 'admin'],
    [1, 'gaia', 'admin'],
  ]);
  expect(listed.json.data[0].diff).toEqual([{ op: 'replace', path: '/description', from: 'patched through GAIA', to: 'put through the API' }]);
  expect(listed.json.data[0].change).toBe('~/description');
  expect(listed.json.data[2].change).toBe('created');
  expect(listed.json.data[0].manifest).toBeUndefined();
  const page = await api(`${SERVERS}/name/${name}/revisions?limit=1&offset=1`);
  expect(page.json.data.map((r: { generation: number }) => r.generation)).toEqual([2]);
  const one = await api(`${SERVERS}/name/${name}/revisions/2`);
  expect(one.json.data).toMatchObject({ generation: 2, manifest: { description: 'patched through GAIA' } });
  expect((await api(`${SERVERS}/name/${name}/revisions/9`)).status).toBe(404);
  const bad = await api(`${SERVERS}/name/${name}/revisions?limit=0`);
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toContain('/query/limit');

  // A file: its path and the line of the document.
  const file = join(dir, 'team.yaml');
  const doc = (description: string) =>
    `type: mcp-server/remote\nname: filed\ndescription: ${description}\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;
  writeFileSync(file, `${doc('first').replace('name: filed', 'name: filed-neighbour')}---\n${doc('first')}`);
  await waitFor(async () => (await revisions('filed')).status === 200, { what: 'filed stored' });
  writeFileSync(file, `${doc('first').replace('name: filed', 'name: filed-neighbour')}---\n${doc('second')}`);
  const fromFile = await waitFor(async () => {
    const res = await revisions('filed');
    return res.json.data.length === 2 ? res.json.data : undefined;
  }, { what: 'filed generation 2' });
  expect(fromFile[0]).toMatchObject({ generation: 2, source: { kind: 'file', path: 'team.yaml', document: 1, line: 9, via: 'file' }, change: '~/description' });

  const history = await cli(runHistory, ['filed']);
  expect(history.code).toBe(0);
  expect(history.stdout).toMatch(/^GENERATION\s+AGE\s+BY\s+SOURCE\s+CHANGE\n2\s+\S+\s+\S+\s+team\.yaml:9\s+~\/description\n1\s+.*created\n$/);

  // Rolling a file-managed server back is refused, naming the file.
  const refused = await api(`${SERVERS}/name/filed/rollback`, { method: 'POST', body: { toGeneration: 1 } });
  expect(refused.status).toBe(409);
  expect(refused.json.error.message).toContain('team.yaml');
  expect(refused.json.error.message).toContain('roll it back in Git');
  const viaCli = await cli(runRollback, ['filed', '--to-revision', '1']);
  expect(viaCli.code).toBe(1);
  expect(viaCli.stderr).toContain('team.yaml');
});

it('rolls back a secret change: a new generation, and the upstream gets the old secret again', async () => {
  const name = 'secret-roller';
  const manifest = (secret: string) => remoteManifest({ name, url: upstream.url, auth_data: { type: 'header', headers: { Authorization: secret } } });
  await putServer(cp, manifest(OLD_SECRET));
  await waitForReady(cp, name, 'True');
  await putServer(cp, manifest(NEW_SECRET));
  await waitForReady(cp, name, 'False');

  const list = await revisions(name);
  expect(list.json.data[0].diff).toEqual([{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }]);
  expect(list.json.data[0].change).toBe('~/auth_data/headers/Authorization (secret)');

  // A dryRun answers the plan and writes nothing.
  const dry = await api(`${SERVERS}/name/${name}/rollback`, { method: 'POST', body: { toGeneration: 1, dryRun: true } });
  expect(dry.status).toBe(200);
  expect(dry.json).toMatchObject({ action: 'UPDATE', dryRun: true, rolledBackTo: 1, diff: [{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }] });
  const cliDry = await cli(runRollback, [name, '--to-revision', '1', '--dry-run']);
  expect(cliDry.stdout).toBe(`${name}: would be rolled back to revision 1 (dry run)\n  ~ /auth_data/headers/Authorization: (secret changed)\n`);
  expect((await api(`${SERVERS}/name/${name}`)).json.data.generation).toBe(2);

  // If-Match applies: a stale generation is 412.
  const stale = await api(`${SERVERS}/name/${name}/rollback`, { method: 'POST', body: { toGeneration: 1 }, headers: { 'if-match': '"gen-1"' } });
  expect(stale.status).toBe(412);
  const bodyErrors = await api(`${SERVERS}/name/${name}/rollback`, { method: 'POST', body: { toGeneration: 'one', extra: 1 } });
  expect(bodyErrors.status).toBe(400);
  expect(bodyErrors.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['/extra', '/toGeneration']);

  const before = upstream.requests.length;
  const done = await api(`${SERVERS}/name/${name}/rollback`, { method: 'POST', body: { toGeneration: 1 }, headers: { 'if-match': '"gen-2"' } });
  expect(done.status).toBe(200);
  expect(done.json).toMatchObject({ action: 'UPDATE', dryRun: false, data: { generation: 3 } });
  expect(done.headers.get('etag')).toBeTruthy();
  await waitForReady(cp, name, 'True');
  const sent = upstream.requests.slice(before).map((r) => r.headers.authorization);
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((v) => v === OLD_SECRET)).toBe(true);

  const latest = (await revisions(name)).json.data[0];
  expect(latest).toMatchObject({ generation: 3, rolledBackTo: 1, source: { kind: 'api', via: 'rollback' }, change: 'rollback to 1: ~/auth_data/headers/Authorization (secret)' });
  const shown = await cli(runHistory, [name, '--revision', '3']);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain('Authorization: "********"');
  expect(shown.stdout).toContain('~ /auth_data/headers/Authorization: (secret changed)');
});

it('undoes a delete: the revisions outlive the server, and rollback recreates it with its secret', async () => {
  const name = 'undeleted';
  await putServer(cp, remoteManifest({ name, url: upstream.url, auth_data: { type: 'header', headers: { Authorization: OLD_SECRET } } }));
  await waitForReady(cp, name, 'True');
  expect((await api(`${SERVERS}/name/${name}`, { method: 'DELETE' })).status).toBe(200);
  expect((await api(`${SERVERS}/name/${name}`)).status).toBe(404);

  const kept = await revisions(name);
  expect(kept.status).toBe(200);
  expect(kept.json.data[0].deletedAt).toEqual(expect.any(String));
  const history = await cli(runHistory, [name]);
  expect(history.stdout).toContain(`mcpctl rollback ${name} --to-revision N recreates it`);

  const undo = await cli(runRollback, [name, '--to-revision', '1']);
  expect(undo.code).toBe(0);
  expect(undo.stdout).toMatch(new RegExp(`^${name}: recreated from revision 1 \\(generation 1\\)\\n`));
  // Ready needs the old secret at the upstream: it was restored from the sealed revision.
  const back = await waitForReady(cp, name, 'True');
  expect(back.generation).toBe(1);
  const events = await api(`${SERVERS}/name/${name}/events`);
  expect(events.json.data.map((e: { message: string }) => e.message)).toContainEqual(expect.stringContaining('recreated from revision 1 of a deleted server'));

  // At rest, the revisions hold the secrets sealed: not one value in clear.
  const db = new Database(join(cp.dataDir, 'control-plane.db'), { readonly: true });
  try {
    // (A live server's current revision keeps no copy of its row's spec and secrets: NULL.)
    const stored = db.prepare('SELECT spec, secrets, diff FROM revisions').all() as { spec: string | null; secrets: string | null; diff: string }[];
    expect(stored.length).toBeGreaterThan(3);
    expect(JSON.stringify(stored)).not.toContain('CANARY');
    expect(stored.some((r) => r.secrets?.includes('aes256gcm:v1:'))).toBe(true);
  } finally {
    db.close();
  }
});

it('shows another account nothing: revisions and rollback of its servers are 404', async () => {
  const id = await createServer(cp, { projectId: 'proj-a', name: 'Owned By A', transportType: 'http', url: 'http://127.0.0.1:9/mcp' });
  const name = (await api(`${SERVERS}/${id}`)).json.data.name as string;
  // Created by the admin in proj-a: the proj-a editor is a collaborator through team:everyone.
  expect((await api(`${SERVERS}/${id}/revisions`, { token: EDITOR_TOKEN })).status).toBe(200);
  for (const path of [`/${id}/revisions`, `/name/${name}/revisions`, `/${id}/revisions/1`]) {
    expect((await api(`${SERVERS}${path}`, { token: OTHER_TOKEN })).status).toBe(404);
  }
  expect((await api(`${SERVERS}/${id}/rollback`, { method: 'POST', body: { toGeneration: 1 }, token: OTHER_TOKEN })).status).toBe(404);
  // Deleted, still not theirs.
  expect((await api(`${SERVERS}/${id}`, { method: 'DELETE' })).status).toBe(200);
  expect((await api(`${SERVERS}/${id}/revisions`, { token: OTHER_TOKEN })).status).toBe(404);
  expect((await api(`${SERVERS}/${id}/revisions`, { token: EDITOR_TOKEN })).status).toBe(200);
});
