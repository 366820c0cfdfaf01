// mcpctl diff against the real server: exit 0 nothing would change, 1 something would, 2 an error.
import { createServer } from 'node:net';
import { runApply } from '../../src/cli/apply.js';
import { runDiff } from '../../src/cli/diff.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

const SECRET = 'canary-secret-5d1e8b3f';
const SECRET_2 = 'canary-secret-rotated-9a4c';
const BAD_TOKEN = 'canary-token-e2c47a91b6';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('mcpctl diff', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });
  beforeEach(() => {
    ws = workspace();
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
  });
  afterEach(() => ws.dispose());

  it('walks a server from CREATE to UNCHANGED to UPDATE, with secrets masked', async () => {
    const headers = (token: string) => `auth_data:\n  type: header\n  headers:\n    Authorization: Bearer ${token}`;
    ws.write('m/diff-one.yaml', remoteYaml('diff-one', { extra: headers(SECRET) }));

    const create = await ws.run(runDiff, ['-f', 'm'], env);
    expect(create.code).toBe(1);
    expect(create.stdout).toMatch(/^CREATE diff-one$/m);
    expect(create.stdout).toContain('  + /auth_data/headers/Authorization: (secret added)');
    expect(create.stdout).toContain('1 to create, 0 to update, 0 unchanged');
    expect((await cp.api('/api/svc/v1/mcp-servers/name/diff-one')).status).toBe(404);

    expect((await ws.run(runApply, ['-f', 'm'], env)).code).toBe(0);
    const same = await ws.run(runDiff, ['-f', 'm'], env);
    expect(same).toEqual({ code: 0, stdout: 'UNCHANGED diff-one\n0 to create, 0 to update, 1 unchanged\n', stderr: '' });

    ws.write('m/diff-one.yaml', remoteYaml('diff-one', { description: 'A new description', extra: headers(SECRET_2) }));
    const update = await ws.run(runDiff, ['-f', 'm'], env);
    expect(update.code).toBe(1);
    expect(update.stdout.split('\n')).toEqual([
      'UPDATE diff-one',
      '  ~ /auth_data/headers/Authorization: (secret changed)',
      '  ~ /description: "The diff-one server" → "A new description"',
      '0 to create, 1 to update, 0 unchanged',
      '',
    ]);
    for (const r of [create, same, update]) {
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout + r.stderr).not.toContain(SECRET_2);
    }

    const json = await ws.run(runDiff, ['-f', 'm', '-o', 'json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ file: 'm/diff-one.yaml', document: 0, name: 'diff-one', action: 'UPDATE', diff: expect.any(Array) }),
    ]);
    expect(json.stdout).not.toContain(SECRET_2);
  });

  it('exits 2 with file:line:col for a locally invalid document, and still diffs the valid ones', async () => {
    ws.write('a.yaml', `${remoteYaml('diff-valid')}---\n${remoteYaml('Diff_Invalid')}`);
    const r = await ws.run(runDiff, ['-f', 'a.yaml'], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^CREATE diff-valid$/m);
    expect(r.stderr).toContain('error: a.yaml (document 1) Diff_Invalid: the manifest is invalid\n');
    expect(r.stderr).toMatch(/^ {2}a\.yaml:10:1: \/name: /m);
  });

  it('prints the warning of a document another manager owns', async () => {
    await cp.intake.apply({
      manifest: remoteManifest({ name: 'diff-owned' }),
      dryRun: false,
      force: false,
      metadata: undefined,
      source: { kind: 'file', root: '/srv/manifests', path: 'owned.yaml', document: 0 },
      principal: adminPrincipal('default'),
    });
    ws.write('a.yaml', remoteYaml('diff-owned', { description: 'Taken over?' }));
    const r = await ws.run(runDiff, ['-f', 'a.yaml'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^UPDATE diff-owned\n(?: {2}[~+-] .*\n)+warning: diff-owned: .*owned\.yaml/m);
  });

  it('exits 2 when the server is down', async () => {
    ws.write('a.yaml', remoteYaml('diff-down'));
    const port = await closedPort();
    const r = await ws.run(runDiff, ['-f', 'a.yaml'], { MCPCTL_SERVER: `http://127.0.0.1:${port}`, MCPCTL_TOKEN: BAD_TOKEN });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot reach the control plane at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stdout + r.stderr).not.toContain(BAD_TOKEN);
  });

  it('exits 2 on a refused token, and never prints the token', async () => {
    ws.write('a.yaml', `${remoteYaml('diff-token-a')}---\n${remoteYaml('diff-token-b')}`);
    for (const argv of [['-f', 'a.yaml'], ['-f', 'a.yaml', '--token', BAD_TOKEN], ['-f', 'a.yaml', '-o', 'json']]) {
      const r = await ws.run(runDiff, argv, { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: BAD_TOKEN });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('refused the token (401)');
      expect(r.stderr).toContain('stopped: 1 more document was not sent');
      expect(r.stdout + r.stderr).not.toContain(BAD_TOKEN);
    }
  });
});
