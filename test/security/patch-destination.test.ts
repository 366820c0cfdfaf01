// Stored secrets stay with their destination on every write path: a GAIA PATCH that points a server at a
// new url, OAuth token endpoint or proxy is refused (403) like PUT, unless the secrets are sent again or
// a tenant admin does it. A listener records everything that arrives at the new destination.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { EDITOR_TOKEN, editorAuthenticator, gaia, SERVERS } from '../gaia/support.js';

const ENV_NAME = 'PATCH_DESTINATION_TEST_KEY';
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
  // Basic credentials are kept decoded too, so a secret sent base64-encoded is found as well.
  const basic = (value: string | undefined) => (value?.startsWith('Basic ') ? Buffer.from(value.slice(6), 'base64').toString('utf8') : '');
  const describe = (req: IncomingMessage) =>
    `${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${basic(req.headers.authorization)}\n${basic(req.headers['proxy-authorization'])}`;
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

  const stored = async () => (await cp.store.get('default:mcp-server:guarded'))!;

  /** An admin's server holding one kind of secret, the editor one of its managers. */
  const register = async (name: string, secret: Record<string, unknown>): Promise<string> => {
    // Port 10: closed, and not one of the Fetch-blocked ports (9 is), so a discovery does try it.
    await cp.api(`${SERVERS}/name/${name}`, { method: 'DELETE' });
    const put = await cp.api(SERVERS, {
      method: 'PUT',
      body: {
        manifest: {
          type: 'mcp-server/remote',
          name,
          description: name,
          url: 'http://127.0.0.1:10/mcp',
          ...secret,
          ownedBy: { account: 'proj-a' },
          collaborators: [{ subject: 'user:erin@example.com', role_id: 'mcp-server-manager' }],
        },
      },
    });
    expect(put.status).toBe(200);
    return put.json.data.id as string;
  };

  it.each([
    ['url', { additional_headers: { 'X-Api-Key': `\${env:${ENV_NAME}}` } }, { url: 'LISTENER/mcp' }, '/additional_headers/X-Api-Key'],
    [
      'oauthTokenUrl',
      { auth_data: { type: 'oauth2', grant_type: 'client_credentials', token_url: 'http://127.0.0.1:10/token', client_id: 'c', client_secret: OAUTH_CANARY } },
      { oauthTokenUrl: 'LISTENER/token' },
      '/auth_data/client_secret',
    ],
    ['proxyUrl', { upstream_proxy: { url: 'http://127.0.0.1:10', auth_token: PROXY_CANARY } }, { proxyUrl: 'LISTENER' }, '/upstream_proxy/auth_token'],
  ])("refuses an editor's PATCH of %s (403); a discovery after it sends nothing to the listener", async (field, secret, change, pointer) => {
    const single = await register(`single-${field.toLowerCase()}`, secret);
    const from = listener.received.length;
    const body = Object.fromEntries(Object.entries(change).map(([k, v]) => [k, v.replace('LISTENER', listener.url)]));
    const res = await gaia(cp, `/${single}`, { method: 'PATCH', token: EDITOR_TOKEN, body });
    // A discovery of whatever is stored now has finished when refresh answers.
    await cp.api(`${SERVERS}/${single}/refresh`, { method: 'POST' });
    for (const seen of listener.received.slice(from)) for (const canary of CANARIES) expect(seen).not.toContain(canary);
    expect(res.status).toBe(403);
    expect(res.json.message).toContain(pointer);
    expect(res.json.message).toContain('new destination');
    for (const canary of CANARIES) expect(res.text).not.toContain(canary);
    expect((await cp.store.getById(single))!.generation).toBe(1);
    expect((await cp.store.getById(single))!.manifest).toMatchObject({ url: 'http://127.0.0.1:10/mcp' });
  });

  it.each([
    ['url', { url: `LISTENER/mcp` }, '/additional_headers/X-Api-Key'],
    ['oauthTokenUrl', { oauthTokenUrl: `LISTENER/token` }, '/auth_data/client_secret'],
    ['proxyUrl', { proxyUrl: 'LISTENER' }, '/upstream_proxy/auth_token'],
  ])("refuses an editor's PATCH of %s on a server with every kind of secret, and changes nothing", async (_field, change, pointer) => {
    const before = await stored();
    const body = Object.fromEntries(Object.entries(change).map(([k, v]) => [k, v.replace('LISTENER', listener.url)]));
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain(pointer);
    for (const canary of CANARIES) expect(res.text).not.toContain(canary);
    // Status writes may land meanwhile; the spec stays as it was.
    expect((await stored()).generation).toBe(before.generation);
    expect((await stored()).manifest).toEqual(before.manifest);
  });

  it('lets the editor move the server when they send every secret again, and only their values arrive', async () => {
    const from = listener.received.length;
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
    await waitFor(() => listener.received.length > from, { what: 'a request at the listener' });
    for (const seen of listener.received.slice(from)) for (const canary of CANARIES) expect(seen).not.toContain(canary);
    expect(listener.received.slice(from).join('\n')).toMatch(/erin-own-(secret|proxy-token|key)/);
  });

  it("lets a tenant admin PATCH the url with the stored secrets", async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', body: { url: 'http://127.0.0.1:10/mcp' } });
    expect(res.status).toBe(200);
    expect((await stored()).manifest).toMatchObject({ url: 'http://127.0.0.1:10/mcp', additional_headers: { 'X-Api-Key': `\${env:${ENV_NAME}}` } });
    expect((await stored()).manifest).toMatchObject({ auth_data: { client_secret: OAUTH_CANARY }, upstream_proxy: { auth_token: PROXY_CANARY } });
  });

  it('keeps the stored secrets for an editor PATCH that does not move them', async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body: { description: 'edited by erin', requestTimeout: 5000 } });
    expect(res.status).toBe(200);
    expect((await stored()).manifest).toMatchObject({
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

describe('GAIA PATCH keeps a stdio server\'s env with its command', () => {
  const NODE = process.execPath;
  const STDIO_CANARY = 'canary-stdio-env-0e4a7b95';
  let cp: TestControlPlane;
  let id: string;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--allow-stdio', '--stdio-allow', NODE], authenticators: [editorAuthenticator()] });
    const put = await cp.api(SERVERS, {
      method: 'PUT',
      body: {
        manifest: {
          type: 'mcp-server/stdio',
          name: 'stdio-guarded',
          description: 'stdio-guarded',
          command: NODE,
          args: ['-e', 'process.exit(1)'],
          env: { STDIO_SECRET: STDIO_CANARY },
          ownedBy: { account: 'proj-a' },
          collaborators: [{ subject: 'user:erin@example.com', role_id: 'mcp-server-manager' }],
        },
      },
    });
    expect(put.status).toBe(200);
    id = put.json.data.id;
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it("refuses an editor's PATCH of args that would run another program with the stored env", async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body: { args: ['-e', 'console.log(process.env.STDIO_SECRET)'] } });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('/env/STDIO_SECRET');
    expect((await cp.store.get('default:mcp-server:stdio-guarded'))!.manifest).toMatchObject({ args: ['-e', 'process.exit(1)'] });
  });

  it('lets the editor change args when they send the env again', async () => {
    const res = await gaia(cp, `/${id}`, { method: 'PATCH', token: EDITOR_TOKEN, body: { args: ['-e', 'process.exit(2)'], env: { STDIO_SECRET: 'erin-own' } } });
    expect(res.status).toBe(200);
    expect((await cp.store.get('default:mcp-server:stdio-guarded'))!.manifest).toMatchObject({ auth_data: { type: 'env', env: { STDIO_SECRET: 'erin-own' } } });
  });
});
