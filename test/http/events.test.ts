// Events say why: every apply, transition, discovery change, failure, drift repair and prune leaves one,
// with who caused it, and no secret. Real server, real MCP server, real files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const SERVERS = '/api/svc/v1/mcp-servers';
const SECRET_1 = 'canary-secret-events-1a';
const SECRET_2 = 'canary-secret-events-2b';

interface EventView {
  type: string;
  reason: string;
  message: string;
  count: number;
  actor: string;
  subject: { fqn: string; id: string };
}

function yamlServer(name: string, url: string): string {
  return `type: mcp-server/remote\nname: ${name}\ndescription: ${name} from a file\nurl: ${url}\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;
}

let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await upstream.close();
});

describe('events', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-events-'));
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--write-rate-limit', 'off'], manifests: [dir] });
  });
  afterEach(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const eventsOf = async (id: string): Promise<EventView[]> => (await cp.api(`${SERVERS}/${id}/events`)).json.data;
  const waitEvent = (id: string, reason: string, match: (e: EventView) => boolean = () => true) =>
    waitFor(async () => (await eventsOf(id)).find((e) => e.reason === reason && match(e)), { what: `event ${reason}` });

  it('records applies, transitions, discovery changes, failures and drift repairs, with the actor', async () => {
    const headers = (secret: string) => ({ type: 'header', headers: { 'X-Api-Key': secret } });
    const created = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'alpha', url: upstream.url, auth_data: headers(SECRET_1) }) } });
    const id = created.json.data.id as string;
    expect(await waitEvent(id, 'Created')).toMatchObject({ type: 'Normal', actor: 'admin' });
    expect(await waitEvent(id, 'Applied')).toMatchObject({ type: 'Normal', actor: 'reconciler', message: 'Applied generation 1 to the gateway store.' });
    expect(await waitEvent(id, 'Ready')).toMatchObject({ type: 'Normal', actor: 'reconciler' });
    expect(await waitEvent(id, 'ToolsChanged')).toMatchObject({ message: expect.stringMatching(/added tool-0001, tool-0002/) });

    // An update says what changed (the last diff), and that a secret changed without showing it.
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'alpha', url: upstream.url, description: 'Changed', auth_data: headers(SECRET_2) }) } });
    const updated = await waitEvent(id, 'Updated');
    expect(updated.actor).toBe('admin');
    expect(updated.message).toMatch(/generation 2, 2 change\(s\): /);
    expect(updated.message).toContain('~ /description: "GitHub tools for the platform team" → "Changed"');
    expect(updated.message).toContain('~ /auth_data/headers/X-Api-Key: (secret changed)');
    await waitEvent(id, 'Applied', (e) => e.message.includes('generation 2'));

    // Discovery change: the upstream's tools change, a refresh discovers it.
    upstream.setTools(3);
    try {
      expect((await cp.api(`${SERVERS}/${id}/refresh`, { method: 'POST' })).status).toBe(200);
      expect(await waitEvent(id, 'ToolsChanged', (e) => e.message.includes('added tool-0003'))).toMatchObject({ actor: 'reconciler' });
    } finally {
      upstream.setTools(2);
    }

    // Drift: the gateway entry vanishes behind the reconciler's back; the next reconcile restores it.
    expect((await cp.gateway.delete('default:mcp-server:alpha'))).toBe(true);
    await cp.controller.enqueueAll();
    expect(await waitEvent(id, 'DriftRepaired')).toMatchObject({ type: 'Warning', actor: 'reconciler' });
    expect((await cp.gateway.get('default:mcp-server:alpha'))).toBeDefined();

    // Failure: an unreachable URL is a Warning transition of Ready with the reason.
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'alpha', url: 'http://127.0.0.1:9/mcp', auth_data: headers(SECRET_2) }) } });
    expect(await waitEvent(id, 'Unreachable')).toMatchObject({ type: 'Warning', actor: 'reconciler' });

    // Delete, by whom.
    await cp.api(`${SERVERS}/${id}`, { method: 'DELETE' });
    const all = (await cp.api('/api/svc/v1/events?limit=1000')).json.data as EventView[];
    expect(all.find((e) => e.subject.id === id && e.reason === 'Deleted')).toMatchObject({ actor: 'admin' });
    const text = JSON.stringify(all);
    expect(text).not.toContain(SECRET_1);
    expect(text).not.toContain(SECRET_2);
  });

  it('records file applies, file errors and prunes with the GitOps actor', async () => {
    writeFileSync(join(dir, 'servers.yaml'), `${yamlServer('one', upstream.url)}---\n${yamlServer('two', upstream.url)}`);
    const one = await waitFor(async () => (await cp.api(`${SERVERS}/name/one`)).json?.data, { what: 'one from the file' });
    const two = (await cp.api(`${SERVERS}/name/two`)).json.data;
    expect(await waitEvent(one.id, 'Created')).toMatchObject({ actor: 'serviceaccount:gitops', message: expect.stringContaining('servers.yaml') });

    // A broken file keeps its servers and each of them hears why.
    writeFileSync(join(dir, 'servers.yaml'), `${yamlServer('one', upstream.url)}  bogus: [\n---\n${yamlServer('two', upstream.url)}`);
    expect(await waitEvent(one.id, 'SourceFileInvalid')).toMatchObject({ type: 'Warning', actor: 'serviceaccount:gitops', message: expect.stringMatching(/servers\.yaml:\d+:\d+/) });

    // Fixed, without two: two is pruned by the GitOps source.
    writeFileSync(join(dir, 'servers.yaml'), yamlServer('one', upstream.url));
    await waitFor(async () => (await cp.api(`${SERVERS}/name/two`)).status === 404, { what: 'two pruned' });
    const all = (await cp.api('/api/svc/v1/events?limit=1000')).json.data as EventView[];
    expect(all.find((e) => e.subject.id === two.id && e.reason === 'Deleted')).toMatchObject({ actor: 'serviceaccount:gitops', message: expect.stringContaining('servers.yaml') });
  });
});
