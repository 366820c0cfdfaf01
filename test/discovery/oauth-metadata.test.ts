// discoverOAuthMetadata against real HTTP servers on loopback that publish (or fail to publish) RFC 9728
// protected-resource metadata and RFC 8414 authorization-server metadata: the happy paths, the legacy
// fallback, the byte cap, the egress policy on metadata URLs (hint, authorization server, redirect),
// and documents that must not be used.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressPolicy } from '../../src/upstream/egress.js';
import { discoverOAuthMetadata, MAX_METADATA_BYTES } from '../../src/upstream/oauth-metadata.js';

type Handler = (req: IncomingMessage, res: ServerResponse, origin: string) => void;

interface Site {
  origin: string;
  hits: string[];
  close(): Promise<void>;
}

const sites: Site[] = [];

/** An HTTP server on `host` that routes by path to `routes` (404 otherwise) and records every request. */
async function site(routes: Record<string, Handler>, host = '127.0.0.1'): Promise<Site> {
  const hits: string[] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res, origin);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  const s: Site = {
    origin,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  sites.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});

const json = (body: unknown): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

function asMetadata(issuer: string, extra: Record<string, unknown> = {}) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    ...extra,
  };
}

const denyOther = new EgressPolicy({ deny: ['127.0.0.2/32'] });

describe('discoverOAuthMetadata', () => {
  it('follows the challenge: resource metadata, then the authorization server it names', async () => {
    const as = await site({ '/.well-known/oauth-authorization-server': (req, res, origin) => json(asMetadata(origin, { registration_endpoint: `${origin}/register`, scopes_supported: ['as-scope'] }))(req, res, origin) });
    const rs = await site({
      '/meta/prm': (req, res, origin) => json({ resource: `${origin}/mcp`, authorization_servers: [as.origin], scopes_supported: ['tools:read'] })(req, res, origin),
    });
    const result = await discoverOAuthMetadata(
      { serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}/meta/prm", scope="tools:read"`, timeoutMs: 5000 },
      { egress: denyOther },
    );
    expect(result).toEqual({
      kind: 'found',
      metadata: {
        resource: `${rs.origin}/mcp`,
        resourceMetadataUrl: `${rs.origin}/meta/prm`,
        authorizationServer: as.origin,
        authorizationEndpoint: `${as.origin}/authorize`,
        tokenEndpoint: `${as.origin}/token`,
        registrationEndpoint: `${as.origin}/register`,
        scopesSupported: ['tools:read'],
        challengeScope: 'tools:read',
        codeChallengeMethods: ['S256'],
        pkce: true,
      },
    });
    expect(rs.hits).toEqual(['GET /meta/prm']);
  });

  it('without a challenge, finds the resource metadata at the well-known URL beside the server URL', async () => {
    const rs = await site({
      '/.well-known/oauth-protected-resource/mcp': (req, res, origin) => json({ resource: `${origin}/mcp`, authorization_servers: [origin] })(req, res, origin),
      '/.well-known/oauth-authorization-server': (req, res, origin) => json(asMetadata(origin, { code_challenge_methods_supported: ['plain'] }))(req, res, origin),
    });
    const result = await discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, timeoutMs: 5000 });
    expect(result).toMatchObject({
      kind: 'found',
      metadata: { resourceMetadataUrl: `${rs.origin}/.well-known/oauth-protected-resource/mcp`, authorizationServer: rs.origin, pkce: false, codeChallengeMethods: ['plain'] },
    });
  });

  it('without resource metadata, takes the server origin as the authorization server (2025-03-26)', async () => {
    const rs = await site({ '/.well-known/oauth-authorization-server': (req, res, origin) => json(asMetadata(origin))(req, res, origin) });
    const result = await discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, timeoutMs: 5000 });
    expect(result.kind).toBe('found');
    if (result.kind !== 'found') return;
    expect(result.metadata.resourceMetadataUrl).toBeUndefined();
    expect(result.metadata).toMatchObject({ resource: `${rs.origin}/mcp`, authorizationServer: rs.origin, tokenEndpoint: `${rs.origin}/token` });
  });

  it('a server that publishes nothing: absent', async () => {
    const rs = await site({});
    const result = await discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: 'Bearer error="invalid_token"', timeoutMs: 5000 });
    expect(result).toEqual({ kind: 'absent', message: expect.stringContaining('publishes no OAuth') });
  });

  it('refuses a resource_metadata URL in a denied range before connecting', async () => {
    const denied = await site({ '/prm': json({}) }, '127.0.0.2');
    const result = await discoverOAuthMetadata(
      { serverUrl: 'http://127.0.0.1:9/mcp', wwwAuthenticate: `Bearer resource_metadata="${denied.origin}/prm"`, timeoutMs: 5000 },
      { egress: denyOther },
    );
    expect(result).toEqual({ kind: 'failed', reason: 'EgressDenied', message: expect.stringContaining('127.0.0.2 is in a range the egress policy denies (127.0.0.2/32)') });
    expect(denied.hits).toEqual([]);
  });

  it('refuses an authorization server in a denied range, and a redirect into one', async () => {
    const denied = await site({ '/.well-known/oauth-authorization-server': json({}) }, '127.0.0.2');
    const rs = await site({
      '/prm': (req, res, origin) => json({ resource: `${origin}/mcp`, authorization_servers: [denied.origin] })(req, res, origin),
      '/moved': (_req, res) => res.writeHead(302, { location: `${denied.origin}/.well-known/oauth-authorization-server` }).end(),
      '/prm-redirected': (req, res, origin) => json({ resource: `${origin}/mcp`, authorization_servers: [`${origin}/moved-as`] })(req, res, origin),
      '/.well-known/oauth-authorization-server/moved-as': (_req, res) => res.writeHead(302, { location: `${denied.origin}/.well-known/oauth-authorization-server` }).end(),
    });
    const viaMetadata = await discoverOAuthMetadata(
      { serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}/prm"`, timeoutMs: 5000 },
      { egress: denyOther },
    );
    expect(viaMetadata).toMatchObject({ kind: 'failed', reason: 'EgressDenied' });
    const viaRedirect = await discoverOAuthMetadata(
      { serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}/prm-redirected"`, timeoutMs: 5000 },
      { egress: denyOther },
    );
    // The SDK follows redirects within an origin only: this one is not followed, so no metadata is found.
    expect(viaRedirect).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining('publishes no metadata') });
    expect(denied.hits).toEqual([]);
  });

  it('reads at most the cap of a document, declared or streamed', async () => {
    const big = 'x'.repeat(MAX_METADATA_BYTES + 1);
    let streamed = 0;
    const rs = await site({
      '/declared': (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(big.length + 20) }).end(`{"resource":"${big}"}`),
      // Chunked, no length, never ends on its own: reading must stop at the cap.
      '/endless': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"resource":"');
        const chunk = 'y'.repeat(16 * 1024);
        const pump = () => {
          while (!res.destroyed && streamed < 64 * MAX_METADATA_BYTES && res.write(chunk)) streamed += chunk.length;
          if (!res.destroyed && streamed < 64 * MAX_METADATA_BYTES) res.once('drain', pump);
        };
        pump();
      },
    });
    for (const path of ['/declared', '/endless']) {
      const result = await discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}${path}"`, timeoutMs: 10_000 });
      expect(result).toEqual({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining(`larger than ${MAX_METADATA_BYTES} bytes`) });
    }
    expect(streamed).toBeLessThan(64 * MAX_METADATA_BYTES);
  });

  it('refuses metadata for another resource, an issuer that is not the server asked, and documents that do not parse', async () => {
    const as = await site({ '/.well-known/oauth-authorization-server': (req, res) => json(asMetadata('https://elsewhere.example'))(req, res, '') });
    const rs = await site({
      '/other': json({ resource: 'https://other.example/mcp', authorization_servers: ['https://other.example'] }),
      '/as-mismatch': (req, res, origin) => json({ resource: `${origin}/mcp`, authorization_servers: [as.origin] })(req, res, origin),
      '/not-json': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>'),
      '/wrong-shape': json({ resource: 42 }),
    });
    const run = (path: string) =>
      discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}${path}"`, timeoutMs: 5000 });
    expect(await run('/other')).toMatchObject({ kind: 'failed', reason: 'ResourceMismatch', message: expect.stringContaining('https://other.example/mcp') });
    expect(await run('/as-mismatch')).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining('issuer https://elsewhere.example') });
    expect(await run('/not-json')).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining('not JSON') });
    expect(await run('/wrong-shape')).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining('resource') });
    expect(await run('/missing')).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringContaining('none is served there') });
  });

  it('a metadata host that never answers: Timeout within the budget', async () => {
    const rs = await site({ '/slow': () => undefined });
    const result = await discoverOAuthMetadata({ serverUrl: `${rs.origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${rs.origin}/slow"`, timeoutMs: 300 });
    expect(result).toEqual({ kind: 'failed', reason: 'Timeout', message: expect.stringContaining('300 ms') });
  });
});
