// Per-server TLS: trust and reject_unauthorized apply to one server's fetch only, never process-wide.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discover, type DiscoveryTarget } from '../../src/discovery/index.js';
import { createServerFetch } from '../../src/upstream/index.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { createSelfSignedCert, openssl, type SelfSignedCert } from '../support/tls.js';

let cert: SelfSignedCert;
let otherCert: SelfSignedCert;
let wrongHostCert: SelfSignedCert;
beforeAll(async () => {
  [cert, otherCert, wrongHostCert] = await Promise.all([
    createSelfSignedCert(),
    createSelfSignedCert(),
    createSelfSignedCert({ commonName: 'mcp.example.test', altNames: ['DNS:mcp.example.test'] }),
  ]);
});

const servers: RunningMcpServer[] = [];
async function start(opts: Parameters<typeof startMcpServer>[0]): Promise<RunningMcpServer> {
  const server = await startMcpServer(opts);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function target(url: string, tls: DiscoveryTarget['tls']): DiscoveryTarget {
  return { url, headers: {}, tls, timeoutMs: 5000, authConfigured: 'none' };
}

openssl.it('fails with TLSError on a self-signed certificate, saying how to fix it', async () => {
  const server = await start({ transport: 'streamable-http', tls: cert });
  const result = await discover(target(server.url, { rejectUnauthorized: true }));
  expect(result).toMatchObject({ ok: false, reason: 'TLSError' });
  expect(!result.ok && result.message).toMatch(/^The TLS certificate of 127\.0\.0\.1:\d+ could not be verified \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\); set tls_settings\.ca_cert .*tls_settings\.reject_unauthorized: false\.$/);
  expect(server.requests).toHaveLength(0); // no fallback to SSE after a TLS failure
});

openssl.it.each(['streamable-http', 'sse'] as const)('discovers a %s server whose CA is given as ca_cert', async (transport) => {
  const server = await start({ transport, tls: cert });
  expect(await discover(target(server.url, { rejectUnauthorized: true, caCert: cert.cert }))).toMatchObject({ ok: true, transport });
});

openssl.it('a ca_cert that did not sign the certificate is still a TLSError', async () => {
  const server = await start({ transport: 'streamable-http', tls: cert });
  expect(await discover(target(server.url, { rejectUnauthorized: true, caCert: otherCert.cert }))).toMatchObject({ ok: false, reason: 'TLSError' });
});

openssl.it('names a hostname mismatch as such', async () => {
  const server = await start({ transport: 'streamable-http', tls: wrongHostCert });
  const result = await discover(target(server.url, { rejectUnauthorized: true, caCert: wrongHostCert.cert }));
  expect(result).toMatchObject({ ok: false, reason: 'TLSError', message: expect.stringContaining('is not valid for host "127.0.0.1" (ERR_TLS_CERT_ALTNAME_INVALID)') });
});

openssl.it('an https URL to a plain HTTP port is a TLSError that says so', async () => {
  const plain = createServer((_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = plain.address() as AddressInfo;
    const result = await discover(target(`https://127.0.0.1:${port}/mcp`, { rejectUnauthorized: true }));
    expect(result).toMatchObject({ ok: false, reason: 'TLSError', message: expect.stringContaining('check that the server speaks HTTPS on this port') });
  } finally {
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  }
});

openssl.it('reject_unauthorized: false works for that server and leaks to no other', async () => {
  const lenient = await start({ transport: 'streamable-http', tls: cert });
  const strict = await start({ transport: 'sse', tls: otherCert });
  expect(await discover(target(lenient.url, { rejectUnauthorized: false }))).toMatchObject({ ok: true });

  // Same process, right after: a server without the setting still fails, and so does plain fetch.
  expect(await discover(target(strict.url, { rejectUnauthorized: true }))).toMatchObject({ ok: false, reason: 'TLSError' });
  expect(await discover(target(lenient.url, { rejectUnauthorized: true }))).toMatchObject({ ok: false, reason: 'TLSError' });
  await expect(fetch(strict.url)).rejects.toThrow('fetch failed');
  expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();

  // And both at once, interleaved.
  const [a, b] = await Promise.all([
    discover(target(lenient.url, { rejectUnauthorized: false })),
    discover(target(strict.url, { rejectUnauthorized: true })),
  ]);
  expect(a).toMatchObject({ ok: true });
  expect(b).toMatchObject({ ok: false, reason: 'TLSError' });
});

openssl.it('createServerFetch keeps its trust to itself and closes its sockets', async () => {
  const server = await start({ transport: 'streamable-http', tls: cert });
  const trusting = createServerFetch({ rejectUnauthorized: true, caCert: cert.cert });
  const strict = createServerFetch({ rejectUnauthorized: true });
  try {
    expect((await trusting(server.url, { method: 'GET' })).status).toBe(405);
    await expect(strict(server.url, { method: 'GET' })).rejects.toThrow('fetch failed');
  } finally {
    await trusting.close();
    await strict.close();
  }
});
