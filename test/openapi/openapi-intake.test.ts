// mcp-server/openapi through the same doors as every kind: PUT (dryRun with a diff, errors naming the
// field), a watched file (an inline YAML document), status (Ready=False with the reason, the gateway's
// 503), and timeouts.request_ms bounding a tool call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { connectClient, GATEWAY_TEST_ARGS, metricValue, type GatewayClient } from '../gateway/gateway-support.js';
import { workspace } from '../cli/cli-support.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runGet } from '../../src/cli/get.js';
import { startPetstoreServer, type PetstoreServer } from './petstore-server.js';

let cp: TestControlPlane;
let store: PetstoreServer;
let dir: string;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-openapi-'));
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, manifests: [dir] });
  store = await startPetstoreServer();
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await cp.dispose();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = (overrides: Record<string, unknown> = {}) => ({
  type: 'mcp-server/openapi',
  name: 'billing',
  description: 'Billing API as tools',
  url: store.baseUrl,
  openapi_spec_source: { type: 'remote', url: store.specUrl },
  collaborators: [],
  ...overrides,
});

const put = (manifest: Record<string, unknown>, dryRun = false) => cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest, dryRun } });

async function conditions(name: string) {
  return (await cp.api(`/api/svc/v1/mcp-servers/name/${name}`)).json?.data?.status.conditions as { type: string; status: string; reason: string; message: string }[] | undefined;
}

it('refuses a malformed manifest with 400, naming each field and what would be right', async () => {
  const res = await put(base({ openapi_spec_source: { type: 'remote' }, enable_all_tools: 'yes', tool_settings: [{ method: 'fetch', path: 'invoices' }] }));
  expect(res.status).toBe(400);
  const text = res.text;
  expect(text).toContain('/openapi_spec_source');
  expect(text).toContain('url');
  expect(text).toContain('/enable_all_tools');
  expect(text).toContain('/tool_settings/0/method');
  expect(text).toContain('/tool_settings/0/path');
});

it('answers a dry run with the plan and a diff, masking the secrets, and writes nothing', async () => {
  const res = await put(base({ name: 'billing-dry' }), true);
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ action: 'CREATE', dryRun: true });
  expect((await cp.api('/api/svc/v1/mcp-servers/name/billing-dry')).status).toBe(404);

  const secret = 'billing-secret-5e4d3c2b1a';
  expect((await put(base({ name: 'billing-dry', additional_headers: { 'X-Key': secret } }))).status).toBe(200);
  const update = await put(base({ name: 'billing-dry', additional_headers: { 'X-Key': `${secret}-rotated` }, enable_all_tools: false, tool_settings: [{ method: 'get', path: '/store/inventory' }] }), true);
  expect(update.json).toMatchObject({ action: 'UPDATE', dryRun: true });
  const paths = (update.json.diff as { path: string }[]).map((d) => d.path);
  expect(paths).toEqual(expect.arrayContaining(['/enable_all_tools', '/additional_headers/X-Key']));
  expect(update.text).not.toContain(secret);
});

it('applies a watched file with an inline YAML document, served at its proxyUrl', async () => {
  const spec = [
    'openapi: 3.1.0',
    'info: { title: Inventory, version: "2" }',
    'paths:',
    '  /store/inventory:',
    '    get: { operationId: inventory, summary: Stock by status, responses: { "200": { description: ok } } }',
  ].join('\n');
  const manifest = [
    'type: mcp-server/openapi',
    'name: inventory',
    'description: Inventory as tools',
    `url: ${store.baseUrl}`,
    'openapi_spec_source:',
    '  type: inline',
    '  openapi_spec: |',
    ...spec.split('\n').map((l) => `    ${l}`),
    'collaborators: []',
  ].join('\n');
  writeFileSync(join(dir, 'inventory.yaml'), `${manifest}\n`);
  const ready = await waitFor(async () => (await conditions('inventory'))?.find((c) => c.type === 'Ready' && c.status === 'True'), { what: 'inventory Ready' });
  expect(ready).toBeDefined();
  const view = (await cp.api('/api/svc/v1/mcp-servers/name/inventory')).json.data;
  expect(view.source).toMatchObject({ kind: 'file', path: 'inventory.yaml' });
  expect(view.proxyUrl).toBe(`${cp.url}/mcp/inventory`);
  const c = await connectClient(cp, 'inventory', ADMIN_TOKEN);
  clients.push(c);
  const result = await c.client.callTool({ name: 'inventory', arguments: {} });
  expect(JSON.parse((result.content as { text: string }[])[0]!.text)).toEqual({ available: 1, sold: 1 });

  // mcpctl get and describe show it as any server, and say the gateway serves it itself.
  const ws = workspace();
  try {
    const env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
    const got = await ws.run(runGet, ['servers'], env);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/inventory\s+True/);
    const described = await ws.run(runDescribe, ['inventory'], env);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('type: mcp-server/openapi');
    expect(described.stdout).toMatch(/Transport: +none: the gateway serves 1 operation of the OpenAPI document \(sha256 [0-9a-f]{12}\) itself/);
  } finally {
    ws.dispose();
  }
});

it('is Ready=False with the reason while its document cannot be served, and the gateway answers 503 saying why', async () => {
  const cyclic = {
    openapi: '3.0.3',
    info: { title: 'Tree', version: '1' },
    paths: { '/nodes': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } } } } },
    components: { schemas: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } } } },
  };
  expect((await put(base({ name: 'tree', openapi_spec_source: { type: 'inline', openapi_spec: cyclic } }))).status).toBe(200);
  const ready = await waitFor(async () => (await conditions('tree'))?.find((c) => c.type === 'Ready' && c.status === 'False'), { what: 'tree Ready=False' });
  expect(ready).toMatchObject({ reason: 'CircularReference' });
  const res = await fetch(`${cp.url}/mcp/tree`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  expect(res.status).toBe(503);
  expect(await res.text()).toContain('CircularReference');
  // Counted among discovery failures, by reason, like every discovery.
  expect(await metricValue(cp, 'mcp_cp_discovery_failures_total', { reason: 'CircularReference' })).toBeGreaterThanOrEqual(1);
});

it('bounds a tool call by timeouts.request_ms', async () => {
  const spec = {
    openapi: '3.0.3',
    info: { title: 'Slow', version: '1' },
    paths: { '/slow': { get: { operationId: 'slow', responses: { '200': { description: 'ok' } } } } },
  };
  // An API that never answers: every request is held until the test ends.
  const { createServer } = await import('node:http');
  const held: import('node:http').ServerResponse[] = [];
  const slow = createServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const port = (slow.address() as import('node:net').AddressInfo).port;
  try {
    expect((await put(base({ name: 'slow', url: `http://127.0.0.1:${port}`, openapi_spec_source: { type: 'inline', openapi_spec: spec }, timeouts: { request_ms: 200 } }))).status).toBe(200);
    await waitFor(async () => (await conditions('slow'))?.find((c) => c.type === 'Ready' && c.status === 'True'), { what: 'slow Ready' });
    const c = await connectClient(cp, 'slow', ADMIN_TOKEN);
    clients.push(c);
    const outcome = await c.client.callTool({ name: 'slow', arguments: {} }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    // Either the gateway's own deadline (a JSON-RPC error) or the call's (an isError result) answered first.
    if ('error' in outcome) expect(String(outcome.error)).toMatch(/did not answer tools\/call within 200 ms/);
    else expect(outcome.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/did not answer within 200 ms/) }] });
    expect(held.length).toBe(1);
  } finally {
    for (const res of held) res.destroy();
    slow.closeAllConnections();
    await new Promise<void>((r) => slow.close(() => r()));
  }
});
