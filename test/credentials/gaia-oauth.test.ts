// The GAIA-style API maps oauthAuthorizationUrl (with or without oauthClientId, oauthClientSecret, oauthScope)
// to per-user OAuth (authorization_code), and answers authStatus for the caller.
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { createServer as createGaiaServer, gaia, SERVERS, waitForGaiaStatus } from '../gaia/support.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { GATEWAY_TEST_ARGS, GATEWAY_TOOLS } from '../gateway/gateway-support.js';

let cp: TestControlPlane;
let upstream: RunningMcpServer;

beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'authorization', value: 'Bearer never' } });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS });
}, 60_000);
afterAll(async () => {
  await cp?.dispose();
  await upstream?.close();
});

it('creates a per-user OAuth server from oauthAuthorizationUrl, the client fields and scope; answers the caller\'s authStatus', async () => {
  const id = await createGaiaServer(cp, {
    projectId: 'proj-a',
    name: 'Issue Tracker',
    transportType: 'http',
    url: upstream.url,
    oauthAuthorizationUrl: 'http://127.0.0.1:9/authorize',
    oauthClientId: 'gateway-client',
    oauthClientSecret: 'gaia-client-secret-1234',
    oauthScope: 'read write',
  });
  // The upstream publishes no OAuth metadata and no token URL was given: no one could connect yet, and the status says so.
  const server = await waitForGaiaStatus(cp, id, 'error');
  expect(server).toMatchObject({ statusReason: 'OAuthMetadataUnavailable', statusMessage: expect.stringMatching(/auth_data\.token_url/) });
  expect(server).toMatchObject({ oauthAuthorizationUrl: 'http://127.0.0.1:9/authorize', oauthClientId: 'gateway-client', oauthScope: 'read write', oauthTokenUrl: null, hasOauthClientSecret: true });
  expect(server.authStatus).toMatchObject({ status: 'authentication_required', method: 'oauth', authorizeUrl: expect.stringMatching(new RegExp(`/api/svc/v1/mcp-servers/${id}/oauth/authorize$`)) });
  const manifest = (await cp.api(`${SERVERS}/${id}`)).json.data.manifest;
  expect(manifest.auth_data).toMatchObject({ type: 'oauth2', grant_type: 'authorization_code', authorization_url: 'http://127.0.0.1:9/authorize', client_id: 'gateway-client', scopes: ['read', 'write'] });
  expect(manifest.auth_data.token_url).toBeUndefined();
  const listed = await gaia(cp, '?projectId=proj-a');
  expect(listed.json.servers[0].authStatus.status).toBe('authentication_required');
});

it('needs no client: the control plane registers one dynamically when the user connects', async () => {
  const id = await createGaiaServer(cp, { projectId: 'proj-a', name: 'Wiki', transportType: 'http', url: upstream.url, oauthAuthorizationUrl: 'http://127.0.0.1:9/authorize' });
  const manifest = (await cp.api(`${SERVERS}/${id}`)).json.data.manifest;
  expect(manifest.auth_data).toEqual({ type: 'oauth2', grant_type: 'authorization_code', authorization_url: 'http://127.0.0.1:9/authorize', jwt_source: 'access_token' });
});

it('still demands a token URL for the client credentials grant (no authorization URL), naming both ways out', async () => {
  const res = await gaia(cp, '', { method: 'POST', body: { projectId: 'proj-a', name: 'Machine', transportType: 'http', url: upstream.url, oauthClientId: 'c', oauthClientSecret: 's' } });
  expect(res.status).toBe(400);
  expect(res.text).toContain('/oauthTokenUrl');
  expect(res.text).toContain('oauthAuthorizationUrl');
});
