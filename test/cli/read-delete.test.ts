// mcpctl get, describe and delete against the real server.
import { parse as parseYaml } from 'yaml';
import { runApply } from '../../src/cli/apply.js';
import { runDelete } from '../../src/cli/delete.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runGet } from '../../src/cli/get.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

const SECRET = 'canary-secret-0b7d2e61';

describe('mcpctl get, describe, delete', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  let upstream: RunningMcpServer;
  beforeAll(async () => {
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
  });
  afterAll(async () => {
    await upstream.close();
  });
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    ws = workspace();
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
    ws.write(
      'm/servers.yaml',
      `${remoteYaml('alpha', { url: upstream.url, extra: `auth_data:\n  type: header\n  headers:\n    X-Api-Key: ${SECRET}` })}---\n${remoteYaml('bravo')}`,
    );
    expect((await ws.run(runApply, ['-f', 'm'], env)).code).toBe(0);
    // alpha points at a real MCP server: wait until it is Ready with its tools and the gateway serves it.
    await waitFor(
      async () => {
        const res = await cp.api('/api/svc/v1/mcp-servers/name/alpha');
        const gw = await cp.api('/api/svc/v1/gateway/servers');
        const data = res.json.data;
        const ready = data.status.conditions.find((c: { type: string }) => c.type === 'Ready');
        return ready?.status === 'True' && data.tools.length === 2 && gw.json.data.some((e: { name: string }) => e.name === 'alpha');
      },
      { what: 'alpha Ready with 2 tools in the gateway' },
    );
  });
  afterEach(async () => {
    ws.dispose();
    await cp.dispose();
  });

  it('get lists servers as a table', async () => {
    const r = await ws.run(runGet, [], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +READY +GENERATION +OBSERVED +SOURCE +TOOLS +AGE$/);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.startsWith('alpha '))).toMatch(/^alpha +True +1 +1 +api +2 +\d+s$/);
    expect(lines.some((l) => l.startsWith('bravo '))).toBe(true);
    expect(r.stdout).not.toContain(SECRET);
  });

  it('get -o json and -o yaml parse back to the API data, masked', async () => {
    const one = await ws.run(runGet, ['alpha', '-o', 'json'], env);
    expect(one.code).toBe(0);
    const data = JSON.parse(one.stdout);
    expect(data).toMatchObject({ name: 'alpha', fqn: 'default:mcp-server:alpha', generation: 1 });
    expect(data.manifest.auth_data.headers['X-Api-Key']).toBe('********');

    const all = await ws.run(runGet, ['-o', 'yaml'], env);
    expect(all.code).toBe(0);
    const list = parseYaml(all.stdout) as { name: string }[];
    expect(list.map((s) => s.name).sort()).toEqual(['alpha', 'bravo']);
    for (const r of [one, all]) expect(r.stdout).not.toContain(SECRET);
  });

  it('get of an unknown name exits 1', async () => {
    const r = await ws.run(runGet, ['nope'], env);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'error: MCP server "nope" not found\n' });
  });

  it('describe shows the masked spec, conditions, events and the gateway entry', async () => {
    const r = await ws.run(runDescribe, ['alpha'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name: +alpha$/m);
    expect(r.stdout).toMatch(/^Ready: +True$/m);
    expect(r.stdout).toMatch(/^Generation: +1 \(observed 1\)$/m);
    expect(r.stdout).toMatch(/^Spec:\n {2}type: mcp-server\/remote\n/m);
    expect(r.stdout).toMatch(/^ {6}X-Api-Key: "?\*{8}"?$/m);
    expect(r.stdout).toMatch(/^Conditions:\n {2}TYPE +STATUS +REASON +AGE +MESSAGE\n {2}Ready +True /m);
    expect(r.stdout).toMatch(/^Events:\n/m);
    expect(r.stdout).toMatch(/^Tools \(2\):\n {2}NAME +DISABLED +DESCRIPTION\n {2}tool-0001 +no +Test tool tool-0001\.$/m);
    expect(r.stdout).toContain(`Gateway:\n  Upstream URL: ${upstream.url}\n`);
    expect(r.stdout).toMatch(/^ {2}Headers: +X-Api-Key=\*{8}$/m);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('describe of an unknown name exits 1; without a name exits 2', async () => {
    expect((await ws.run(runDescribe, ['nope'], env)).code).toBe(1);
    const r = await ws.run(runDescribe, [], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs the NAME');
  });

  it('delete removes the server; a second delete exits 1 unless --ignore-not-found', async () => {
    const r = await ws.run(runDelete, ['bravo'], env);
    expect(r).toEqual({ code: 0, stdout: 'bravo: deleted\n', stderr: '' });
    expect((await cp.api('/api/svc/v1/mcp-servers/name/bravo')).status).toBe(404);
    expect(await ws.run(runDelete, ['bravo'], env)).toEqual({ code: 1, stdout: '', stderr: 'error: MCP server "bravo" not found\n' });
    expect((await ws.run(runDelete, ['bravo', '--ignore-not-found'], env)).code).toBe(0);
    const after = await ws.run(runGet, [], env);
    expect(after.stdout).not.toMatch(/^bravo /m);
  });
});
