// Per-user OAuth against oidc-provider (a certified OpenID provider) with a client registered in the manifest
// (no dynamic registration): the caller's token is refreshed before it expires (the control plane's clock
// is injected), refreshed once when the upstream answers 401, dropped when a refresh fails (the caller's
// status says so), and revoked at the provider (RFC 7009) on disconnect. The upstream is a recording SDK
// server that accepts exactly the access tokens the provider has issued and not destroyed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ALICE_TOKEN, connectClient } from '../gateway/gateway-support.js';
import { ACCESS_TTL_S, startOidcUpstream, type OidcUpstream } from './oidc-upstream.js';

const CLIENT_SECRET = 'manifest-client-secret-canary-6a1f';

let up: OidcUpstream;

beforeAll(async () => {
  up = await startOidcUpstream('oidc', { clientSecret: CLIENT_SECRET, resourceScopes: ['mcp:tools'] });
}, 60_000);
afterAll(async () => {
  await up?.close();
});

async function listAsAlice(): Promise<string[]> {
  const c = await connectClient(up.cp, 'oidc', ALICE_TOKEN);
  try {
    return (await c.client.listTools()).tools.map((t) => t.name);
  } finally {
    await c.client.close();
  }
}

const aliceStatus = async () => (await up.cp.api('/api/svc/v1/mcp-servers/name/oidc', { token: ALICE_TOKEN })).json.data.authStatus;

it('uses the client the manifest registered, sends the caller\'s token, and refreshes it before it expires', async () => {
  await up.connectAlice();
  let from = up.recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const [first] = up.bearersSince(from);
  expect(first).toMatch(/^Bearer .+/);
  expect(up.valid.has(first!.slice(7))).toBe(true);
  // Nearly expired on the control plane's clock: the next session gets a refreshed token.
  up.clock.advance((ACCESS_TTL_S - 30) * 1000);
  // Time moved: the rediscovery it makes due runs first (with the stored token), then the gateway's session.
  await up.settled();
  from = up.recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const [second] = up.bearersSince(from);
  expect(second).not.toBe(first);
  expect(up.valid.has(second!.slice(7))).toBe(true);
  expect(await aliceStatus()).toMatchObject({ status: 'authenticated', method: 'oauth' });
});

it('refreshes once when the upstream refuses the token (401), then carries on', async () => {
  const from = up.recorder.requests.length;
  // The upstream stops accepting every token it knows (say, it revoked them): the gateway refreshes once.
  up.valid.clear();
  expect(await listAsAlice()).toContain('echo');
  const sent = up.bearersSince(from);
  expect(sent.length).toBe(2);
  expect(up.valid.has(sent[1]!.slice(7))).toBe(true);
});

it('drops the tokens when a refresh fails, and the caller\'s status and the gateway say to connect again', async () => {
  // The provider no longer honours the refresh token the control plane holds.
  for (const rt of up.refreshTokens) await (await up.provider.RefreshToken.find(rt))?.destroy();
  up.clock.advance(ACCESS_TTL_S * 1000);
  const res = await fetch(`${up.cp.url}/mcp/oidc`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ALICE_TOKEN}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: { message: string; data: { connectUrl: string } } };
  expect(body.error.message).toMatch(/could not be refreshed/);
  const status = await aliceStatus();
  expect(status).toMatchObject({ status: 'authentication_required', method: 'oauth', authorizeUrl: body.error.data.connectUrl });
  expect(status.message).toMatch(/expired and could not be refreshed/);
});

it('revokes the tokens at the provider on disconnect (RFC 7009)', async () => {
  await up.connectAlice();
  const from = up.recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const accessToken = up.bearersSince(from)[0]!.slice(7);
  expect(await up.provider.AccessToken.find(accessToken)).toBeDefined();
  const refreshToken = up.refreshTokens.at(-1)!;
  expect(await up.provider.RefreshToken.find(refreshToken)).toBeDefined();
  const gone = await up.cp.api('/api/svc/v1/mcp-servers/name/oidc/oauth/token', { method: 'DELETE', token: ALICE_TOKEN });
  expect(gone.json.data).toMatchObject({ disconnected: true, authStatus: { status: 'authentication_required' } });
  expect(await up.provider.RefreshToken.find(refreshToken)).toBeUndefined();
  expect(await up.provider.AccessToken.find(accessToken)).toBeUndefined();
});

it('holds no access or refresh token, nor the client secret, in clear in any file of the data directory', async () => {
  const issued = [...up.issuedAccess, ...up.refreshTokens, CLIENT_SECRET];
  expect(issued.length).toBeGreaterThan(1);
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
  for (const file of files(up.cp.dataDir)) {
    const bytes = readFileSync(file);
    for (const secret of issued) expect({ file, found: bytes.includes(Buffer.from(secret)) }).toEqual({ file, found: false });
  }
});
