// An OAuth metadata document that does not parse is named, never quoted: the JSON parser's message cites
// the body, and the body may hold anything the metadata host serves.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverOAuthMetadata } from '../../src/upstream/oauth-metadata.js';

const BODY_SECRET = 'Zinternal-session-key-77c1e0';

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/meta') res.writeHead(200, { 'content-type': 'application/json' }).end(`${BODY_SECRET} and more of the page`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('a document that is not JSON: InvalidMetadata naming the problem, without a byte of the body', async () => {
  const result = await discoverOAuthMetadata({ serverUrl: `${origin}/mcp`, wwwAuthenticate: `Bearer resource_metadata="${origin}/meta"`, timeoutMs: 5000 });
  expect(result).toMatchObject({ kind: 'failed', reason: 'InvalidMetadata', message: expect.stringMatching(/^The OAuth metadata is not valid: not JSON \(Unexpected token/) });
  const message = (result as { message: string }).message;
  expect(message).not.toContain(BODY_SECRET.slice(0, 6));
  expect(message).not.toContain('more of the page');
});
