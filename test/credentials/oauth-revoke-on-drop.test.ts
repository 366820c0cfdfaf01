// The callers' OAuth tokens are revoked at the authorization server (RFC 7009; oidc-provider, a certified
// OpenID provider) when the control plane drops them: when the server's auth block changes so that they no
// longer hold (here its scopes), and when the server is deleted, as on a caller's own disconnect.
import { waitFor } from '../support/control-plane.js';
import { ALICE_TOKEN, putServer } from '../gateway/gateway-support.js';
import { startOidcUpstream, type OidcUpstream } from './oidc-upstream.js';

let up: OidcUpstream;

beforeAll(async () => {
  up = await startOidcUpstream('revoked');
}, 60_000);
afterAll(async () => {
  await up?.close();
});

/**
 * Alice's live tokens at the provider: access and refresh tokens it still finds (a refresh token revoked
 * ends its grant, whose access tokens go without an event, so each is looked up).
 */
async function liveTokens(): Promise<{ access: number; refresh: number }> {
  let access = 0;
  let refresh = 0;
  for (const at of up.valid) if (await up.provider.AccessToken.find(at)) access++;
  for (const rt of up.refreshTokens) if (await up.provider.RefreshToken.find(rt)) refresh++;
  return { access, refresh };
}

const authStatus = async () => (await up.cp.api('/api/svc/v1/mcp-servers/name/revoked', { token: ALICE_TOKEN })).json.data.authStatus;

it('revokes them when the auth block changes so that they no longer hold', async () => {
  await up.connectAlice();
  expect(await liveTokens()).toEqual({ access: 1, refresh: 1 });
  const auth = up.manifest.auth_data as Record<string, unknown>;
  await putServer(up.cp, { ...up.manifest, auth_data: { ...auth, scopes: ['openid', 'offline_access', 'mcp:tools', 'mcp:admin'] } });
  await waitFor(async () => {
    const live = await liveTokens();
    return live.access === 0 && live.refresh === 0 ? live : undefined;
  }, { what: 'the provider to have revoked the dropped tokens' });
  expect(await authStatus()).toMatchObject({ status: 'authentication_required', method: 'oauth' });
});

it('revokes them when the server is deleted', async () => {
  await up.connectAlice();
  expect(await liveTokens()).toEqual({ access: 1, refresh: 1 });
  const id = (await up.cp.api('/api/svc/v1/mcp-servers/name/revoked')).json.data.id as string;
  expect((await up.cp.api(`/api/svc/v1/mcp-servers/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
  await waitFor(async () => {
    const live = await liveTokens();
    return live.access === 0 && live.refresh === 0 ? live : undefined;
  }, { what: 'the provider to have revoked the tokens of the deleted server' });
});
