// Per-user OAuth against oidc-provider (a certified OpenID provider) with a client registered in the manifest
// (no dynamic registration): the caller's token is refreshed before it expires (the control plane's clock
// is injected), refreshed once when the upstream answers 401, dropped when a refresh fails (the caller's
// status says so), and revoked at the provider (RFC 7009) on disconnect. The upstream is a recording SDK
// server that accepts exactly the access tokens the provider has issued and not destroyed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort } from '../support/peer-process.js';
import { ALICE_TOKEN, connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators } from '../gateway/gateway-support.js';

const CLIENT_SECRET = 'manifest-client-secret-canary-6a1f';
const ACCESS_TTL_S = 600;

let cp: TestControlPlane;
let clock: FakeClock;
let recorder: RunningMcpServer;
let provider: Provider;
let asServer: Server;
let issuer: string;
/** Access tokens the provider issued and has not destroyed: what the upstream accepts. */
const valid = new Set<string>();
const refreshTokens: string[] = [];
/** Every access token the provider issued. */
const issuedAccess: string[] = [];

beforeAll(async () => {
  clock = new FakeClock(Date.now());
  recorder = await startMcpServer({
    transport: 'streamable-http',
    tools: GATEWAY_TOOLS,
    requireHeader: { name: 'authorization', accept: (v) => v !== undefined && valid.has(v.replace(/^Bearer /, '')), wwwAuthenticate: 'Bearer error="invalid_token"' },
  });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators(), clock });
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'control-plane',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${cp.publicUrl}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['openid', 'offline_access', 'mcp:tools'],
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    issueRefreshToken: () => true,
    cookies: { keys: ['test-cookie-key-0123456789'] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => recorder.url,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'mcp:tools', accessTokenFormat: 'opaque', accessTokenTTL: ACCESS_TTL_S }),
      },
    },
  });
  provider.on('access_token.saved', (token: { jti: string }) => valid.add(token.jti));
  provider.on('access_token.destroyed', (token: { jti: string }) => valid.delete(token.jti));
  provider.on('refresh_token.saved', (token: { jti: string }) => refreshTokens.push(token.jti));
  provider.on('access_token.saved', (token: { jti: string }) => issuedAccess.push(token.jti));
  const callback = provider.callback();
  // The user's login and consent, done at once (a browser session of Alice's).
  asServer = createServer((req, res) => {
    if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const params = details.params as { client_id: string; scope: string; resource?: string };
      const grant = new provider.Grant({ accountId: 'alice', clientId: params.client_id });
      grant.addOIDCScope(params.scope);
      grant.addResourceScope(params.resource ?? recorder.url, 'mcp:tools');
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => asServer.listen(port, '127.0.0.1', resolve));
  await putServer(cp, {
    name: 'oidc',
    url: recorder.url,
    auth_data: {
      type: 'oauth2',
      grant_type: 'authorization_code',
      authorization_url: `${issuer}/auth`,
      token_url: `${issuer}/token`,
      client_id: 'control-plane',
      client_secret: CLIENT_SECRET,
      scopes: ['openid', 'offline_access', 'mcp:tools'],
    },
  });
}, 60_000);
afterAll(async () => {
  await cp?.dispose();
  await recorder?.close();
  await new Promise((resolve) => asServer?.close(resolve));
});

/** A browser: follows redirects by hand and keeps each host's cookies. */
async function browse(url: string): Promise<{ status: number; text: string; url: string }> {
  const jar = new Map<string, Map<string, string>>();
  let next = url;
  const seen: string[] = [];
  for (let i = 0; i < 15; i++) {
    seen.push(next.slice(0, 120));
    const host = new URL(next).host;
    const cookies = jar.get(host) ?? new Map<string, string>();
    const res = await fetch(next, { redirect: 'manual', headers: cookies.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    jar.set(host, cookies);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      next = new URL(location, next).href;
      await res.arrayBuffer();
      continue;
    }
    return { status: res.status, text: await res.text(), url: next };
  }
  throw new Error(`too many redirects: ${seen.join(' → ')}`);
}

async function connectAlice(): Promise<void> {
  const started = await cp.api('/api/svc/v1/mcp-servers/name/oidc/oauth/authorize', { method: 'POST', token: ALICE_TOKEN });
  expect(started.status).toBe(200);
  const page = await browse(started.json.data.authorizationUrl);
  expect(page.text).toContain('Account connected');
  // Connecting starts a discovery with Alice's token: let it finish, so what the upstream records next is the gateway's.
  await discoveriesSettled();
}

/** Waits until no discovery of the server runs or waits, and the reconciler is idle. */
async function discoveriesSettled(): Promise<void> {
  await waitFor(
    async () => {
      await cp.controller.waitForIdle();
      return cp.discovery.activity('default:mcp-server:oidc').phase === 'idle';
    },
    { what: 'the discovery after connecting to settle' },
  );
  await cp.controller.waitForIdle();
}

/** The bearer tokens the upstream got since request `from`. */
const bearersSince = (from: number) => [...new Set(recorder.requests.slice(from).map((r) => String(r.headers.authorization ?? '')))];

async function listAsAlice(): Promise<string[]> {
  const c = await connectClient(cp, 'oidc', ALICE_TOKEN);
  try {
    return (await c.client.listTools()).tools.map((t) => t.name);
  } finally {
    await c.client.close();
  }
}

const aliceStatus = async () => (await cp.api('/api/svc/v1/mcp-servers/name/oidc', { token: ALICE_TOKEN })).json.data.authStatus;

it('uses the client the manifest registered, sends the caller\'s token, and refreshes it before it expires', async () => {
  await connectAlice();
  let from = recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const [first] = bearersSince(from);
  expect(first).toMatch(/^Bearer .+/);
  expect(valid.has(first!.slice(7))).toBe(true);
  // Nearly expired on the control plane's clock: the next session gets a refreshed token.
  clock.advance((ACCESS_TTL_S - 30) * 1000);
  // Time moved: the rediscovery it makes due runs first (with the stored token), then the gateway's session.
  await discoveriesSettled();
  from = recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const [second] = bearersSince(from);
  expect(second).not.toBe(first);
  expect(valid.has(second!.slice(7))).toBe(true);
  expect(await aliceStatus()).toMatchObject({ status: 'authenticated', method: 'oauth' });
});

it('refreshes once when the upstream refuses the token (401), then carries on', async () => {
  const from = recorder.requests.length;
  // The upstream stops accepting every token it knows (say, it revoked them): the gateway refreshes once.
  valid.clear();
  expect(await listAsAlice()).toContain('echo');
  const sent = bearersSince(from);
  expect(sent.length).toBe(2);
  expect(valid.has(sent[1]!.slice(7))).toBe(true);
});

it('drops the tokens when a refresh fails, and the caller\'s status and the gateway say to connect again', async () => {
  // The provider no longer honours the refresh token the control plane holds.
  for (const rt of refreshTokens) await (await provider.RefreshToken.find(rt))?.destroy();
  clock.advance(ACCESS_TTL_S * 1000);
  const res = await fetch(`${cp.url}/mcp/oidc`, {
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
  await connectAlice();
  const from = recorder.requests.length;
  expect(await listAsAlice()).toContain('echo');
  const accessToken = bearersSince(from)[0]!.slice(7);
  expect(await provider.AccessToken.find(accessToken)).toBeDefined();
  const refreshToken = refreshTokens.at(-1)!;
  expect(await provider.RefreshToken.find(refreshToken)).toBeDefined();
  const gone = await cp.api('/api/svc/v1/mcp-servers/name/oidc/oauth/token', { method: 'DELETE', token: ALICE_TOKEN });
  expect(gone.json.data).toMatchObject({ disconnected: true, authStatus: { status: 'authentication_required' } });
  expect(await provider.RefreshToken.find(refreshToken)).toBeUndefined();
  expect(await provider.AccessToken.find(accessToken)).toBeUndefined();
});

it('holds no access or refresh token, nor the client secret, in clear in any file of the data directory', async () => {
  const issued = [...issuedAccess, ...refreshTokens, CLIENT_SECRET];
  expect(issued.length).toBeGreaterThan(1);
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
  for (const file of files(cp.dataDir)) {
    const bytes = readFileSync(file);
    for (const secret of issued) expect({ file, found: bytes.includes(Buffer.from(secret)) }).toEqual({ file, found: false });
  }
});
