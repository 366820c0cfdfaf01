// Discovery with credentials and TLS through the real server: header auth, OAuth client credentials,
// per-user auth, and self-signed HTTPS. No answer may carry a header value, token or client secret.
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import {
  startMcpServer,
  startOAuthTokenServer,
  type RunningMcpServer,
  type RunningOAuthTokenServer,
  type StartMcpServerOptions,
} from '../support/mcp-servers.js';
import {
  condition,
  everyAnswer,
  getServer,
  putServer,
  refresh,
  waitForReady,
} from '../support/servers-api.js';
import { createSelfSignedCert, openssl, type SelfSignedCert } from '../support/tls.js';

const closeables: { close(): Promise<void> }[] = [];
async function upstream(opts: StartMcpServerOptions): Promise<RunningMcpServer> {
  const server = await startMcpServer(opts);
  closeables.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(closeables.splice(0).map((s) => s.close()));
});

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
});
afterAll(async () => {
  await cp.dispose();
});

describe('header auth', () => {
  const RIGHT = 'right-token-5b1d8e0c94f7';
  const WRONG = 'wrong-token-a41c77e02d3b';

  it('is authenticated with the right header and authentication_required with a wrong one; no answer carries either value', async () => {
    const server = await upstream({
      transport: 'streamable-http',
      tools: 2,
      requireHeader: { name: 'authorization', value: `Bearer ${RIGHT}`, wwwAuthenticate: 'Bearer realm="acme-mcp", scope="tools:read"' },
    });
    await putServer(cp, remoteManifest({ name: 'header-right', url: server.url, auth_data: { type: 'header', headers: { Authorization: `Bearer ${RIGHT}` } } }));
    await putServer(cp, remoteManifest({ name: 'header-wrong', url: server.url, auth_data: { type: 'header', headers: { Authorization: `Bearer ${WRONG}` } } }));

    const right = await waitForReady(cp, 'header-right', 'True');
    expect(right.authStatus).toMatchObject({ status: 'authenticated', method: 'auth-override' });
    expect(right.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);

    const wrong = await waitForReady(cp, 'header-wrong', 'False');
    const ready = condition(wrong, 'Ready')!;
    expect(ready.reason).toBe('AuthenticationRequired');
    expect(ready.message).toContain('HTTP 401');
    expect(ready.message).toContain('WWW-Authenticate: Bearer realm="acme-mcp", scope="tools:read"');
    expect(condition(wrong, 'Discovered')).toMatchObject({ status: 'False', reason: 'AuthenticationRequired' });
    expect(wrong.authStatus).toMatchObject({ status: 'authentication_required', method: 'auth-override' });
    expect(wrong.authStatus.message).toContain('HTTP 401, asking for Bearer realm="acme-mcp", scope="tools:read"');
    expect(wrong.tools).toEqual([]);

    for (const text of await everyAnswer(cp, ['header-right', 'header-wrong'])) {
      expect(text).not.toContain(RIGHT);
      expect(text).not.toContain(WRONG);
    }
    const refreshed = await refresh(cp, wrong.id);
    expect(refreshed.text).not.toContain(WRONG);
  });
});

openssl.describe('HTTPS with a self-signed certificate', () => {
  let cert: SelfSignedCert;
  beforeAll(async () => {
    cert = await createSelfSignedCert();
  });

  it('is trusted through ca_cert, rejected without it, and accepted with reject_unauthorized: false for that server only', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 1, tls: cert });
    expect(server.url.startsWith('https://')).toBe(true);
    // Registered together, so the insecure one's setting would have every chance to leak.
    await Promise.all([
      putServer(cp, remoteManifest({ name: 'tls-ca', url: server.url, tls_settings: { reject_unauthorized: true, ca_cert: cert.cert } })),
      putServer(cp, remoteManifest({ name: 'tls-none', url: server.url })),
      putServer(cp, remoteManifest({ name: 'tls-insecure', url: server.url, tls_settings: { reject_unauthorized: false } })),
    ]);
    const trusted = await waitForReady(cp, 'tls-ca', 'True');
    expect(trusted.tools.map((t) => t.name)).toEqual(['tool-0001']);
    const insecure = await waitForReady(cp, 'tls-insecure', 'True');
    expect(insecure.tools.map((t) => t.name)).toEqual(['tool-0001']);
    const rejected = await waitForReady(cp, 'tls-none', 'False', { reason: 'TLSError' });
    expect(condition(rejected, 'Ready')!.message).toMatch(/ca_cert/);

    // After the insecure server connected, the strict one still refuses the certificate.
    const again = await refresh(cp, rejected.id);
    expect(again.status).toBe(200);
    expect(condition(again.json.data, 'Ready')).toMatchObject({ status: 'False', reason: 'TLSError' });

    const gateway = (await cp.api('/api/svc/v1/gateway/servers')).json.data as { name: string; tls: unknown }[];
    expect(gateway.find((e) => e.name === 'tls-ca')?.tls).toEqual({ rejectUnauthorized: true, caCert: true });
    expect(gateway.find((e) => e.name === 'tls-insecure')?.tls).toEqual({ rejectUnauthorized: false, caCert: false });
  });
});

describe('OAuth client credentials', () => {
  const CLIENT_SECRET = 'client-secret-9e2f4a71c0d8';

  it('fetches a token, discovers with it, reports oauth, and never shows the token or the secret', async () => {
    const oauth: RunningOAuthTokenServer = await startOAuthTokenServer({ clientId: 'cp-client', clientSecret: CLIENT_SECRET });
    closeables.push(oauth);
    const server = await upstream({
      transport: 'streamable-http',
      tools: 2,
      requireHeader: { name: 'authorization', accept: (v) => oauth.acceptsBearer(v) },
    });
    const { json } = await putServer(
      cp,
      remoteManifest({
        name: 'oauth-cc',
        url: server.url,
        auth_data: {
          type: 'oauth2',
          grant_type: 'client_credentials',
          token_url: oauth.tokenUrl,
          client_id: 'cp-client',
          client_secret: CLIENT_SECRET,
          scopes: ['tools.read', 'tools.call'],
        },
      }),
    );
    const ready = await waitForReady(cp, 'oauth-cc', 'True');
    expect(ready.authStatus).toMatchObject({ status: 'authenticated', method: 'oauth' });
    expect(ready.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
    expect(oauth.issued).toHaveLength(1);
    expect(oauth.requests[0]).toMatchObject({ grantType: 'client_credentials', scope: 'tools.read tools.call', status: 200 });
    const token = oauth.issued[0]!;
    // The upstream saw the token; the gateway entry carries it for the data plane, masked in the view.
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${token}`)).toBe(true);
    expect((await cp.gateway.get(json.data.fqn))?.headers.Authorization).toBe(`Bearer ${token}`);
    const view = (await cp.api('/api/svc/v1/gateway/servers')).json.data.find((e: { name: string }) => e.name === 'oauth-cc');
    expect(view.headers).toEqual({ Authorization: '********' });

    // A refresh reuses the cached token.
    expect((await refresh(cp, json.data.id)).status).toBe(200);
    expect(oauth.issued).toHaveLength(1);

    for (const text of await everyAnswer(cp, ['oauth-cc'])) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(CLIENT_SECRET);
    }
  });

  it('asks for a new token when the server rejects the cached one, and becomes Ready again by itself', async () => {
    const oauth = await startOAuthTokenServer({ clientId: 'cp-client', clientSecret: CLIENT_SECRET });
    closeables.push(oauth);
    const revoked = new Set<string>();
    const server = await upstream({
      transport: 'streamable-http',
      tools: 1,
      requireHeader: { name: 'authorization', accept: (v) => oauth.acceptsBearer(v) && !revoked.has(v!.slice('Bearer '.length)) },
    });
    const { json } = await putServer(
      cp,
      remoteManifest({
        name: 'oauth-revoked',
        url: server.url,
        auth_data: { type: 'oauth2', grant_type: 'client_credentials', token_url: oauth.tokenUrl, client_id: 'cp-client', client_secret: CLIENT_SECRET },
      }),
    );
    await waitForReady(cp, 'oauth-revoked', 'True');
    revoked.add(oauth.issued[0]!);
    const rejected = await refresh(cp, json.data.id);
    expect(condition(rejected.json.data, 'Ready')).toMatchObject({ status: 'False', reason: 'AuthenticationRequired' });
    expect(rejected.json.data.authStatus).toMatchObject({ status: 'authentication_required', method: 'oauth' });
    // The retry (backoff, no API call) fetches a fresh token instead of the cached, revoked one.
    await waitForReady(cp, 'oauth-revoked', 'True');
    expect(oauth.issued).toHaveLength(2);
    expect((await cp.gateway.get(json.data.fqn))?.headers.Authorization).toBe(`Bearer ${oauth.issued[1]}`);
  });

  it('reports a client the token endpoint refuses as AuthenticationRequired, without the secret', async () => {
    const oauth = await startOAuthTokenServer({ clientId: 'cp-client', clientSecret: 'the-real-secret-1234', echoSecretInErrors: true });
    closeables.push(oauth);
    const server = await upstream({ transport: 'streamable-http', tools: 1 });
    await putServer(
      cp,
      remoteManifest({
        name: 'oauth-bad-client',
        url: server.url,
        auth_data: { type: 'oauth2', grant_type: 'client_credentials', token_url: oauth.tokenUrl, client_id: 'cp-client', client_secret: CLIENT_SECRET },
      }),
    );
    const failed = await waitForReady(cp, 'oauth-bad-client', 'False', { reason: 'AuthenticationRequired' });
    expect(condition(failed, 'Ready')!.message).toMatch(/client_id "cp-client"/);
    expect(failed.authStatus).toMatchObject({ status: 'authentication_required', method: 'oauth' });
    expect(server.requests).toEqual([]);
    for (const text of await everyAnswer(cp, ['oauth-bad-client'])) expect(text).not.toContain(CLIENT_SECRET);
  });
});

describe('per-user auth', () => {
  it('authorization_code: authentication_required with a message, Ready, and nothing but its OAuth metadata asked of the server', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 1 });
    const { json } = await putServer(
      cp,
      remoteManifest({
        name: 'oauth-code',
        url: server.url,
        auth_data: {
          type: 'oauth2',
          grant_type: 'authorization_code',
          token_url: 'http://127.0.0.1:9/token',
          authorization_url: 'http://127.0.0.1:9/authorize',
          client_id: 'per-user-client',
        },
      }),
    );
    const ready = await waitForReady(cp, 'oauth-code', 'True');
    expect(ready.authStatus.status).toBe('authentication_required');
    expect(ready.authStatus.method).toBe('oauth');
    // authStatus is the caller's own (the admin has not connected an account); the condition is the server's.
    expect(ready.authStatus.message).toMatch(/not connected your account/);
    expect(condition(ready, 'Discovered')).toMatchObject({ status: 'Unknown', reason: 'PerUserAuthentication', message: expect.stringMatching(/authorization_code is per user/) });
    // A refresh has nothing to discover: it answers at once.
    const refreshed = await refresh(cp, json.data.id);
    expect(refreshed.status).toBe(200);
    // Its metadata is looked up (so an authorization can start); no MCP request is sent without a user's credentials.
    expect(server.requests.filter((r) => !(r.method === 'GET' && r.url.startsWith('/.well-known/')))).toEqual([]);
  });

  it('passthrough to a server that requires a token: Ready, Discovered Unknown PerUserAuthentication', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 1, requireHeader: { name: 'authorization', value: 'Bearer some-user' } });
    await putServer(cp, remoteManifest({ name: 'passthrough-auth', url: server.url, auth_data: { type: 'passthrough' } }));
    const ready = await waitFor(async () => {
      const s = await getServer(cp, 'passthrough-auth');
      return condition(s, 'Discovered')?.reason === 'PerUserAuthentication' ? s : undefined;
    });
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(ready, 'Discovered')).toMatchObject({ status: 'Unknown' });
    expect(ready.authStatus).toMatchObject({ method: 'passthrough' });
    expect(ready.tools).toEqual([]);
    // Discovery tried without any caller's credentials.
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('passthrough to a server that lists tools anonymously: Ready with its tools', async () => {
    const server = await upstream({ transport: 'streamable-http', tools: 2 });
    await putServer(cp, remoteManifest({ name: 'passthrough-open', url: server.url, auth_data: { type: 'passthrough' } }));
    const ready = await waitForReady(cp, 'passthrough-open', 'True');
    await waitFor(async () => (await getServer(cp, 'passthrough-open')).tools.length === 2, { what: 'tools listed' });
    expect(condition(await getServer(cp, 'passthrough-open'), 'Discovered')).toMatchObject({ status: 'True', reason: 'Discovered' });
    expect(ready.authStatus.method).toBe('passthrough');
    expect((await cp.api('/api/svc/v1/gateway/servers')).json.data.find((e: { name: string }) => e.name === 'passthrough-open')).toMatchObject({
      passthroughAuth: true,
    });
  });
});
