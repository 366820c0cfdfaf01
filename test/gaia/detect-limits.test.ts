// The detect probes read a probed server's answers under the configured byte caps (--upstream-max-*),
// as discovery does: an initialize answer past the message cap is response_too_large, not a success.
import { createDetectProbes } from '../../src/http/gaia/detect.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

let server: RunningMcpServer;
beforeAll(async () => {
  // An initialize answer of about 8 KB: under the default caps, over a 2 KB one.
  server = await startMcpServer({ transport: 'streamable-http', instructions: 'i'.repeat(8000) });
});
afterAll(() => server.close());

const small = { maxMessageBytes: 2048, maxResponseBytes: 4096 };

it('detectTransport: a success under the defaults, response_too_large under a smaller cap', async () => {
  expect(await createDetectProbes({ timeoutMs: 10_000 }).detectTransport(server.url)).toMatchObject({ success: true });
  expect(await createDetectProbes({ timeoutMs: 10_000, limits: small }).detectTransport(server.url)).toMatchObject({
    success: false,
    reason: 'response_too_large',
  });
});

it('detectAuth: the same cap applies to the unauthenticated initialize', async () => {
  expect(await createDetectProbes({ timeoutMs: 10_000 }).detectAuth(server.url)).toMatchObject({ success: true, authType: 'none' });
  expect(await createDetectProbes({ timeoutMs: 10_000, limits: small }).detectAuth(server.url)).toMatchObject({
    success: false,
    reason: 'response_too_large',
  });
});
