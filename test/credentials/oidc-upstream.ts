// A per-user OAuth server behind the control plane, with oidc-provider (a certified OpenID provider) as
// its authorization server and a client registered in the manifest: the upstream is a recording SDK
// server that accepts exactly the access tokens the provider issued and has not destroyed. Alice's login
// and consent are given at once, as a browser session of hers would.
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort } from '../support/peer-process.js';
import { ALICE_TOKEN, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators } from '../gateway/gateway-support.js';

export const CLIENT_SECRET = 'manifest-client-secret-canary-7c2e';
export const ACCESS_TTL_S = 600;

export interface OidcUpstream {
  cp: TestControlPlane;
  clock: FakeClock;
  recorder: RunningMcpServer;
  provider: Provider;
  issuer: string;
  /** Access tokens the provider issued and has not destroyed: what the upstream accepts. */
  valid: Set<string>;
  /** Every access token the provider issued, destroyed or not. */
  issuedAccess: string[];
  refreshTokens: string[];
  /** The client secret the manifest registers (a canary a test looks for). */
  clientSecret: string;
  /** The manifest of the server (name `name`), for a test to PUT changed. */
  manifest: Record<string, unknown>;
  /** Alice connects her account through the real redirect chain; resolves once the discovery it starts settled. */
  connectAlice(): Promise<void>;
  /** Resolves once no discovery of the server runs or waits and the reconciler is idle. */
  settled(): Promise<void>;
  /** The bearer tokens the upstream got since its request number `from`. */
  bearersSince(from: number): string[];
  close(): Promise<void>;
}

export interface OidcUpstreamOptions {
  /** The client secret the manifest registers. Default CLIENT_SECRET. */
  clientSecret?: string;
  /** The scopes of the upstream (the resource server), granted to Alice. Default mcp:tools and mcp:admin. */
  resourceScopes?: string[];
}

export async function startOidcUpstream(name: string, options: OidcUpstreamOptions = {}): Promise<OidcUpstream> {
  const clientSecret = options.clientSecret ?? CLIENT_SECRET;
  const resourceScope = (options.resourceScopes ?? ['mcp:tools', 'mcp:admin']).join(' ');
  const clock = new FakeClock(Date.now());
  const valid = new Set<string>();
  const issuedAccess: string[] = [];
  const refreshTokens: string[] = [];
  const recorder = await startMcpServer({
    transport: 'streamable-http',
    tools: GATEWAY_TOOLS,
    requireHeader: { name: 'authorization', accept: (v) => v !== undefined && valid.has(v.replace(/^Bearer /, '')), wwwAuthenticate: 'Bearer error="invalid_token"' },
  });
  const cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators(), clock });
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'control-plane',
        client_secret: clientSecret,
        redirect_uris: [`${cp.publicUrl}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['openid', 'offline_access', ...resourceScope.split(' ')],
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
        getResourceServerInfo: () => ({ scope: resourceScope, accessTokenFormat: 'opaque', accessTokenTTL: ACCESS_TTL_S }),
      },
    },
  });
  provider.on('access_token.saved', (token: { jti: string }) => {
    valid.add(token.jti);
    issuedAccess.push(token.jti);
  });
  provider.on('access_token.destroyed', (token: { jti: string }) => valid.delete(token.jti));
  provider.on('refresh_token.saved', (token: { jti: string }) => refreshTokens.push(token.jti));
  const callback = provider.callback();
  const asServer: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const params = details.params as { client_id: string; scope: string; resource?: string };
      const grant = new provider.Grant({ accountId: 'alice', clientId: params.client_id });
      grant.addOIDCScope(params.scope);
      grant.addResourceScope(params.resource ?? recorder.url, resourceScope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => asServer.listen(port, '127.0.0.1', resolve));
  const manifest = {
    name,
    url: recorder.url,
    auth_data: {
      type: 'oauth2',
      grant_type: 'authorization_code',
      authorization_url: `${issuer}/auth`,
      token_url: `${issuer}/token`,
      client_id: 'control-plane',
      client_secret: clientSecret,
      scopes: ['openid', 'offline_access', 'mcp:tools'],
    },
  };
  await putServer(cp, manifest);

  const settled = async () => {
    await waitFor(
      async () => {
        await cp.controller.waitForIdle();
        return cp.discovery.activity(`default:mcp-server:${name}`).phase === 'idle';
      },
      { what: 'the discovery after connecting to settle' },
    );
    await cp.controller.waitForIdle();
  };
  return {
    cp,
    clock,
    recorder,
    provider,
    issuer,
    valid,
    issuedAccess,
    refreshTokens,
    clientSecret,
    manifest,
    settled,
    async connectAlice() {
      const started = await cp.api(`/api/svc/v1/mcp-servers/name/${name}/oauth/authorize`, { method: 'POST', token: ALICE_TOKEN });
      if (started.status !== 200) throw new Error(`authorize answered ${started.status}: ${JSON.stringify(started.json)}`);
      const page = await browse(started.json.data.authorizationUrl);
      if (!page.includes('Account connected')) throw new Error(`the callback page says: ${page.slice(0, 300)}`);
      await settled();
    },
    bearersSince: (from) => [...new Set(recorder.requests.slice(from).map((r) => String(r.headers.authorization ?? '')))],
    async close() {
      await cp.dispose();
      await recorder.close();
      await new Promise((resolve) => asServer.close(resolve));
    },
  };
}

/** A browser: follows redirects by hand and keeps each host's cookies; answers the last page's text. */
async function browse(url: string): Promise<string> {
  const jar = new Map<string, Map<string, string>>();
  let next = url;
  for (let i = 0; i < 15; i++) {
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
    return res.text();
  }
  throw new Error('too many redirects');
}
