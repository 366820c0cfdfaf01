// Discovery through the real server: registered servers are real SDK MCP servers on loopback; the
// answers of the API and the gateway view show what discovery found.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer, type StartMcpServerOptions } from '../support/mcp-servers.js';
import {
  condition,
  eventsOf,
  getServer,
  putServer,
  refresh,
  SERVERS,
  waitForReady,
  type ServerView,
} from '../support/servers-api.js';

const upstreams: RunningMcpServer[] = [];
async function upstream(opts: StartMcpServerOptions): Promise<RunningMcpServer> {
  const server = await startMcpServer(opts);
  upstreams.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((s) => s.close()));
});

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
});
afterAll(async () => {
  await cp.dispose();
});

async function gatewayEntry(name: string): Promise<Record<string, unknown>> {
  const res = await cp.api('/api/svc/v1/gateway/servers');
  return res.json.data.find((e: { name: string }) => e.name === name);
}

describe('transports', () => {
  it('discovers a Streamable HTTP server: tools, transport, authStatus and Ready, without further calls', async () => {
    const server = await upstream({
      transport: 'streamable-http',
      tools: [
        {
          name: 'search',
          description: 'Searches the index.',
          inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          annotations: { readOnlyHint: true },
        },
        { name: 'reindex' },
      ],
    });
    const created = await putServer(cp, remoteManifest({ name: 'streamable', url: server.url }));
    // The PUT answers before discovery: nothing is known yet.
    expect(created.json.data.tools).toEqual([]);

    const ready = await waitForReady(cp, 'streamable', 'True');
    expect(ready.tools).toEqual([
      {
        name: 'search',
        description: 'Searches the index.',
        upstreamDescription: 'Searches the index.',
        inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
        annotations: { readOnlyHint: true },
        disabled: false,
      },
      { name: 'reindex', inputSchema: { type: 'object', properties: {} }, disabled: false },
    ]);
    expect(ready.authStatus).toMatchObject({ status: 'authentication_not_required', method: null });
    expect(ready.metadata.detected_transport).toBe('streamable-http');
    expect(condition(ready, 'Discovered')).toMatchObject({ status: 'True', reason: 'Discovered', observedGeneration: 1 });
    expect(condition(ready, 'Applied')).toMatchObject({ status: 'True' });
    expect(condition(ready, 'Reconciling')).toBeUndefined();
    expect(await gatewayEntry('streamable')).toMatchObject({ transport: 'streamable-http', upstreamUrl: server.url });
    expect(server.requests.filter((r) => r.rpcMethod === 'tools/list')).toHaveLength(1);
  });

  it('falls back to HTTP+SSE for an SSE-only server and records the transport in the API and the gateway entry', async () => {
    const server = await upstream({ transport: 'sse', tools: 2 });
    await putServer(cp, remoteManifest({ name: 'sse-only', url: server.url }));
    const ready = await waitForReady(cp, 'sse-only', 'True');
    expect(ready.metadata.detected_transport).toBe('sse');
    expect(ready.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
    expect(await gatewayEntry('sse-only')).toMatchObject({ transport: 'sse' });
    // Streamable HTTP was tried first and answered with a 4xx, then the SSE stream was opened.
    const first = server.requests[0]!;
    expect([first.method, new URL(first.url, 'http://x').pathname]).toEqual(['POST', '/sse']);
    expect(server.requests.some((r) => r.method === 'GET' && r.url.startsWith('/sse'))).toBe(true);
  });

  it('tries a transport preset in metadata.detected_transport first', async () => {
    const server = await upstream({ transport: 'sse', tools: 1 });
    const created = await putServer(cp, remoteManifest({ name: 'preset-sse', url: server.url }), {
      metadata: { detected_transport: 'sse' },
    });
    // The gateway entry carries the preset before discovery confirms it.
    await waitFor(async () => (await gatewayEntry('preset-sse'))?.transport === 'sse', { what: 'preset in the gateway entry' });
    const ready = await waitForReady(cp, 'preset-sse', 'True');
    expect(ready.metadata.detected_transport).toBe('sse');
    expect(created.json.data.metadata).toEqual({ detected_transport: 'sse' });
    // No Streamable HTTP POST was needed: the very first request opened the SSE stream.
    expect(server.requests[0]).toMatchObject({ method: 'GET' });
    expect(server.requests.some((r) => r.method === 'POST' && r.url === '/sse')).toBe(false);
  });

  it('falls back from a wrong preset to the transport the server speaks, and corrects the gateway entry', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 1 });
    await putServer(cp, remoteManifest({ name: 'preset-wrong', url: server.url }), { metadata: { detected_transport: 'sse' } });
    const ready = await waitForReady(cp, 'preset-wrong', 'True');
    expect(ready.metadata.detected_transport).toBe('streamable-http');
    expect(server.requests[0]).toMatchObject({ method: 'GET' });
    await waitFor(async () => (await gatewayEntry('preset-wrong'))?.transport === 'streamable-http', { what: 'gateway transport corrected' });
  });

  it('registers a server declared in a watched file the same way', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'mcp-cp-discovery-'));
    const fileCp = await startTestControlPlane({ args: ['--resync-interval', '0'], manifests: [dir] });
    try {
      writeFileSync(
        join(dir, 'from-file.yaml'),
        ['type: mcp-server/remote', 'name: from-file', 'description: From a file', `url: ${server.url}`, 'collaborators:', '  - subject: team:everyone', '    role_id: mcp-server-user', ''].join('\n'),
      );
      const ready = await waitForReady(fileCp, 'from-file', 'True');
      expect(ready.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
      expect(ready.metadata.detected_transport).toBe('streamable-http');
    } finally {
      await fileCp.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tools', () => {
  it('follows nextCursor: all 250 tools of a server paging 100 at a time', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 250, pageSize: 100 });
    await putServer(cp, remoteManifest({ name: 'many-tools', url: server.url }));
    const ready = await waitForReady(cp, 'many-tools', 'True');
    expect(ready.tools).toHaveLength(250);
    expect(ready.tools.map((t) => t.name)).toEqual(Array.from({ length: 250 }, (_, i) => `tool-${String(i + 1).padStart(4, '0')}`));
    expect(server.requests.filter((r) => r.rpcMethod === 'tools/list')).toHaveLength(3);
    expect(condition(ready, 'Discovered')?.message).toContain('250 tools');
    // The event about them names a few and counts the rest.
    const changed = (await eventsOf(cp, ready.id)).find((e) => e.reason === 'ToolsChanged');
    expect(changed?.message).toMatch(/^Tools changed: added tool-0001, .*tool-0020 and 230 more\.$/);
  });

  it('applies tool_settings: description override, disabled flag, merged annotations; an unknown name is a warning', async () => {
    const server = await upstream({
      transport: 'streamable-http',
      tools: [
        { name: 'search', description: 'Upstream search.', annotations: { readOnlyHint: true, title: 'Search' } },
        { name: 'drop_table', description: 'Drops a table.', annotations: { destructiveHint: true } },
        { name: 'plain' },
      ],
    });
    const created = await putServer(
      cp,
      remoteManifest({
        name: 'tool-settings',
        url: server.url,
        tool_settings: [
          { name: 'search', description: 'Search the docs index.', annotations: { openWorldHint: false, title: 'Docs search' } },
          { name: 'drop_table', disabled: true },
          { name: 'no_such_tool', description: 'Gone upstream.' },
        ],
      }),
    );
    const ready = await waitForReady(cp, 'tool-settings', 'True');
    expect(ready.tools).toEqual([
      {
        name: 'search',
        description: 'Search the docs index.',
        upstreamDescription: 'Upstream search.',
        inputSchema: { type: 'object', properties: {} },
        annotations: { readOnlyHint: true, title: 'Docs search', openWorldHint: false },
        disabled: false,
      },
      {
        name: 'drop_table',
        description: 'Drops a table.',
        upstreamDescription: 'Drops a table.',
        inputSchema: { type: 'object', properties: {} },
        annotations: { destructiveHint: true },
        disabled: true,
      },
      { name: 'plain', inputSchema: { type: 'object', properties: {} }, disabled: false },
    ]);
    const discovered = condition(ready, 'Discovered')!;
    expect(discovered).toMatchObject({ status: 'True', reason: 'UnknownTool' });
    expect(discovered.message).toContain('no_such_tool');
    const events = await eventsOf(cp, created.json.data.id);
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'UnknownTool', message: expect.stringContaining('no_such_tool') })]));
    expect(await gatewayEntry('tool-settings')).toMatchObject({
      disabledTools: ['drop_table'],
      toolOverrides: { search: { description: 'Search the docs index.' }, no_such_tool: { description: 'Gone upstream.' } },
    });

    // Fixing the manifest clears the warning; every spec change is discovered again.
    await putServer(
      cp,
      remoteManifest({ name: 'tool-settings', url: server.url, tool_settings: [{ name: 'drop_table', disabled: true }] }),
    );
    const fixed = await waitFor(async () => {
      const s = await getServer(cp, 'tool-settings');
      return s.status.observedGeneration === 2 && condition(s, 'Discovered')?.reason === 'Discovered' ? s : undefined;
    });
    expect(fixed.tools.find((t) => t.name === 'search')?.description).toBe('Upstream search.');
    await waitFor(() => server.requests.filter((r) => r.rpcMethod === 'tools/list').length === 2, { what: 'rediscovery after the spec change' });
  });
});

describe('dryRun', () => {
  it('never contacts the upstream, for a create or an update', async () => {
    const untouched = await upstream({ transport: 'streamable-http', tools: 1 });
    const used = await upstream({ transport: 'streamable-http', tools: 1 });
    const preview = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'dry-new', url: untouched.url }), dryRun: true } });
    expect(preview.json).toMatchObject({ action: 'CREATE', dryRun: true });
    await putServer(cp, remoteManifest({ name: 'dry-existing', url: used.url }));
    await waitForReady(cp, 'dry-existing', 'True');
    const update = await putServer(cp, remoteManifest({ name: 'dry-existing', url: untouched.url }), { dryRun: true });
    expect(update.json).toMatchObject({ action: 'UPDATE', dryRun: true });
    // Let every reconcile the writes above caused run to its end, and a refresh of the real one too.
    expect((await refresh(cp, (await getServer(cp, 'dry-existing')).id)).status).toBe(200);
    await cp.controller.waitForIdle();
    expect(untouched.requests).toEqual([]);
    expect((await cp.api(`${SERVERS}/name/dry-new`)).status).toBe(404);
    expect((await getServer(cp, 'dry-existing')).generation).toBe(1);
  });
});

describe('POST /mcp-servers/{id}/refresh', () => {
  it('rediscovers on demand, answers the updated resource, and an event names the tools that came and went', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: [{ name: 'alpha' }, { name: 'beta' }] });
    const { json } = await putServer(cp, remoteManifest({ name: 'changing', url: server.url }));
    const id = json.data.id;
    await waitForReady(cp, 'changing', 'True');
    const listsBefore = server.requests.filter((r) => r.rpcMethod === 'tools/list').length;

    server.setTools([{ name: 'beta' }, { name: 'gamma', description: 'New.' }, { name: 'delta' }]);
    const res = await refresh(cp, id);
    expect(res.status).toBe(200);
    // The answer already holds the new list: no polling needed.
    const data = res.json.data as ServerView;
    expect(data.tools.map((t) => t.name)).toEqual(['beta', 'gamma', 'delta']);
    expect(condition(data, 'Ready')).toMatchObject({ status: 'True' });
    expect(res.headers.get('etag')).toBe(`"${(res.json.data as { resourceVersion: string }).resourceVersion}"`);
    expect(server.requests.filter((r) => r.rpcMethod === 'tools/list').length).toBe(listsBefore + 1);

    const changed = (await eventsOf(cp, id)).filter((e) => e.reason === 'ToolsChanged');
    const latest = changed[changed.length - 1]!;
    expect(latest.type).toBe('Normal');
    expect(latest.message).toMatch(/added gamma, delta/);
    expect(latest.message).toMatch(/removed alpha/);

    // Unchanged upstream: a refresh answers the same tools and records no new ToolsChanged event.
    const again = await refresh(cp, id);
    expect(again.status).toBe(200);
    expect((again.json.data as ServerView).tools.map((t) => t.name)).toEqual(['beta', 'gamma', 'delta']);
    expect((await eventsOf(cp, id)).filter((e) => e.reason === 'ToolsChanged')).toHaveLength(changed.length);
  });

  it('answers a failed discovery as the resource with Ready False and its reason', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 1 });
    const { json } = await putServer(cp, remoteManifest({ name: 'goes-away', url: server.url }));
    await waitForReady(cp, 'goes-away', 'True');
    await server.close();
    const res = await refresh(cp, json.data.id);
    expect(res.status).toBe(200);
    expect(condition(res.json.data, 'Ready')).toMatchObject({ status: 'False', reason: 'Unreachable' });
    // The last known tools stay shown while the server is away.
    expect((res.json.data as ServerView).tools.map((t) => t.name)).toEqual(['tool-0001']);
  });

  it('answers 404 for an unknown id and 401 without a token', async () => {
    expect((await refresh(cp, 'no-such-id')).status).toBe(404);
    const server = await upstream({ transport: 'streamable-http', tools: 1 });
    const { json } = await putServer(cp, remoteManifest({ name: 'refresh-auth', url: server.url }));
    const unauthenticated = await cp.api(`${SERVERS}/${json.data.id}/refresh`, { method: 'POST', token: null });
    expect(unauthenticated.status).toBe(401);
  });
});
