// POST /api/mcp/detect-transport and /api/mcp/detect-auth through the real control plane on port 0,
// against real peers on loopback: @modelcontextprotocol/server-everything (Streamable HTTP, and SSE),
// a server that speaks both at one URL, the SDK's OAuth example server, mcp-proxy --apiKey, a dead port
// and a denied egress range.
import { createServer, type Server } from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AddressInfo } from 'node:net';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import type { Principal } from '../../src/domain/principal.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startDualTransportServer, type DualTransportServer } from '../support/dual-transport-server.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { createServer as createGaiaServer, EDITOR_TOKEN, editorAuthenticator } from './support.js';

const VIEWER_TOKEN = 'test-viewer-token-0123456789abcdef';
const LONER_TOKEN = 'test-loner-token-0123456789abcdef';
const API_KEY = 'proxy-api-key-5d1c0b7e';

function tokenFor(token: string, role: Principal['role'], accounts: string[]): StaticTokenAuthenticator {
  const slug = `${role}@example.com`;
  return new StaticTokenAuthenticator(token, {
    subject: { subjectId: `user:${slug}`, subjectType: 'user', subjectSlug: slug, subjectDisplayName: role },
    role,
    teams: [],
    accounts,
  });
}

let everythingHttp: { peer: PeerProcess; url: string };
let everythingSse: { peer: PeerProcess; url: string };
let oauth: { peer: PeerProcess; url: string; authOrigin: string };
let proxy: { peer: PeerProcess; url: string; port: number };
let dual: DualTransportServer;
/** A server on 127.0.0.2 (denied to the control plane below) that records every request it gets. */
let deniedHost: { server: Server; port: number; hits: string[] };
/** Answers 401 pointing its resource_metadata at the denied host. */
let pointsAtDenied: { server: Server; url: string };
let deadUrl: string;
let cp: TestControlPlane;

beforeAll(async () => {
  const [httpPort, ssePort, mcpPort, authPort, proxyPort, dead] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  deadUrl = `http://127.0.0.1:${dead}/mcp`;
  const peers = await Promise.all([
    startPeer(PEERS.everything, ['streamableHttp'], { env: { PORT: String(httpPort) }, ports: [httpPort] }),
    startPeer(PEERS.everything, ['sse'], { env: { PORT: String(ssePort) }, ports: [ssePort] }),
    startPeer(PEERS.sdkOAuthExample, ['--oauth'], { env: { MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, ports: [mcpPort, authPort] }),
    startPeer(PEERS.mcpProxy, ['--apiKey', API_KEY, '--port', String(proxyPort), '--host', '127.0.0.1', '--', process.execPath, PEERS.stdioServer], { ports: [proxyPort] }),
  ]);
  everythingHttp = { peer: peers[0], url: `http://127.0.0.1:${httpPort}/mcp` };
  everythingSse = { peer: peers[1], url: `http://127.0.0.1:${ssePort}/sse` };
  // The example names itself and its authorization server by "localhost" in its metadata.
  oauth = { peer: peers[2], url: `http://localhost:${mcpPort}/mcp`, authOrigin: `http://localhost:${authPort}` };
  proxy = { peer: peers[3], url: `http://127.0.0.1:${proxyPort}/mcp`, port: proxyPort };
  dual = await startDualTransportServer();

  const hits: string[] = [];
  const denied = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => denied.listen(0, '127.0.0.2', r));
  deniedHost = { server: denied, port: (denied.address() as AddressInfo).port, hits };
  const pointing = createServer((_req, res) => {
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer resource_metadata="http://127.0.0.2:${deniedHost.port}/.well-known/oauth-protected-resource/mcp"`,
      })
      .end('{"error":"unauthorized"}');
  });
  await new Promise<void>((r) => pointing.listen(0, '127.0.0.1', r));
  pointsAtDenied = { server: pointing, url: `http://127.0.0.1:${(pointing.address() as AddressInfo).port}/mcp` };

  cp = await startTestControlPlane({
    args: ['--resync-interval', '0', '--egress-deny', '127.0.0.2/32'],
    authenticators: [editorAuthenticator(), tokenFor(VIEWER_TOKEN, 'viewer', ['proj-a']), tokenFor(LONER_TOKEN, 'editor', [])],
  });
}, 60_000);

afterAll(async () => {
  await cp?.dispose();
  await Promise.all([everythingHttp?.peer.kill(), everythingSse?.peer.kill(), oauth?.peer.kill(), proxy?.peer.kill(), dual?.close()]);
  for (const s of [deniedHost?.server, pointsAtDenied?.server]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
});

const detect = (kind: 'transport' | 'auth', body: unknown, token: string = EDITOR_TOKEN) =>
  cp.api(`/api/mcp/detect-${kind}`, { method: 'POST', body, token });

describe('POST /api/mcp/detect-transport', () => {
  it('detects server-everything in Streamable HTTP mode as http', async () => {
    const res = await detect('transport', { url: everythingHttp.url });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true, message: 'Transport types detected successfully', supportedTypes: ['http'], recommended: 'http' });
  });

  it('detects server-everything in SSE mode as sse', async () => {
    const res = await detect('transport', { url: everythingSse.url });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true, message: 'Transport types detected successfully', supportedTypes: ['sse'], recommended: 'sse' });
  });

  it('detects both transports of a server that speaks both at one URL, and recommends http', async () => {
    const res = await detect('transport', { url: dual.url });
    expect(res.json).toEqual({ success: true, message: 'Transport types detected successfully', supportedTypes: ['http', 'sse'], recommended: 'http' });
  });

  it('a dead port: success false, unreachable', async () => {
    const res = await detect('transport', { url: deadUrl });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: false, reason: 'unreachable', supportedTypes: [], recommended: null });
    expect(res.json.message).toContain('ECONNREFUSED');
  });

  it('a denied egress range: success false, egress_denied, and nothing reaches the host', async () => {
    const res = await detect('transport', { url: `http://127.0.0.2:${deniedHost.port}/mcp` });
    expect(res.json).toMatchObject({ success: false, reason: 'egress_denied', supportedTypes: [], recommended: null });
    expect(res.json.message).toContain('127.0.0.2/32');
    expect(deniedHost.hits).toEqual([]);
  });

  it('a server that wants credentials: success false, authentication_required, pointing at detect-auth', async () => {
    const res = await detect('transport', { url: proxy.url });
    expect(res.json).toMatchObject({ success: false, reason: 'authentication_required' });
    expect(res.json.message).toContain('/api/mcp/detect-auth');
  });

  it('a body without url, or with a URL that is not http(s): 400 naming the field, in the GAIA envelope', async () => {
    const missing = await detect('transport', {});
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ success: false, errors: [{ path: '/url', message: expect.any(String) }] });
    expect(missing.json.message).toContain('/url');
    const ftp = await detect('transport', { url: 'ftp://127.0.0.1/mcp' });
    expect(ftp.status).toBe(400);
    expect(ftp.json.errors[0]).toMatchObject({ path: '/url', message: expect.stringContaining('http://') });
    const extra = await detect('transport', { url: everythingHttp.url, projectId: 'x' });
    expect(extra.status).toBe(400);
    expect(extra.json.errors[0].path).toBe('/projectId');
    const notJson = await cp.api('/api/mcp/detect-transport', { method: 'POST', rawBody: 'url=x', headers: { 'content-type': 'text/plain' }, token: EDITOR_TOKEN });
    expect(notJson.status).toBe(415);
    expect(notJson.json.success).toBe(false);
  });

  it('needs a token that may create servers in some project', async () => {
    const none = await cp.api('/api/mcp/detect-transport', { method: 'POST', body: { url: everythingHttp.url }, token: null });
    expect(none.status).toBe(401);
    expect(none.json.success).toBe(false);
    const viewer = await detect('transport', { url: everythingHttp.url }, VIEWER_TOKEN);
    expect(viewer.status).toBe(403);
    expect(viewer.json).toMatchObject({ success: false, message: expect.stringContaining('viewer') });
    const loner = await detect('auth', { url: everythingHttp.url }, LONER_TOKEN);
    expect(loner.status).toBe(403);
    expect(loner.json.message).toContain('not a member of any project');
  });

  it('answers only POST', async () => {
    const res = await cp.api('/api/mcp/detect-transport', { token: EDITOR_TOKEN });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.json.success).toBe(false);
  });

  it('stores nothing; a GAIA client can then create the server it probed', async () => {
    const before = (await cp.api('/api/svc/v1/mcp-servers')).json.pagination.total;
    const probe = await detect('transport', { url: everythingHttp.url });
    expect((await cp.api('/api/svc/v1/mcp-servers')).json.pagination.total).toBe(before);
    const id = await createGaiaServer(cp, { projectId: 'proj-a', name: 'Everything', transportType: probe.json.recommended, url: everythingHttp.url });
    const created = await cp.api(`/api/mcp/servers/${id}`, { token: EDITOR_TOKEN });
    expect(created.json.server).toMatchObject({ transportType: 'http', url: everythingHttp.url });
  });
});

describe('POST /api/mcp/detect-auth', () => {
  it('a server that answers initialize without credentials: none', async () => {
    const res = await detect('auth', { url: everythingHttp.url });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, authType: 'none' });
    expect(res.json.oauth).toBeUndefined();
  });

  it("the SDK's OAuth example: oauth, with its authorization server's metadata", async () => {
    const res = await detect('auth', { url: oauth.url });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success: true,
      authType: 'oauth',
      message: expect.any(String),
      oauth: {
        authorizationServer: `${oauth.authOrigin}/`,
        authorizationEndpoint: `${oauth.authOrigin}/authorize`,
        tokenEndpoint: `${oauth.authOrigin}/token`,
        registrationEndpoint: `${oauth.authOrigin}/register`,
        scopesSupported: ['mcp:tools'],
        pkce: true,
      },
    });
  });

  it('mcp-proxy --apiKey (a 401 without OAuth metadata): bearer', async () => {
    const res = await detect('auth', { url: proxy.url });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, authType: 'bearer' });
    expect(res.json.message).toContain('HTTP 401');
  });

  it('a dead port: success false, unreachable', async () => {
    const res = await detect('auth', { url: deadUrl });
    expect(res.json).toMatchObject({ success: false, reason: 'unreachable' });
  });

  it('a denied egress range: success false, egress_denied', async () => {
    const res = await detect('auth', { url: `http://127.0.0.2:${deniedHost.port}/mcp` });
    expect(res.json).toMatchObject({ success: false, reason: 'egress_denied' });
    expect(deniedHost.hits).toEqual([]);
  });

  it('a challenge whose resource_metadata points into a denied range: egress_denied, and the metadata is never fetched', async () => {
    const res = await detect('auth', { url: pointsAtDenied.url });
    expect(res.json).toMatchObject({ success: false, reason: 'egress_denied' });
    expect(res.json.message).toContain('127.0.0.2');
    expect(deniedHost.hits).toEqual([]);
  });

  it('a body without url: 400 naming the field', async () => {
    const res = await detect('auth', { nope: 1 });
    expect(res.status).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/nope', '/url']);
  });
});

describe('rate limit', () => {
  it('each probe spends a write of the token: past the limit, 429 in the GAIA envelope', async () => {
    const limited = await startTestControlPlane({ args: ['--resync-interval', '0', '--write-rate-limit', '2/h'], authenticators: [editorAuthenticator()] });
    try {
      const probe = () => limited.api('/api/mcp/detect-transport', { method: 'POST', body: { url: deadUrl }, token: EDITOR_TOKEN });
      expect((await probe()).status).toBe(200);
      expect((await probe()).status).toBe(200);
      const third = await probe();
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(third.json).toMatchObject({ success: false, message: expect.stringContaining('Too many writes') });
    } finally {
      await limited.dispose();
    }
  });
});

describe('the OpenAPI document', () => {
  it('lists both routes, and their answers validate against the schemas it documents', async () => {
    const doc = (await cp.api('/openapi.json', { token: null })).json;
    for (const kind of ['transport', 'auth']) {
      const op = doc.paths[`/api/mcp/detect-${kind}`].post;
      expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/GaiaDetectRequest' });
      expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '413', '415', '429']);
    }
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'https://openapi.test/doc', components: doc.components }, 'doc');
    const check = (component: string, value: unknown) => {
      const validate = ajv.getSchema(`https://openapi.test/doc#/components/schemas/${component}`)!;
      return validate(value) ? [] : validate.errors;
    };
    for (const url of [everythingHttp.url, deadUrl, proxy.url]) {
      expect(check('GaiaDetectTransportAnswer', (await detect('transport', { url })).json)).toEqual([]);
    }
    for (const url of [everythingHttp.url, oauth.url, proxy.url, deadUrl]) {
      expect(check('GaiaDetectAuthAnswer', (await detect('auth', { url })).json)).toEqual([]);
    }
    expect(check('GaiaError', (await detect('auth', {})).json)).toEqual([]);
  });
});
