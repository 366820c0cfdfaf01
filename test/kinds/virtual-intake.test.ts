// mcp-server/virtual through the other doors of intake: a watched file (sources and the virtual server in
// one file), dryRun with a masked diff, events, and the status that names a source that is not Ready.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDescribe } from '../../src/cli/describe.js';
import { runGet } from '../../src/cli/get.js';
import { workspace } from '../cli/cli-support.js';
import { WatchClient } from '../http/watch-client.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const API = '/api/svc/v1/mcp-servers';

let cp: TestControlPlane;
let dir: string;
let upstream: RunningMcpServer;

async function condition(name: string, type: string) {
  const got = await cp.api(`${API}/name/${name}`);
  const data = got.json?.data;
  const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === type);
  return c && c.observedGeneration === data.generation ? c : undefined;
}

beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: [{ name: 'files_read' }, { name: 'files_write' }] });
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-virtual-files-'));
  cp = await startTestControlPlane({ manifests: [dir] });
});

afterAll(async () => {
  await cp?.dispose();
  rmSync(dir, { recursive: true, force: true });
  await upstream?.close();
});

describe('mcp-server/virtual through files and dryRun', () => {
  it('applies sources and a virtual server from one watched file; a source that is not Ready is named', async () => {
    writeFileSync(
      join(dir, 'team.yaml'),
      [
        'type: mcp-server/remote',
        'name: files',
        'description: Files',
        `url: ${upstream.url}`,
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '---',
        'type: mcp-server/remote',
        'name: down',
        'description: A server nobody runs',
        'url: http://127.0.0.1:9/mcp',
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '---',
        'type: mcp-server/virtual',
        'name: team-agent',
        'description: The team agent',
        'servers:',
        '  - { name: files, enabled_tools: [files_read] }',
        '  - { name: down }',
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '',
      ].join('\n'),
    );
    const notReady = await waitFor(async () => {
      const ready = await condition('team-agent', 'Ready');
      return ready?.reason === 'SourceNotReady' ? ready : undefined;
    }, { what: 'team-agent SourceNotReady' });
    expect(notReady.status).toBe('False');
    expect(notReady.message).toContain('Source "down" is not Ready');

    // The file drops the broken source: the virtual server follows, level-triggered.
    writeFileSync(
      join(dir, 'team.yaml'),
      [
        'type: mcp-server/remote',
        'name: files',
        'description: Files',
        `url: ${upstream.url}`,
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '---',
        'type: mcp-server/virtual',
        'name: team-agent',
        'description: The team agent',
        'servers:',
        '  - { name: files, enabled_tools: [files_read] }',
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '',
      ].join('\n'),
    );
    await waitFor(async () => (await condition('team-agent', 'Ready'))?.status === 'True', { what: 'team-agent Ready' });
    const got = await cp.api(`${API}/name/team-agent`);
    expect(got.json.data.tools.map((t: { name: string; source: string }) => [t.name, t.source])).toEqual([['files_read', 'files']]);
    expect(got.json.data.source).toMatchObject({ kind: 'file', path: 'team.yaml', document: 1 });
    const events = await cp.api(`${API}/${got.json.data.id}/events`);
    expect(events.json.data.map((e: { reason: string }) => e.reason)).toEqual(expect.arrayContaining(['Created', 'Applied', 'ToolsChanged']));
  });

  it('answers a dryRun with a diff that names a changed override secret without showing it, and writes nothing', async () => {
    await waitFor(async () => (await condition('files', 'Ready'))?.status === 'True', { what: 'files Ready' });
    const manifest = (token: string) => ({
      type: 'mcp-server/virtual',
      name: 'api-agent',
      description: 'Through the API',
      servers: [{ name: 'files', auth_data: { type: 'header', headers: { Authorization: `Bearer ${token}` } } }],
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    });
    const created = await cp.api(API, { method: 'PUT', body: { manifest: manifest('first-secret-value') } });
    expect(created.json.action).toBe('CREATE');
    const preview = await cp.api(API, { method: 'PUT', body: { manifest: manifest('second-secret-value'), dryRun: true } });
    expect(preview.status).toBe(200);
    expect(preview.json).toMatchObject({ action: 'UPDATE', dryRun: true });
    expect(preview.json.diff).toEqual([{ op: 'replace', path: '/servers/0/auth_data/headers/Authorization', secret: true }]);
    expect(preview.text).not.toContain('secret-value');
    expect((await cp.api(`${API}/name/api-agent`)).json.data.generation).toBe(1);

    // Applied for real: the event that describes the change says only that a secret changed.
    const updated = await cp.api(API, { method: 'PUT', body: { manifest: manifest('second-secret-value') } });
    expect(updated.json).toMatchObject({ action: 'UPDATE', data: { generation: 2 } });
    const events = await cp.api(`${API}/${updated.json.data.id}/events`);
    expect(events.text).toContain('(secret changed)');
    expect(updated.text + events.text + (await cp.api(`${API}/name/api-agent`)).text).not.toContain('secret-value');
  });

  it('follows a source created after it: SourceNotFound, then Ready with its tools', async () => {
    const virtual = {
      type: 'mcp-server/virtual',
      name: 'early-agent',
      description: 'Written before its source',
      servers: [{ name: 'late-source' }],
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    };
    expect((await cp.api(API, { method: 'PUT', body: { manifest: virtual } })).status).toBe(200);
    await waitFor(async () => (await condition('early-agent', 'Ready'))?.reason === 'SourceNotFound', { what: 'early-agent SourceNotFound' });
    const source = {
      type: 'mcp-server/remote',
      name: 'late-source',
      description: 'Created later',
      url: upstream.url,
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    };
    expect((await cp.api(API, { method: 'PUT', body: { manifest: source } })).status).toBe(200);
    await waitFor(async () => (await condition('early-agent', 'Ready'))?.status === 'True', { what: 'early-agent Ready' });
    const tools = (await cp.api(`${API}/name/early-agent`)).json.data.tools.map((t: { name: string }) => t.name);
    expect(tools.sort()).toEqual(['files_read', 'files_write']);
  });

  it('reaches watchers with its override masked and its status as it settles', async () => {
    const watch = await WatchClient.open(cp.url);
    try {
      const manifest = {
        type: 'mcp-server/virtual',
        name: 'watched-agent',
        description: 'Watched',
        servers: [{ name: 'files', enabled_tools: ['files_write'], auth_data: { type: 'header', headers: { 'X-Token': 'watch-secret-value' } } }],
        collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
      };
      expect((await cp.api(API, { method: 'PUT', body: { manifest } })).status).toBe(200);
      const settled = await watch.waitFor(
        (e) => e.object?.name === 'watched-agent' && e.object.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
        { what: 'watched-agent Ready on the watch stream', timeoutMs: 10_000 },
      );
      expect(settled.object.manifest.servers[0].auth_data.headers['X-Token']).toBe('********');
      expect(settled.object.tools).toEqual([expect.objectContaining({ name: 'files_write', source: 'files' })]);
      expect(JSON.stringify(watch.events)).not.toContain('watch-secret-value');
    } finally {
      await watch.close();
    }
  });

  it('mcpctl get lists it and describe names its sources and the tools each serves', async () => {
    const ws = workspace();
    try {
      const env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
      const got = await ws.run(runGet, ['team-agent'], env);
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^team-agent +True +/m);
      const described = await ws.run(runDescribe, ['team-agent'], env);
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(/^Spec:\n {2}type: mcp-server\/virtual\n/m);
      expect(described.stdout).toMatch(/^ {2}Sources: +files \(files_read\)$/m);
    } finally {
      ws.dispose();
    }
  });

  it('is a manifest kind of the OpenAPI document, from its schema file', async () => {
    const doc = (await cp.api('/openapi.json')).json;
    expect(doc.components.schemas.VirtualMcpServerManifest).toMatchObject({ 'x-schema-file': 'schemas/mcp-server-virtual.schema.json' });
    expect(doc.components.schemas.McpServerManifest.oneOf).toContainEqual({ $ref: '#/components/schemas/VirtualMcpServerManifest' });
  });

  it('is shown by the GAIA-style API, which refuses to change it and says where to', async () => {
    const id = (await cp.api(`${API}/name/api-agent`)).json.data.id;
    const shown = await cp.api(`/api/mcp/servers/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain('secret-value');
    const patched = await cp.api(`/api/mcp/servers/${id}`, { method: 'PATCH', body: { description: 'changed' } });
    expect(patched.status).toBe(400);
    expect(patched.text).toContain('use PUT /api/svc/v1/mcp-servers');
  });
});
