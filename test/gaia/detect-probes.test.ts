// The probes behind the detect routes (createDetectProbes) with a short budget, against real SDK servers on
// loopback: a server slower than the budget is a timeout, a certificate nobody trusts is tls_error (for
// validate's status too), and the 401 challenge of an SDK server without metadata is bearer.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { normaliseManifest } from '../../src/manifest/index.js';
import { remoteManifest } from '../support/control-plane.js';
import { createSelfSignedCert } from '../support/tls.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { createDetectProbes } from '../../src/http/gaia/detect.js';
import { createTestConnection } from '../../src/http/gaia/test-connection.js';
import type { ManifestDraft } from '../../src/http/gaia/gaia-mapping.js';

/**
 * A stateless Streamable HTTP server that hands every method to its transport, as many do: a GET opens
 * the standalone event stream, which never sends an HTTP+SSE `endpoint` event.
 */
async function startStatelessAllMethods(): Promise<{ url: string; close(): Promise<void> }> {
  const open = new Set<{ close(): Promise<void> }>();
  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const server = new McpServer({ name: 'stateless-all', version: '1.0.0' });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      open.add(server);
      res.on('close', () => {
        open.delete(server);
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    async close() {
      await Promise.all([...open].map((s) => s.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

let slow: RunningMcpServer;
let untrusted: RunningMcpServer;
let keyed: RunningMcpServer;
beforeAll(async () => {
  const cert = await createSelfSignedCert();
  [slow, untrusted, keyed] = await Promise.all([
    startMcpServer({ transport: 'streamable-http', delayMs: 5000 }),
    startMcpServer({ transport: 'streamable-http', tls: cert }),
    startMcpServer({ transport: 'streamable-http', requireHeader: { name: 'x-api-key', value: 'k-0123456789' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([slow.close(), untrusted.close(), keyed.close()]);
});

describe('createDetectProbes', () => {
  it('a server slower than the budget: timeout, for both probes', async () => {
    const probes = createDetectProbes({ timeoutMs: 300 });
    expect(await probes.detectTransport(slow.url)).toMatchObject({ success: false, reason: 'timeout', message: expect.stringContaining('300 ms') });
    expect(await probes.detectAuth(slow.url)).toMatchObject({ success: false, reason: 'timeout' });
  });

  it('a certificate nobody trusts: tls_error (and validate says tls_error too)', async () => {
    const probes = createDetectProbes({ timeoutMs: 5000 });
    expect(await probes.detectTransport(untrusted.url)).toMatchObject({ success: false, reason: 'tls_error' });
    expect(await probes.detectAuth(untrusted.url)).toMatchObject({ success: false, reason: 'tls_error' });
    const validate = createTestConnection({ defaultTimeoutMs: 5000 });
    const draft = normaliseManifest(remoteManifest({ url: untrusted.url }) as never) as unknown as ManifestDraft;
    expect(await validate(draft, 'http')).toMatchObject({ valid: false, status: 'tls_error' });
  });

  it('a 401 whose challenge names no metadata, on a server that publishes none: bearer, quoting the challenge', async () => {
    const probes = createDetectProbes({ timeoutMs: 5000 });
    const answer = await probes.detectAuth(keyed.url);
    expect(answer).toMatchObject({ success: true, authType: 'bearer', message: expect.stringContaining('WWW-Authenticate: Bearer realm="test-mcp"') });
    // The probe asked for the well-known metadata beside the URL and at the origin, and sent no credentials.
    const paths = keyed.requests.map((r) => `${r.method} ${r.url}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /.well-known/oauth-protected-resource/mcp',
        'GET /.well-known/oauth-protected-resource',
        'GET /.well-known/oauth-authorization-server',
      ]),
    );
    expect(keyed.requests.every((r) => r.headers.authorization === undefined && r.headers['x-api-key'] === undefined)).toBe(true);
  });

  it('a Streamable HTTP server whose GET holds an event stream open without an endpoint event: http only, without waiting out the budget', async () => {
    const server = await startStatelessAllMethods();
    try {
      // The budget is longer than this test may run: the answer must not wait for it.
      const probes = createDetectProbes({ timeoutMs: 120_000, extraProbeMs: 300 });
      expect(await probes.detectTransport(server.url)).toEqual({
        success: true,
        message: 'Transport types detected successfully',
        supportedTypes: ['http'],
        recommended: 'http',
      });
    } finally {
      await server.close();
    }
  });
});
