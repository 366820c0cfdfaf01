// Per-user header values (auth_data: { type: header, auth_level: per_user }): each caller sets their own
// values for the {{NAME}} placeholders through .../credentials; the gateway fills them per caller and
// refuses (401, naming where to set them) a caller who has not, sending nothing upstream. mcp-proxy --apiKey
// is the header-keyed upstream; a recording SDK server shows what reaches an upstream. Real control plane on
// port 0, real SQLite in a temp dir.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { ALICE_TOKEN, BOB_TOKEN, connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators, type GatewayClient } from '../gateway/gateway-support.js';

const API_KEY = 'proxy-api-key-canary-3e9b1c7d';
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

let cp: TestControlPlane;
let proxy: PeerProcess;
let proxyUrl: string;
let recorder: RunningMcpServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  const port = await freePort();
  proxy = await startPeer(PEERS.mcpProxy, ['--apiKey', API_KEY, '--port', String(port), '--host', '127.0.0.1', '--', process.execPath, PEERS.stdioServer], { ports: [port] });
  proxyUrl = `http://127.0.0.1:${port}/mcp`;
  recorder = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'x-api-key', accept: (v) => v !== undefined && v.startsWith('k-') } });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
  await putServer(cp, { name: 'keyed', url: proxyUrl, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': '{{API_KEY}}' } } });
  await putServer(cp, { name: 'recorded', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } }, additional_headers: { 'X-Org': 'acme' } });
}, 60_000);
afterAll(async () => {
  await cp?.dispose();
  await proxy?.kill();
  await recorder?.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
});

async function connect(name: string, token: string): Promise<Client> {
  const c = await connectClient(cp, name, token);
  clients.push(c);
  return c.client;
}

const credentials = (name: string, token: string, method = 'GET', body?: unknown) =>
  cp.api(`/api/svc/v1/mcp-servers/name/${name}/credentials`, { method, token, ...(body !== undefined ? { body } : {}) });

/**
 * Waits until the discoveries that new values started have finished (the reconciler idle and no discovery
 * running or queued), so the requests an upstream records after it come from gateway sessions only.
 */
async function discoveriesSettled(name: string): Promise<void> {
  await waitFor(
    async () => {
      await cp.controller.waitForIdle();
      return cp.discovery.activity(`default:mcp-server:${name}`).phase === 'idle' && (await cp.api(`/api/svc/v1/mcp-servers/name/${name}`)).json.data.tools.length > 0;
    },
    { what: `discoveries of ${name} to settle` },
  );
  await cp.controller.waitForIdle();
}

/** initialize through the gateway with a raw fetch: the status and the JSON body. */
async function rawInitialize(name: string, token: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${cp.url}/mcp/${name}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify(INIT),
  });
  return { status: res.status, json: await res.json() };
}

it('refuses a caller without values with 401 naming the values and where to set them, and sends nothing upstream', async () => {
  const before = recorder.requests.length;
  const { status, json } = await rawInitialize('recorded', ALICE_TOKEN);
  expect(status).toBe(401);
  expect(json.error.message).toContain('KEY_PART');
  expect(json.error.data).toEqual({ connectUrl: expect.stringMatching(/\/api\/svc\/v1\/mcp-servers\/[^/]+\/credentials$/), method: 'header', missing: ['KEY_PART'] });
  expect(json.id).toBe(1);
  expect(recorder.requests.length).toBe(before);
  const got = await credentials('recorded', ALICE_TOKEN);
  expect(got.status).toBe(200);
  expect(got.json.data).toMatchObject({ names: [], missing: ['KEY_PART'], authStatus: { status: 'authentication_required', method: 'header' } });
});

it("fills each caller's own values, and never one caller's values for another", async () => {
  expect((await credentials('recorded', ALICE_TOKEN, 'PUT', { values: { KEY_PART: 'alice-secret-1' } })).status).toBe(200);
  expect((await credentials('recorded', BOB_TOKEN, 'PUT', { values: { KEY_PART: 'bob-secret-2' } })).status).toBe(200);
  await discoveriesSettled('recorded');
  const before = recorder.requests.length;
  await (await connect('recorded', ALICE_TOKEN)).listTools();
  const alices = recorder.requests.slice(before);
  expect(alices.length).toBeGreaterThan(0);
  for (const r of alices) {
    expect(r.headers['x-api-key']).toBe('k-alice-secret-1');
    expect(r.headers['x-org']).toBe('acme');
    expect(r.headers.authorization).toBeUndefined();
  }
  const fromBob = recorder.requests.length;
  await (await connect('recorded', BOB_TOKEN)).listTools();
  for (const r of recorder.requests.slice(fromBob)) expect(r.headers['x-api-key']).toBe('k-bob-secret-2');
  // GET names what is set, never a value.
  const got = await credentials('recorded', ALICE_TOKEN);
  expect(got.json.data).toMatchObject({ names: ['KEY_PART'], missing: [], authStatus: { status: 'authenticated', method: 'header' } });
  expect(got.text).not.toContain('alice-secret-1');
});

it('against mcp-proxy --apiKey: the right key lists and calls tools; a wrong one is 401 naming where to set it again', async () => {
  expect((await credentials('keyed', ALICE_TOKEN, 'PUT', { values: { API_KEY } })).status).toBe(200);
  const client = await connect('keyed', ALICE_TOKEN);
  expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
  const called = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  expect(JSON.stringify(called.content)).toContain('hi');

  expect((await credentials('keyed', BOB_TOKEN, 'PUT', { values: { API_KEY: 'wrong-key' } })).status).toBe(200);
  const { status, json } = await rawInitialize('keyed', BOB_TOKEN);
  expect(status).toBe(401);
  expect(json.error.message).toContain('refused your own values');
  expect(json.error.data.connectUrl).toMatch(/\/credentials$/);
  expect(JSON.stringify(json)).not.toContain('wrong-key');
});

it('DELETE removes the values and ends the caller\'s sessions of that server', async () => {
  await credentials('keyed', ALICE_TOKEN, 'PUT', { values: { API_KEY } });
  const client = await connect('keyed', ALICE_TOKEN);
  await client.listTools();
  expect(cp.dataPlane.sessionCount('keyed')).toBeGreaterThan(0);
  const removed = await credentials('keyed', ALICE_TOKEN, 'DELETE');
  expect(removed.status).toBe(200);
  expect(removed.json.data).toMatchObject({ names: [], missing: ['API_KEY'] });
  await waitFor(() => cp.dataPlane.sessionCount('keyed') === 0, { what: "Alice's session to end" });
  expect((await rawInitialize('keyed', ALICE_TOKEN)).status).toBe(401);
});

it('refuses bad input with a 4xx naming the field', async () => {
  const unknown = await credentials('keyed', ALICE_TOKEN, 'PUT', { values: { NOPE: 'x' } });
  expect(unknown.status).toBe(400);
  expect(unknown.text).toContain('/values/NOPE');
  expect(unknown.text).toContain('API_KEY');
  const newline = await credentials('keyed', ALICE_TOKEN, 'PUT', { values: { API_KEY: 'a\r\nX-Evil: 1' } });
  expect(newline.status).toBe(400);
  expect(newline.text).toContain('line breaks');
  expect((await credentials('keyed', ALICE_TOKEN, 'PUT', { values: 'x' })).status).toBe(400);
  expect((await credentials('keyed', ALICE_TOKEN, 'PUT', { values: {}, extra: 1 })).status).toBe(400);
  const reference = await credentials('keyed', ALICE_TOKEN, 'PUT', { values: { API_KEY: '${env:HOME}' } });
  expect(reference.status).toBe(403);
  await putServer(cp, { name: 'global-keyed', url: recorder.url, auth_data: { type: 'header', headers: { 'X-API-Key': 'k-global' } } });
  const notPerUser = await credentials('global-keyed', ALICE_TOKEN, 'PUT', { values: { API_KEY: 'x' } });
  expect(notPerUser.status).toBe(409);
  expect((await credentials('missing-server', ALICE_TOKEN)).status).toBe(404);
});

it("drops the values when the server's URL changes or the server is deleted", async () => {
  await putServer(cp, { name: 'moving', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  await credentials('moving', ALICE_TOKEN, 'PUT', { values: { KEY_PART: 'v1' } });
  expect((await credentials('moving', ALICE_TOKEN)).json.data.names).toEqual(['KEY_PART']);
  // Another destination: a value given for one server is never sent to another.
  await putServer(cp, { name: 'moving', url: proxyUrl, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  expect((await credentials('moving', ALICE_TOKEN)).json.data.names).toEqual([]);
  await credentials('moving', ALICE_TOKEN, 'PUT', { values: { KEY_PART: 'v2' } });
  expect((await cp.api('/api/svc/v1/mcp-servers/name/moving', { method: 'DELETE', token: ADMIN_TOKEN })).status).toBe(200);
  await waitFor(async () => (await cp.gateway.get('default:mcp-server:moving')) === undefined, { what: 'the entry to go' });
  await putServer(cp, { name: 'moving', url: proxyUrl, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  expect((await credentials('moving', ALICE_TOKEN)).json.data.names).toEqual([]);
});

it('answers authStatus for the caller on GET, list and PUT; Ready stays about the server', async () => {
  await putServer(cp, { name: 'status-per-caller', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  await credentials('status-per-caller', ALICE_TOKEN, 'PUT', { values: { KEY_PART: 'a' } });
  const alice = await cp.api('/api/svc/v1/mcp-servers/name/status-per-caller', { token: ALICE_TOKEN });
  expect(alice.json.data.authStatus).toMatchObject({ status: 'authenticated', method: 'header' });
  const bob = await cp.api('/api/svc/v1/mcp-servers/name/status-per-caller', { token: BOB_TOKEN });
  expect(bob.json.data.authStatus).toMatchObject({ status: 'authentication_required', method: 'header' });
  expect(bob.json.data.authStatus.message).toContain('KEY_PART');
  expect(bob.json.data.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  const listed = (who: string) => cp.api('/api/svc/v1/mcp-servers?name=status-per-caller', { token: who });
  expect((await listed(ALICE_TOKEN)).json.data[0].authStatus.status).toBe('authenticated');
  expect((await listed(BOB_TOKEN)).json.data[0].authStatus.status).toBe('authentication_required');
  // The admin's PUT of the unchanged manifest answers the admin's own status (no values set).
  const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: (await cp.api('/api/svc/v1/mcp-servers/name/status-per-caller')).json.data.manifest } });
  expect(put.status).toBe(200);
  expect(put.json.data.authStatus).toMatchObject({ status: 'authentication_required', method: 'header' });
});

it("discovers the tools with the first user's values that work, and the Discovered condition says so", async () => {
  await putServer(cp, { name: 'discovered-per-user', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  const before = await cp.api('/api/svc/v1/mcp-servers/name/discovered-per-user');
  expect(before.json.data.tools).toEqual([]);
  expect(before.json.data.status.conditions.find((c: { type: string }) => c.type === 'Discovered')).toMatchObject({ status: 'Unknown', reason: 'PerUserAuthentication' });
  await credentials('discovered-per-user', ALICE_TOKEN, 'PUT', { values: { KEY_PART: 'works' } });
  const after = await waitFor(
    async () => {
      const got = (await cp.api('/api/svc/v1/mcp-servers/name/discovered-per-user')).json.data;
      return got.tools.length > 0 ? got : undefined;
    },
    { what: 'tools discovered with Alice\'s values' },
  );
  expect(after.tools.map((t: { name: string }) => t.name)).toContain('echo');
  expect(after.status.conditions.find((c: { type: string }) => c.type === 'Discovered')).toMatchObject({ status: 'True', reason: 'Discovered', message: expect.stringContaining('with the credentials of one of its users') });
  expect(after.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  expect(JSON.stringify(after)).not.toContain('works');
});
