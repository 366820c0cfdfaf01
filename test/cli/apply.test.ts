// mcpctl apply against the real server.
import { runApply } from '../../src/cli/apply.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

describe('mcpctl apply', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    ws = workspace();
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
  });
  afterEach(async () => {
    ws.dispose();
    await cp.dispose();
  });

  const names = async () => ((await cp.api('/api/svc/v1/mcp-servers')).json.data as { name: string }[]).map((s) => s.name).sort();

  it('creates, configures and leaves unchanged, in a stable order', async () => {
    ws.write('m/b.yaml', remoteYaml('bravo'));
    ws.write('m/a.yaml', `${remoteYaml('alpha')}---\n${remoteYaml('alpha-two')}`);
    const first = await ws.run(runApply, ['-f', 'm'], env);
    expect(first).toEqual({ code: 0, stdout: 'alpha: created\nalpha-two: created\nbravo: created\n', stderr: '' });
    expect(await names()).toEqual(['alpha', 'alpha-two', 'bravo']);

    ws.write('m/b.yaml', remoteYaml('bravo', { description: 'Changed' }));
    const second = await ws.run(runApply, ['-f', 'm'], env);
    expect(second).toEqual({ code: 0, stdout: 'alpha: unchanged\nalpha-two: unchanged\nbravo: configured\n', stderr: '' });
    expect((await cp.api('/api/svc/v1/mcp-servers/name/bravo')).json.data.generation).toBe(2);

    const json = await ws.run(runApply, ['-f', 'm/b.yaml', '-o', 'json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ file: 'm/b.yaml', document: 0, name: 'bravo', action: 'UNCHANGED', result: 'unchanged', dryRun: false }),
    ]);
  });

  it('stores nothing with --dry-run', async () => {
    ws.write('a.yaml', remoteYaml('dry'));
    const r = await ws.run(runApply, ['-f', 'a.yaml', '--dry-run'], env);
    expect(r).toEqual({ code: 0, stdout: 'dry: created (dry run)\n', stderr: '' });
    expect(await names()).toEqual([]);
  });

  it('exits 1 naming the file and document that failed, and applies the others', async () => {
    ws.write('a.yaml', `${remoteYaml('good-one')}---\n${remoteYaml('bad-one').replace('url: http://127.0.0.1:9/mcp', 'url: not a url')}`);
    ws.write('b.yaml', remoteYaml('good-two'));
    const r = await ws.run(runApply, ['-f', 'a.yaml', '-f', 'b.yaml'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('good-one: created\ngood-two: created\n');
    expect(r.stderr).toMatch(/^error: a\.yaml \(document 1\) bad-one: the manifest is invalid\n {2}a\.yaml:12:1: \/url: /);
    expect(r.stderr).toContain('1 of 3 documents failed');
    expect(await names()).toEqual(['good-one', 'good-two']);
  });

  it('reports a document the server refuses (another manager owns it) with its file and index', async () => {
    await cp.intake.apply({
      manifest: { ...remoteManifest({ name: 'owned' }) },
      dryRun: false,
      force: false,
      metadata: undefined,
      source: { kind: 'file', root: '/srv/manifests', path: 'owned.yaml', document: 0 },
      principal: adminPrincipal('default'),
    });
    ws.write('a.yaml', remoteYaml('owned', { description: 'Taken over?' }));
    const r = await ws.run(runApply, ['-f', 'a.yaml'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: a\.yaml \(document 0\) owned: .*owned\.yaml/m);
    expect((await cp.api('/api/svc/v1/mcp-servers/name/owned')).json.data.manifest.description).not.toBe('Taken over?');
  });

  it('exits 2 on a usage error and sends nothing', async () => {
    ws.write('a.yaml', remoteYaml('never'));
    for (const argv of [['-f', 'a.yaml', '--forse'], ['-f', 'a.yaml', '-f', 'nope/'], ['a.yaml']]) {
      const r = await ws.run(runApply, argv, env);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
    }
    expect((await ws.run(runApply, ['-f', 'a.yaml', '--forse'], env)).stderr).toContain('unknown flag "--forse"');
    expect(await names()).toEqual([]);
  });
});
