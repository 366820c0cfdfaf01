// Opening an upstream session: an initialize refusal quotes the upstream only as a bounded excerpt with
// the entry's secrets redacted, and is not "unreachable" (one caller's refusal must not flip Ready for
// everyone); a server nobody can reach is.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectUpstream, UpstreamConnectError } from '../../src/gateway/data-plane/upstream.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { gatewayEntry } from '../support/gateway-entries.js';

const SECRET = 'upstream-header-secret-5b7e9d01';
const HUGE = 1_000_000;

let server: Server;
let url: string;
beforeAll(async () => {
  // Answers initialize with a JSON-RPC error whose message is huge and echoes the request's Authorization.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const id = (JSON.parse(body || '{}') as { id?: unknown }).id ?? null;
      const message = `denied for ${req.headers.authorization} ${'x'.repeat(HUGE)}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32001, message } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const entry = (upstreamUrl: string): GatewayEntry =>
  gatewayEntry('refuser', upstreamUrl, { resourceId: 'r1', accountId: 'a', transport: 'streamable-http', transportPinned: true, headers: { Authorization: `Bearer ${SECRET}` } });

const initialize = {
  jsonrpc: '2.0' as const,
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

async function failure(upstreamUrl: string): Promise<UpstreamConnectError> {
  const error = await connectUpstream({ entry: entry(upstreamUrl), initialize, timeoutMs: 10_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamConnectError);
  return error as UpstreamConnectError;
}

it('a refused initialize is a bounded excerpt without the secret, and does not count as unreachable', async () => {
  const error = await failure(url);
  expect(error.status).toBe(502);
  expect(error.unreachable).toBe(false);
  expect(error.message).toMatch(/^The MCP server refused initialize \(code -32001\): denied for/);
  expect(error.message).not.toContain(SECRET);
  expect(error.message.length).toBeLessThan(400);
});

it('a server nobody can reach counts as unreachable, in the gateway\'s own words', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const error = await failure(`http://127.0.0.1:${port}/mcp`);
  expect(error.unreachable).toBe(true);
  expect(error.message).toContain('ECONNREFUSED');
});
