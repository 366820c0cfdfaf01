import { discover } from '../../src/discovery/index.js';
import { OAuthClientCredentials, OAuthError, type ClientCredentialsConfig } from '../../src/upstream/index.js';
import { startMcpServer, startOAuthTokenServer, type RunningMcpServer, type RunningOAuthTokenServer } from '../support/mcp-servers.js';
import { FakeClock } from '../support/fake-clock.js';
import { createSelfSignedCert, openssl } from '../support/tls.js';

const CLIENT_SECRET = 'cl13nt-s3cret+with/odd=chars';

const fakeClock = () => new FakeClock(1_700_000_000_000);

const closers: Array<{ close(): Promise<void> }> = [];
async function tokenServer(opts: Partial<Parameters<typeof startOAuthTokenServer>[0]> = {}): Promise<RunningOAuthTokenServer> {
  const server = await startOAuthTokenServer({ clientId: 'gateway', clientSecret: CLIENT_SECRET, ...opts });
  closers.push(server);
  return server;
}
async function mcpServer(tokens: RunningOAuthTokenServer): Promise<RunningMcpServer> {
  const server = await startMcpServer({ transport: 'streamable-http', requireHeader: { name: 'authorization', accept: tokens.acceptsBearer } });
  closers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c.close()));
});

function config(tokens: RunningOAuthTokenServer, overrides: Partial<ClientCredentialsConfig> = {}): ClientCredentialsConfig {
  return { tokenUrl: tokens.tokenUrl, clientId: 'gateway', clientSecret: CLIENT_SECRET, tls: { rejectUnauthorized: true }, ...overrides };
}

async function discoverWithToken(oauth: OAuthClientCredentials, cfg: ClientCredentialsConfig, url: string) {
  const { accessToken } = await oauth.getToken(cfg);
  return discover({ url, headers: { Authorization: `Bearer ${accessToken}` }, tls: { rejectUnauthorized: true }, timeoutMs: 5000, authConfigured: 'oauth2' });
}

it('gets a token with client_secret_basic and discovers with it as the bearer', async () => {
  const tokens = await tokenServer();
  const server = await mcpServer(tokens);
  const oauth = new OAuthClientCredentials();
  const result = await discoverWithToken(oauth, config(tokens, { scopes: ['tools:read', 'tools:call'] }), server.url);
  expect(result).toMatchObject({ ok: true, authStatus: { status: 'authenticated', method: 'oauth' } });
  expect(tokens.requests).toEqual([{ authMethod: 'client_secret_basic', grantType: 'client_credentials', scope: 'tools:read tools:call', status: 200 }]);
  expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${tokens.issued[0]}`);
});

it('caches the token: two discoveries, one token request', async () => {
  const tokens = await tokenServer();
  const server = await mcpServer(tokens);
  const oauth = new OAuthClientCredentials();
  expect((await discoverWithToken(oauth, config(tokens), server.url)).ok).toBe(true);
  expect((await discoverWithToken(oauth, config(tokens), server.url)).ok).toBe(true);
  expect(tokens.requests).toHaveLength(1);
});

it('shares one request between concurrent callers', async () => {
  const tokens = await tokenServer();
  const oauth = new OAuthClientCredentials();
  const got = await Promise.all([oauth.getToken(config(tokens)), oauth.getToken(config(tokens)), oauth.getToken(config(tokens))]);
  expect(new Set(got.map((t) => t.accessToken)).size).toBe(1);
  expect(tokens.requests).toHaveLength(1);
});

it('refreshes shortly before expiry', async () => {
  const tokens = await tokenServer({ expiresIn: 60 });
  const clock = fakeClock();
  const oauth = new OAuthClientCredentials({ clock, refreshSkewMs: 10_000 });
  const first = await oauth.getToken(config(tokens));
  expect(first.expiresAt).toBe(clock.now() + 60_000);

  clock.advance(49_000);
  expect(await oauth.getToken(config(tokens))).toEqual(first);
  clock.advance(2_000); // 51 s: within the 10 s skew
  const second = await oauth.getToken(config(tokens));
  expect(second.accessToken).not.toBe(first.accessToken);
  expect(tokens.requests).toHaveLength(2);
});

it('never skews past half of a short lifetime', async () => {
  const tokens = await tokenServer({ expiresIn: 4 });
  const clock = fakeClock();
  const oauth = new OAuthClientCredentials({ clock, refreshSkewMs: 30_000 });
  await oauth.getToken(config(tokens));
  clock.advance(1_900);
  await oauth.getToken(config(tokens));
  expect(tokens.requests).toHaveLength(1);
});

it('reuses a token without expires_in for the default TTL', async () => {
  const tokens = await tokenServer({ expiresIn: null });
  const clock = fakeClock();
  const oauth = new OAuthClientCredentials({ clock, defaultTtlMs: 60_000 });
  expect((await oauth.getToken(config(tokens))).expiresAt).toBeUndefined();
  clock.advance(59_000);
  await oauth.getToken(config(tokens));
  clock.advance(2_000);
  await oauth.getToken(config(tokens));
  expect(tokens.requests).toHaveLength(2);
});

it('keys the cache by scopes and by secret, and forgets on invalidate', async () => {
  const tokens = await tokenServer();
  const oauth = new OAuthClientCredentials();
  await oauth.getToken(config(tokens, { scopes: ['a', 'b'] }));
  await oauth.getToken(config(tokens, { scopes: ['b', 'a'] })); // same set
  expect(tokens.requests).toHaveLength(1);
  await oauth.getToken(config(tokens, { scopes: ['a'] }));
  expect(tokens.requests).toHaveLength(2);
  await expect(oauth.getToken(config(tokens, { scopes: ['a'], clientSecret: 'rotated-secret' }))).rejects.toThrow(OAuthError);
  oauth.invalidate(config(tokens, { scopes: ['a'] }));
  await oauth.getToken(config(tokens, { scopes: ['a'] }));
  expect(tokens.requests.filter((r) => r.status === 200)).toHaveLength(3);
});

it('falls back to client_secret_post, and remembers it', async () => {
  const tokens = await tokenServer({ authMethods: ['client_secret_post'] });
  const oauth = new OAuthClientCredentials();
  await oauth.getToken(config(tokens));
  expect(tokens.requests.map((r) => [r.authMethod, r.status])).toEqual([
    ['client_secret_basic', 401],
    ['client_secret_post', 200],
  ]);
  oauth.invalidate(config(tokens));
  await oauth.getToken(config(tokens));
  expect(tokens.requests[2]).toMatchObject({ authMethod: 'client_secret_post', status: 200 });
});

it('a bad secret is an InvalidClient OAuthError that names the client, never the secret', async () => {
  const tokens = await tokenServer({ echoSecretInErrors: true });
  const oauth = new OAuthClientCredentials();
  const wrongSecret = 'wr0ng-secret-value';
  const error = await oauth.getToken(config(tokens, { clientSecret: wrongSecret })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OAuthError);
  expect(error).toMatchObject({ kind: 'InvalidClient', httpStatus: 401 });
  const message = (error as OAuthError).message;
  expect(message).toContain('client_id "gateway"');
  expect(message).toContain('invalid_client');
  expect(message).not.toContain(wrongSecret);
  expect(message).not.toContain(CLIENT_SECRET);
  expect(JSON.stringify(error)).not.toContain(wrongSecret);
  expect(tokens.requests.map((r) => r.authMethod)).toEqual(['client_secret_basic', 'client_secret_post']);
});

it('a token the MCP server rejects is AuthenticationRequired with the oauth method', async () => {
  const tokens = await tokenServer();
  const server = await mcpServer(tokens);
  const result = await discover({ url: server.url, headers: { Authorization: 'Bearer revoked-token' }, tls: { rejectUnauthorized: true }, timeoutMs: 5000, authConfigured: 'oauth2' });
  expect(result).toMatchObject({ ok: false, reason: 'AuthenticationRequired', authStatus: { status: 'authentication_required', method: 'oauth' } });
  expect(JSON.stringify(result)).not.toContain('revoked-token');
});

it('an unreachable token endpoint is an Unreachable OAuthError', async () => {
  const tokens = await tokenServer();
  await tokens.close();
  const error = await new OAuthClientCredentials().getToken(config(tokens)).catch((e: unknown) => e);
  expect(error).toMatchObject({ name: 'OAuthError', kind: 'Unreachable', message: expect.stringContaining('ECONNREFUSED') });
});

openssl.it('uses the per-server TLS settings for the token endpoint', async () => {
  const cert = await createSelfSignedCert();
  const tokens = await tokenServer({ tls: cert });
  const oauth = new OAuthClientCredentials();
  await expect(oauth.getToken(config(tokens))).rejects.toMatchObject({ kind: 'TLSError' });
  await expect(oauth.getToken(config(tokens, { tls: { rejectUnauthorized: true, caCert: cert.cert } }))).resolves.toMatchObject({
    accessToken: expect.stringMatching(/^at-/),
  });
});
