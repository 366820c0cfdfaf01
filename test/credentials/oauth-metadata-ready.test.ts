// An OAuth authorization_code server is Ready only once its authorization server's metadata was found
// (RFC 9728 → RFC 8414 / OpenID: here the MCP SDK's example server, spec-conformant), or the manifest
// names both endpoints; otherwise no caller could connect, and it is Ready=False (OAuthMetadataUnavailable)
// with a message saying what to set. Nothing but metadata is asked of the server.
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { condition, putServer, waitForReady } from '../support/servers-api.js';
import { GATEWAY_TEST_ARGS, GATEWAY_TOOLS, testAuthenticators } from '../gateway/gateway-support.js';

let cp: TestControlPlane;
let example: PeerProcess;
let bare: RunningMcpServer;
let mcpPort: number;

beforeAll(async () => {
  let authPort: number;
  [mcpPort, authPort] = await Promise.all([freePort(), freePort()]);
  example = await startPeer(PEERS.sdkOAuthExample, ['--oauth', '--oauth-strict'], { env: { MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, ports: [mcpPort, authPort] });
  // A server that publishes no OAuth metadata (it wants a token it never says how to get).
  bare = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'authorization', value: 'Bearer never' } });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
}, 60_000);
afterAll(async () => {
  await cp?.dispose();
  await example?.kill();
  await bare?.close();
});

const manifest = (name: string, url: string, auth: Record<string, unknown> = {}) => remoteManifest({
  name,
  url,
  auth_data: { type: 'oauth2', grant_type: 'authorization_code', ...auth },
});

it('is Ready once the metadata of its authorization server was found', async () => {
  await putServer(cp, manifest('with-metadata', `http://localhost:${mcpPort}/mcp`));
  const ready = await waitForReady(cp, 'with-metadata', 'True');
  expect(condition(ready, 'Discovered')).toMatchObject({ status: 'Unknown', reason: 'PerUserAuthentication' });
});

it('is Ready=False (OAuthMetadataUnavailable) when the server publishes none and the manifest does not name both endpoints', async () => {
  const from = bare.requests.length;
  await putServer(cp, manifest('no-metadata', bare.url, { token_url: 'http://127.0.0.1:9/token' }));
  const failed = await waitForReady(cp, 'no-metadata', 'False', { reason: 'OAuthMetadataUnavailable' });
  expect(condition(failed, 'Ready')!.message).toMatch(/publishes no OAuth metadata; set auth_data\.authorization_url and auth_data\.token_url/);
  expect(condition(failed, 'Discovered')).toMatchObject({ status: 'False', reason: 'OAuthMetadataUnavailable' });
  // Only the metadata was asked for: no MCP request reached the server.
  expect(bare.requests.slice(from).filter((r) => r.method !== 'GET')).toEqual([]);
  // The gateway does not serve it meanwhile.
  const gateway = await fetch(`${cp.url}/mcp/no-metadata`, {
    method: 'POST',
    headers: { Authorization: 'Bearer alice-token-5b1f0e9a3c7d2e4f', 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  expect(gateway.status).toBe(503);

  // Both endpoints in the manifest: an authorization can start, so it is Ready.
  await putServer(cp, manifest('no-metadata', bare.url, { token_url: 'http://127.0.0.1:9/token', authorization_url: 'http://127.0.0.1:9/authorize', client_id: 'cp' }));
  const ready = await waitForReady(cp, 'no-metadata', 'True');
  expect(condition(ready, 'Discovered')).toMatchObject({ status: 'Unknown', reason: 'PerUserAuthentication' });
});
