// Stored secrets stay with their destination on every write path: a GAIA PATCH that points a server at a
// new url, OAuth token endpoint or proxy is refused (403) like PUT, unless the secrets are sent again or
// a tenant admin does it. A listener records everything that arrives at the new destination.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { EDITOR_TOKEN, editorAuthenticator, gaia, SERVERS } from '../gaia/support.js';

const ENV_NAME = 'MCP_CP_TEST_PATCH_DESTINATION_KEY';
const ENV_CANARY = 'canary-env-header-2f9b61c3';
const OAUTH_CANARY = 'canary-oauth-secret-7d30a9e4';
const PROXY_CANARY = 'canary-proxy-token-b85e1f27';
const CANARIES = [ENV_CANARY, OAUTH_CANARY, PROXY_CANARY];

/** An HTTP listener that answers 404 and keeps the head and body of every request and CONNECT. */
interface Listener {
  url: string;
  received: string[];
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const received: string[] = [];
  const describe = (req: IncomingMessage) => `${req.method} ${req.url}\n${JSON.stringify(req.headers)}`;
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(`${describe(req)}\n${Buffer.concat(chunks).toString('utf8')}`);
      res.writeHead(404).end();
    });
  });
  server.on('connect', (req: IncomingMessage, socket) => {
    received.push(describe(req));
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('GAIA PATCH keeps stored secrets with their destination', () => {
  let cp: TestControlPlane;
  let listener: Listener;
  let id: string;
  beforeAll(async () => {
    process.env[ENV_NAME] = ENV_CANARY;
    listener = await startListener();
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'], authenticators: [editorAuthenticator()] });
  });
  afterAll(async () => {
    await cp.dispose();
    await listener.close();
    delete process.env[ENV_NAME];
  });

  beforeEach(async () => {
    // An admin registers a server whose header is a secret reference, with OAuth client credentials and a
    // proxy token, and makes the editor one of its managers.
    await cp.api(`${SERVERS}/name/guarded`, { method: 'DELETE' });
    const put = await cp.api(SERVERS, {
      method: 'PUT',
      body: {
        manifest: {
          type: 'mcp-server/remote',
          name: 'guarded',
          description: 'guarded',
          url: 'http://127.0.0.1:9/mcp',
          additional_headers: { 'X-Api-Key': `\${env:${ENV_NAME}}` },
          auth_data: {
            type: 'oauth2',
            grant_type: 'client_credentials',
            token_url: 'http://127.0.0.1:9/token',
            client_id: 'client-1',
            client_secret: OAUTH_CANARY,
          },
          upstream_proxy: { url: 'http://127.0.0.1:9', auth_token: PROXY_CANARY },
          ownedBy: { account: 'proj-a' },
          collaborators: [{ subject: 'user:erin@example.com', role_id: 'mcp-server-manager' }],
        },
      },
    });
    expect(put.status).toBe(200);
    id = put.json.data.id;
  });

  const stored = () => cp.store.get('default:mcp-server:guarded')!;

  it.each([
    ['url', { url: `LISTENER/mcp` }, '/additional_headers/X-Api-Key'],
    ['oauthTokenUrl', { oauthTokenUrl: `LISTENER/token` }, '/auth_data/client_secret'],
    ['proxyUrl', { proxyUrl: 'LISTENER' }, '/upstream_proxy/auth_token'],
  ])("refuses an editor's PATCH of %s (403) and changes nothing", async (_field, change, pointer) => {
    const before = stored().resourceVersion;
    const body = Object.fromEntries(Object.entries(change).map(([k, v]) => [k, v.replace('LISTENER', listener.url)]));
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain(pointer);
    expect(res.json.message).toContain('new destination');
    for (const canary of CANARIES) expect(res.text).not.toContain(canary);
    expect(stored().resourceVersion).toBe(before);
  });

  it('lets the editor move the server when they send every secret again, and only their values arrive', async () => {
    const res = await gaia(cp, `/${id}`, {
      method: 'PATCH',
      token: EDITOR_TOKEN,
      body: {
        url: `${listener.url}/mcp`,
        customHeaders: { 'X-Api-Key': 'erin-own-key' },
        oauthTokenUrl: `${listener.url}/token`,
        oauthClientSecret: 'erin-own-secret',
        proxyUrl: listener.url,
        proxyAuthToken: 'erin-own-proxy-token',
      },
    });
    expect(res.status).toBe(200);
    // The discovery of the new generation reaches the listener (token endpoint or proxy) with Erin's values.
    await waitFor(() => listener.received.length > 0, { what: 'a request at the listener' });
    for (const seen of listener.received) for (const canary of CANARIES) expect(seen).not.toContain(canary);
  });

  it("lets a tenant admin PATCH the url with the stored secrets", async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', body: { url: 'http://127.0.0.1:10/mcp' } });
    expect(res.status).toBe(200);
    expect(stored().manifest).toMatchObject({ url: 'http://127.0.0.1:10/mcp', additional_headers: { 'X-Api-Key': `\${env:${ENV_NAME}}` } });
    expect(stored().manifest).toMatchObject({ auth_data: { client_secret: OAUTH_CANARY }, upstream_proxy: { auth_token: PROXY_CANARY } });
  });

  it('keeps the stored secrets for an editor PATCH that does not move them', async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body: { description: 'edited by erin', requestTimeout: 5000 } });
    expect(res.status).toBe(200);
    expect(stored().manifest).toMatchObject({
      description: 'edited by erin',
      additional_headers: { 'X-Api-Key': `\${env:${ENV_NAME}}` },
      auth_data: { client_secret: OAUTH_CANARY },
      upstream_proxy: { auth_token: PROXY_CANARY },
    });
  });

  it('never let a canary reach the listener', () => {
    for (const seen of listener.received) for (const canary of CANARIES) expect(seen).not.toContain(canary);
  });
});
