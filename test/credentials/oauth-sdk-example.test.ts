// Per-user OAuth (authorization_code) against the MCP SDK's own example server with --oauth --oauth-strict:
// a spec-conformant protected resource with metadata, dynamic client registration, PKCE and strict resource
// checks. Alice connects through the real redirect chain (fetch with redirect: manual, following Location
// like a browser) and lists and calls tools through /mcp/{name} with her own token; Bob, who has not
// connected, is refused with the connect URL and nothing reaches the upstream. Bad callbacks store nothing.
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { ALICE_TOKEN, BOB_TOKEN, connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators, type GatewayClient } from '../gateway/gateway-support.js';

const INIT = { jsonrpc: '2.0', id: 7, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

let cp: TestControlPlane;
let example: PeerProcess;
let exampleUrl: string;
let recorder: RunningMcpServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  const [mcpPort, authPort] = await Promise.all([freePort(), freePort()]);
  example = await startPeer(PEERS.sdkOAuthExample, ['--oauth', '--oauth-strict'], { env: { MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, ports: [mcpPort, authPort] });
  // The example names itself and its authorization server "localhost" in its metadata.
  exampleUrl = `http://localhost:${mcpPort}/mcp`;
  recorder = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'authorization', value: 'Bearer never-sent', wwwAuthenticate: 'Bearer realm="recorder"' } });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
  await putServer(cp, { name: 'sdk-oauth', url: exampleUrl, auth_data: { type: 'oauth2', grant_type: 'authorization_code' } });
  await putServer(cp, { name: 'recorded-oauth', url: recorder.url, auth_data: { type: 'oauth2', grant_type: 'authorization_code', authorization_url: 'http://127.0.0.1:9/authorize', token_url: 'http://127.0.0.1:9/token', client_id: 'c' } });
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await cp?.dispose();
  await example?.kill();
  await recorder?.close();
});

const authorize = (name: string, token: string) => cp.api(`/api/svc/v1/mcp-servers/name/${name}/oauth/authorize`, { method: 'POST', token });

/** Opens `url` as a browser would: every redirect followed by hand, up to the control plane's callback page. */
async function browse(url: string): Promise<{ status: number; text: string; url: string; hops: string[] }> {
  const hops: string[] = [];
  let next = url;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(next, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      next = new URL(location, next).href;
      hops.push(next);
      await res.arrayBuffer();
      continue;
    }
    return { status: res.status, text: await res.text(), url: next, hops };
  }
  throw new Error(`too many redirects: ${hops.join(' → ')}`);
}

async function rawInitialize(name: string, token: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${cp.url}/mcp/${name}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify(INIT),
  });
  return { status: res.status, json: await res.json() };
}

it('is Ready with each caller told to connect; the caller who has not connected is refused with the connect URL', async () => {
  const one = await cp.api('/api/svc/v1/mcp-servers/name/sdk-oauth', { token: BOB_TOKEN });
  expect(one.json.data.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  expect(one.json.data.authStatus).toMatchObject({ status: 'authentication_required', method: 'oauth', authorizeUrl: expect.stringMatching(/\/oauth\/authorize$/) });
  const { status, json } = await rawInitialize('sdk-oauth', BOB_TOKEN);
  expect(status).toBe(401);
  expect(json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32040, data: { method: 'oauth', connectUrl: one.json.data.authStatus.authorizeUrl } } });
  expect(json.error.message).toContain(one.json.data.authStatus.authorizeUrl);
});

it('sends nothing upstream for a caller who has not connected', async () => {
  const before = recorder.requests.length;
  expect((await rawInitialize('recorded-oauth', BOB_TOKEN)).status).toBe(401);
  expect(recorder.requests.length).toBe(before);
});

it('connects a caller through the real redirect chain; then the gateway lists and calls tools with their own token', async () => {
  const started = await authorize('sdk-oauth', ALICE_TOKEN);
  expect(started.status).toBe(200);
  const { authorizationUrl } = started.json.data as { authorizationUrl: string };
  const asked = new URL(authorizationUrl);
  expect(asked.searchParams.get('code_challenge_method')).toBe('S256');
  expect(asked.searchParams.get('resource')).toBe(exampleUrl);
  expect(asked.searchParams.get('redirect_uri')).toBe(`${cp.publicUrl}/oauth/callback`);
  const page = await browse(authorizationUrl);
  expect(page.url.startsWith(`${cp.publicUrl}/oauth/callback?`)).toBe(true);
  expect(page.status).toBe(200);
  expect(page.text).toContain('Account connected');
  expect(page.text).not.toContain(new URL(page.url).searchParams.get('code')!);

  const mine = await cp.api('/api/svc/v1/mcp-servers/name/sdk-oauth', { token: ALICE_TOKEN });
  expect(mine.json.data.authStatus).toMatchObject({ status: 'authenticated', method: 'oauth' });
  const c = await connectClient(cp, 'sdk-oauth', ALICE_TOKEN);
  clients.push(c);
  const tools = (await c.client.listTools()).tools.map((t) => t.name);
  expect(tools).toContain('greet');
  const greeted = await c.client.callTool({ name: 'greet', arguments: { name: 'Alice' } });
  expect(JSON.stringify(greeted.content)).toContain('Alice');
  // Bob still has not connected.
  expect((await rawInitialize('sdk-oauth', BOB_TOKEN)).status).toBe(401);

  // The same state again (a reload, or a replay): refused, and Alice's connection is untouched.
  const again = await fetch(page.url);
  expect(again.status).toBe(400);
  expect(await again.text()).toMatch(/unknown or was used already/);
  expect((await cp.api('/api/svc/v1/mcp-servers/name/sdk-oauth', { token: ALICE_TOKEN })).json.data.authStatus.status).toBe('authenticated');

  // Disconnecting ends her sessions, and the next one is refused.
  expect(cp.dataPlane.sessionCount('sdk-oauth')).toBeGreaterThan(0);
  const gone = await cp.api('/api/svc/v1/mcp-servers/name/sdk-oauth/oauth/token', { method: 'DELETE', token: ALICE_TOKEN });
  expect(gone.status).toBe(200);
  expect(gone.json.data).toMatchObject({ disconnected: true, authStatus: { status: 'authentication_required' } });
  await waitFor(() => cp.dataPlane.sessionCount('sdk-oauth') === 0, { what: "Alice's sessions to end" });
  expect((await rawInitialize('sdk-oauth', ALICE_TOKEN)).status).toBe(401);
});

it('refuses a forged state, an error from the authorization server and a callback without state; nothing is stored', async () => {
  const forged = await fetch(`${cp.url}/oauth/callback?code=abc&state=forged-state-value`);
  expect(forged.status).toBe(400);
  expect(forged.headers.get('cache-control')).toBe('no-store');
  const none = await fetch(`${cp.url}/oauth/callback?code=abc`);
  expect(none.status).toBe(400);
  const started = await authorize('sdk-oauth', BOB_TOKEN);
  const state = new URL(started.json.data.authorizationUrl).searchParams.get('state')!;
  const denied = await fetch(`${cp.url}/oauth/callback?error=access_denied&error_description=${encodeURIComponent('<b>no</b>')}&state=${encodeURIComponent(state)}`);
  expect(denied.status).toBe(400);
  const text = await denied.text();
  expect(text).toContain('access_denied');
  expect(text).not.toContain('<b>');
  expect((await cp.api('/api/svc/v1/mcp-servers/name/sdk-oauth', { token: BOB_TOKEN })).json.data.authStatus.status).toBe('authentication_required');
  // The state was used by the refusal: it cannot be used again.
  expect((await fetch(`${cp.url}/oauth/callback?code=abc&state=${encodeURIComponent(state)}`)).status).toBe(400);
});

it('answers 409 for a server that takes no connected account, and 404 for one the caller may not use', async () => {
  await putServer(cp, { name: 'plain-server', url: recorder.url });
  expect((await authorize('plain-server', ALICE_TOKEN)).status).toBe(409);
  expect((await authorize('no-such-server', ALICE_TOKEN)).status).toBe(404);
});
