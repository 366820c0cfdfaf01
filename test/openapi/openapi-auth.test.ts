// How an mcp-server/openapi server's calls authenticate and where they may go: OAuth client credentials
// (the control plane's token, on the document and on every call), passthrough (a token minted for each
// caller, never the caller's own), and the egress policy on the API's own address.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startOAuthTokenServer, type RunningOAuthTokenServer } from '../support/mcp-servers.js';
import { connectClient, GATEWAY_TEST_ARGS, type GatewayClient } from '../gateway/gateway-support.js';
import { startPetstoreServer, type PetstoreServer } from './petstore-server.js';

const CLIENT_SECRET = 'oauth-client-secret-9d8c7b6a';

let cp: TestControlPlane;
let store: PetstoreServer;
let oauth: RunningOAuthTokenServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  // 127.0.0.2 is loopback too: the denied API of these tests.
  cp = await startTestControlPlane({ args: [...GATEWAY_TEST_ARGS, '--egress-deny', '127.0.0.2/32'] });
  store = await startPetstoreServer();
  oauth = await startOAuthTokenServer({ clientId: 'petstore-mcp', clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await cp.dispose();
  await Promise.all([store.close(), oauth.close()]);
});

const manifest = (name: string, overrides: Record<string, unknown>) => ({
  type: 'mcp-server/openapi',
  name,
  description: 'Petstore',
  url: store.baseUrl,
  openapi_spec_source: { type: 'remote', url: store.specUrl },
  enable_all_tools: false,
  tool_settings: [{ method: 'get', path: '/pet/{petId}' }],
  collaborators: [],
  ...overrides,
});

async function applyReady(m: Record<string, unknown>) {
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: m } });
  expect(res.status).toBe(200);
  await waitFor(
    async () => ((await cp.api(`/api/svc/v1/mcp-servers/name/${String(m.name)}`)).json.data.status.conditions as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True'),
    { what: `${String(m.name)} Ready` },
  );
  const c = await connectClient(cp, String(m.name), ADMIN_TOKEN);
  clients.push(c);
  return c.client;
}

it('oauth2 client_credentials: the token the control plane obtained goes with the document fetch and every call', async () => {
  const client = await applyReady(
    manifest('petstore-oauth', { auth_data: { type: 'oauth2', grant_type: 'client_credentials', token_url: oauth.tokenUrl, client_id: 'petstore-mcp', client_secret: CLIENT_SECRET } }),
  );
  expect(oauth.issued.length).toBeGreaterThan(0);
  const specFetch = store.requests.filter((r) => r.url === '/api/v3/openapi.yaml').at(-1)!;
  expect(oauth.acceptsBearer(specFetch.headers.authorization as string)).toBe(true);
  await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
  const call = store.requests.at(-1)!;
  expect(call.url).toBe('/api/v3/pet/1');
  expect(oauth.acceptsBearer(call.headers.authorization as string)).toBe(true);
  expect((await cp.api('/api/svc/v1/mcp-servers/name/petstore-oauth')).text).not.toContain(CLIENT_SECRET);
});

it("passthrough: each call carries a token minted for the caller and the API, never the caller's own", async () => {
  const client = await applyReady(manifest('petstore-passthrough', { auth_data: { type: 'passthrough' } }));
  await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
  const authorization = String(store.requests.at(-1)!.headers.authorization);
  expect(authorization).toMatch(/^Bearer /);
  expect(authorization).not.toContain(ADMIN_TOKEN);
  const claims = decodeJwt(authorization.slice('Bearer '.length));
  expect(claims).toMatchObject({ sub: 'admin', aud: store.baseUrl });
});

it('a call to an API the egress policy denies is an isError result, and nothing is sent', async () => {
  const hits: string[] = [];
  const denied = createServer((req, res) => void (hits.push(req.url ?? ''), res.end('reached')));
  await new Promise<void>((r) => denied.listen(0, '127.0.0.2', r));
  const port = (denied.address() as AddressInfo).port;
  try {
    const inline = { openapi: '3.0.3', info: { title: 'Denied', version: '1' }, paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } } };
    const client = await applyReady({
      ...manifest('denied-api', {}),
      url: `http://127.0.0.2:${port}/api`,
      openapi_spec_source: { type: 'inline', openapi_spec: inline },
      tool_settings: [],
      enable_all_tools: true,
    });
    const result = await client.callTool({ name: 'ping', arguments: {} });
    expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: `GET http://127.0.0.2:${port}/api/ping was not sent: 127.0.0.2 is denied by the egress policy.` }] });
    expect(hits).toEqual([]);
  } finally {
    await new Promise<void>((r) => denied.close(() => r()));
  }
});
