// Server and token resolution, and the rule that mcpctl never prints a token.
import { runApply } from '../../src/cli/apply.js';
import { runDelete } from '../../src/cli/delete.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runDiff } from '../../src/cli/diff.js';
import { runGet } from '../../src/cli/get.js';
import type { CliCommand } from '../../src/cli/io.js';
import { isLoopbackHost } from '../../src/cli/client.js';
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

const CANARY = 'canary-token-4f9e1d0c7b';

describe('mcpctl server and token', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });
  beforeEach(() => {
    ws = workspace();
    ws.write('a.yaml', remoteYaml('token-test'));
  });
  afterEach(() => ws.dispose());

  it.each<[string, CliCommand, string[]]>([
    ['diff', runDiff, ['-f', 'a.yaml']],
    ['apply', runApply, ['-f', 'a.yaml']],
    ['apply -o json', runApply, ['-f', 'a.yaml', '-o', 'json']],
    ['get', runGet, []],
    ['get NAME', runGet, ['token-test']],
    ['describe', runDescribe, ['token-test']],
    ['delete', runDelete, ['token-test']],
  ])('%s with a refused token fails and never prints it', async (_label, command, argv) => {
    for (const [flagArgs, env] of [
      [[], { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: CANARY }],
      [['--token', CANARY, '--server', cp.url], {}],
    ] as [string[], Record<string, string>][]) {
      const r = await ws.run(command, [...argv, ...flagArgs], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('refused the token (401)');
      expect(r.stdout + r.stderr).not.toContain(CANARY);
    }
  });

  it('reads ./data/admin-token for a loopback server when no token is given', async () => {
    const env = { MCPCTL_SERVER: cp.url.replace('127.0.0.1', 'localhost') };
    const missing = await ws.run(runGet, [], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('set MCPCTL_TOKEN (or pass --token)');
    expect(missing.stderr).toContain('data/admin-token');

    ws.write('data/admin-token', `${ADMIN_TOKEN}\n`);
    const r = await ws.run(runGet, [], env);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ADMIN_TOKEN);
  });

  it('does not read ./data/admin-token for a remote server, and says how to pass a token', async () => {
    ws.write('data/admin-token', ADMIN_TOKEN);
    const r = await ws.run(runGet, [], { MCPCTL_SERVER: 'https://control-plane.example.com' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no token for https://control-plane.example.com: set MCPCTL_TOKEN (or pass --token)');
    expect(r.stderr).not.toContain(ADMIN_TOKEN);
  });

  it('--server wins over MCPCTL_SERVER, and a bad URL is a usage error', async () => {
    const r = await ws.run(runGet, ['--server', cp.url], { MCPCTL_SERVER: 'http://127.0.0.1:1', MCPCTL_TOKEN: ADMIN_TOKEN });
    expect(r.code).toBe(0);
    const bad = await ws.run(runGet, ['--server', 'ftp://x'], { MCPCTL_TOKEN: ADMIN_TOKEN });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--server must be an http:// or https:// URL');
    const creds = await ws.run(runGet, ['--server', `http://user:${CANARY}@127.0.0.1:1`], { MCPCTL_TOKEN: ADMIN_TOKEN });
    expect(creds.code).toBe(2);
    expect(creds.stderr).not.toContain(CANARY);
  });

  it.each([
    ['localhost', true],
    ['api.localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['10.0.0.1', false],
    ['example.com', false],
    ['127.0.0.1.example.com', false],
  ])('isLoopbackHost(%s) = %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
