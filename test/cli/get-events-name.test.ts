// mcpctl get events NAME shows the events of the server that now has that name, however many events
// other servers have, and not those of an earlier server of the same name.
import { runGet } from '../../src/cli/get.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { waitFor } from '../support/wait-for.js';
import { workspace, type Workspace } from './cli-support.js';

const SERVERS = '/api/svc/v1/mcp-servers';

describe('mcpctl get events NAME', () => {
  let cp: TestControlPlane;
  let ws: Workspace;
  let env: Record<string, string>;
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    ws = workspace();
    env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
  });
  afterEach(async () => {
    await cp.dispose();
    ws.dispose();
  });

  const put = async (name: string, description: string) => {
    const res = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name, description }) } });
    expect(res.status).toBeLessThan(300);
    return res.json.data as { id: string };
  };

  it('lists the events of the server that has the name now, not of an earlier one of that name', async () => {
    const first = await put('reused', 'the first');
    expect((await cp.api(`${SERVERS}/name/reused`, { method: 'DELETE' })).status).toBe(200);
    const second = await put('reused', 'the second');
    expect(second.id).not.toBe(first.id);
    // Its discovery has failed and its reconcile written that (status and events together): a PUT is answered before.
    await waitFor(async () => {
      const r = (await cp.store.get('default:mcp-server:reused'))!;
      const ready = r.status.conditions.find((c) => c.type === 'Ready');
      return ready?.observedGeneration === r.generation && ready.status !== 'Unknown';
    }, { what: 'the reconcile of the second server' });
    const own = (await cp.api(`${SERVERS}/${second.id}/events`)).json.data as { reason: string; firstTimestamp: string }[];

    const r = await ws.run(runGet, ['events', 'reused', '-o', 'json'], env);
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout) as { reason: string; firstTimestamp: string }[];
    expect(shown.filter((e) => e.reason === 'Created')).toHaveLength(1);
    expect(shown.map((e) => `${e.reason} ${e.firstTimestamp}`).sort()).toEqual(own.map((e) => `${e.reason} ${e.firstTimestamp}`).sort());

    const table = await ws.run(runGet, ['events', 'reused'], env);
    expect(table.stdout).toMatch(/Normal +Created +reused +1 /);
  });

  it('an unknown name is an error naming the server, with the name meant', async () => {
    await put('alpha', 'a');
    const r = await ws.run(runGet, ['events', 'alpah'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MCP server "alpah" not found; did you mean "alpha"?');
  });
});
