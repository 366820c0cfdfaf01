// A way out of every refusal (apply --force, delete --force, messages naming the flag), and the ways to
// choose what a command acts on: several names, -f FILE, -f - (stdin), -l selectors.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runApply } from '../../src/cli/apply.js';
import { runDelete } from '../../src/cli/delete.js';
import { runDiff } from '../../src/cli/diff.js';
import { runValidate } from '../../src/cli/validate.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

const SERVERS = '/api/svc/v1/mcp-servers';

describe('mcpctl: refusals have a way out', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeEach(async () => {
    ws = workspace();
    // The default layout: a watched directory holding one manifest.
    ws.write('watched/alpha.yaml', remoteYaml('alpha'));
    cp = await startTestControlPlane({ manifests: [join(ws.dir, 'watched')], args: ['--resync-interval', '0'] });
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
    await waitFor(async () => (await cp.api(`${SERVERS}/name/alpha`)).status === 200, { what: 'alpha from its file' });
  });
  afterEach(async () => {
    await cp.dispose();
    ws.dispose();
  });

  it('delete of a server its file still declares names --force, and delete --force deletes it', async () => {
    const refused = await ws.run(runDelete, ['alpha'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(or run mcpctl delete --force to delete it anyway)');
    expect(refused.stderr).not.toContain('force: true');

    const forced = await ws.run(runDelete, ['alpha', '--force'], env);
    expect(forced).toMatchObject({ code: 0, stdout: 'alpha: deleted\n' });
    expect((await cp.api(`${SERVERS}/name/alpha`)).status).toBe(404);
  });

  it('delete of a server whose only manifest was removed needs no --force: it is no longer managed', async () => {
    rmSync(join(ws.dir, 'watched/alpha.yaml'));
    const deleted = await ws.run(runDelete, ['alpha'], env);
    expect(deleted).toMatchObject({ code: 0, stdout: 'alpha: deleted\n' });
    expect((await cp.api(`${SERVERS}/name/alpha`)).status).toBe(404);
  });

  it('apply of a name a watched file declares names --force, and apply --force takes it over', async () => {
    ws.write('mine.yaml', remoteYaml('alpha', { description: 'Taken over' }));
    const refused = await ws.run(runApply, ['-f', 'mine.yaml'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(or run mcpctl apply --force to take it over)');
    expect(refused.stderr).not.toContain('force: true');
    const diff = await ws.run(runDiff, ['-f', 'mine.yaml'], env);
    expect(diff.stdout).toContain('mcpctl diff --force');
    expect(diff.stdout).not.toContain('force: true');

    const forced = await ws.run(runApply, ['-f', 'mine.yaml', '--force'], env);
    expect(forced).toMatchObject({ code: 0, stdout: 'alpha: configured\n' });
    const after = await cp.api(`${SERVERS}/name/alpha`);
    expect(after.json.data.manifest.description).toBe('Taken over');
    expect(after.json.data.source.kind).toBe('api');
  });
});

describe('mcpctl: choosing what to act on', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeEach(async () => {
    ws = workspace();
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
  });
  afterEach(async () => {
    await cp.dispose();
    ws.dispose();
  });

  const names = async () => ((await cp.api(SERVERS)).json.data as { name: string }[]).map((s) => s.name).sort();

  it('apply, diff and validate read manifests from stdin with -f -', async () => {
    const text = `${remoteYaml('from-stdin')}---\n${remoteYaml('also-stdin')}`;
    expect(await ws.run(runValidate, ['-f', '-'], env, text)).toMatchObject({ code: 0, stdout: '2 documents in 1 file valid\n' });
    const diff = await ws.run(runDiff, ['-f', '-'], env, text);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('CREATE from-stdin');
    expect(await ws.run(runApply, ['-f', '-'], env, text)).toMatchObject({ code: 0, stdout: 'from-stdin: created\nalso-stdin: created\n' });
    expect(await names()).toEqual(['also-stdin', 'from-stdin']);

    const broken = await ws.run(runValidate, ['-f', '-'], env, 'type: mcp-server/remote\nname: x\n');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^STDIN:\d+:\d+: /m);
  });

  it('delete takes several names, -f FILE and -l selectors', async () => {
    ws.write(
      'all.yaml',
      [
        remoteYaml('a1', { extra: 'tags:\n  team: blue' }),
        remoteYaml('a2', { extra: 'tags:\n  team: blue\n  tier: gold' }),
        remoteYaml('a3', { extra: 'tags:\n  team: red' }),
        remoteYaml('a4'),
        remoteYaml('a5'),
      ].join('---\n'),
    );
    ws.write('a4.yaml', remoteYaml('a4'));
    expect((await ws.run(runApply, ['-f', 'all.yaml'], env)).code).toBe(0);

    const selected = await ws.run(runDelete, ['-l', 'team=blue,tier!=gold'], env);
    expect(selected).toMatchObject({ code: 0, stdout: 'a1: deleted\n' });
    const byFile = await ws.run(runDelete, ['-f', 'a4.yaml'], env);
    expect(byFile).toMatchObject({ code: 0, stdout: 'a4: deleted\n' });
    const several = await ws.run(runDelete, ['a2', 'nope', 'a5'], env);
    expect(several.code).toBe(1);
    expect(several.stdout).toBe('a2: deleted\na5: deleted\n');
    expect(several.stderr).toContain('"nope" not found');
    expect(await names()).toEqual(['a3']);

    expect((await ws.run(runDelete, ['a3', '-l', 'team=red'], env)).code).toBe(2);
    const bad = await ws.run(runDelete, ['-l', 'team'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-l must be key=value');
  });
});
