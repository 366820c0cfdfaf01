// version, get -o wide, several names, -l, get events, get sources, broken files in get, did-you-mean.
import { join } from 'node:path';
import { runApply } from '../../src/cli/apply.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runGet } from '../../src/cli/get.js';
import { runVersion } from '../../src/cli/version.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

describe('mcpctl kubectl-grade reads', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeEach(async () => {
    ws = workspace();
    ws.write('watched/good.yaml', remoteYaml('from-file'));
    ws.write('watched/broken.yaml', 'type: mcp-server/remote\nname: broken\ndescription: [unclosed\n');
    cp = await startTestControlPlane({ manifests: [join(ws.dir, 'watched')], args: ['--resync-interval', '0'] });
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
    ws.write(
      'api.yaml',
      [remoteYaml('alpha', { extra: 'tags:\n  team: blue' }), remoteYaml('bravo', { extra: 'tags:\n  team: red' })].join('---\n'),
    );
    expect((await ws.run(runApply, ['-f', 'api.yaml'], env)).code).toBe(0);
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/from-file')).status === 200, { what: 'from-file' });
  });
  afterEach(async () => {
    await cp.dispose();
    ws.dispose();
  });

  it('version prints the client and the server version', async () => {
    const r = await ws.run(runVersion, [], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Client Version: \d+\.\d+\.\d+\nServer Version: \d+\.\d+\.\d+ \(http:\/\/127\.0\.0\.1:\d+\)\n$/);
    const json = await ws.run(runVersion, ['-o', 'json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ clientVersion: expect.any(String), serverVersion: expect.any(String) });
    const down = await ws.run(runVersion, [], { ...env, MCPCTL_SERVER: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^Client Version: /);
    expect(down.stderr).toContain('cannot reach');
  });

  it('get -o wide adds REASON, URL and MESSAGE; -l selects by tag; several names at once, with did-you-mean for a typo', async () => {
    const wide = await ws.run(runGet, ['-o', 'wide', 'alpha'], env);
    expect(wide.code).toBe(0);
    const [header, line] = wide.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME +READY +GENERATION +OBSERVED +SOURCE +TOOLS +AGE +REASON +URL +MESSAGE$/);
    expect(line).toMatch(new RegExp(`^alpha .* ${cp.url.replace(/[.]/g, '\\.')}/mcp/alpha +\\S`));
    expect(line).toMatch(/ (Progressing|Ready|DiscoveryFailed|[A-Z][A-Za-z]+) +http/);

    const selected = await ws.run(runGet, ['-l', 'team=blue'], env);
    expect(selected.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(' ')[0])).toEqual(['alpha']);

    const several = await ws.run(runGet, ['alpha', 'brav', 'bravo'], env);
    expect(several.code).toBe(1);
    expect(several.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(' ')[0])).toEqual(['alpha', 'bravo']);
    expect(several.stderr).toContain('MCP server "brav" not found; did you mean "bravo"?');

    const described = await ws.run(runDescribe, ['alpah'], env);
    expect(described.stderr).toContain('did you mean "alpha"?');
  });

  it('get shows broken files of a watched directory; get sources lists files and errors as file:line:col', async () => {
    const list = await ws.run(runGet, [], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^from-file /m);
    expect(list.stderr).toContain('not applied (mcpctl get sources)');
    expect(list.stderr).toMatch(new RegExp(`${join(ws.dir, 'watched', 'broken.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+: `));

    const sources = await ws.run(runGet, ['sources'], env);
    expect(sources.code).toBe(0);
    expect(sources.stdout).toMatch(/ {2}good\.yaml +from-file +ok +0/);
    expect(sources.stdout).toMatch(/ {2}broken\.yaml +- +error +\d/);
    expect(sources.stdout).toMatch(/watched\/broken\.yaml:\d+:\d+: invalid YAML/);
  });

  it('get events lists recent events, of every server or of one', async () => {
    const all = await ws.run(runGet, ['events'], env);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(/^LAST SEEN +TYPE +REASON +SERVER +COUNT +MESSAGE$/);
    expect(all.stdout).toMatch(/Normal +Created +alpha +1 /);
    expect(all.stdout).toMatch(/Normal +Created +bravo +1 /);
    const one = await ws.run(runGet, ['events', 'bravo'], env);
    expect(one.stdout).not.toMatch(/ alpha /);
    expect(one.stdout).toMatch(/ bravo /);
  });

  it('a mistyped flag is answered with the flag meant', async () => {
    const r = await ws.run(runGet, ['--outptu', 'wide'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag "--outptu"; did you mean "--output"?');
  });
});

describe('serve flags: durations', () => {
  it('refuse a bare number other than 0, naming the units', async () => {
    const { parseServeConfig } = await import('../../src/config.js');
    expect(() => parseServeConfig(['--resync-interval', '30'], {})).toThrow('--resync-interval: "30" needs a unit; write e.g. 30s (units: ms, s, m, h).');
    expect(parseServeConfig(['--resync-interval', '0'], {}).resyncIntervalMs).toBe(0);
    expect(parseServeConfig(['--resync-interval', '2m'], {}).resyncIntervalMs).toBe(120_000);
  });
});
