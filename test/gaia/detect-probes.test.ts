// The probes behind the detect routes (createDetectProbes) with a short budget, against real SDK servers on
// loopback: a server slower than the budget is a timeout, a certificate nobody trusts is tls_error (for
// validate's status too), and the 401 challenge of an SDK server without metadata is bearer.
import { normaliseManifest } from '../../src/manifest/index.js';
import { remoteManifest } from '../support/control-plane.js';
import { createSelfSignedCert } from '../support/tls.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { createDetectProbes } from '../../src/http/gaia/detect.js';
import { createTestConnection } from '../../src/http/gaia/test-connection.js';
import type { ManifestDraft } from '../../src/http/gaia/gaia-mapping.js';

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
});
