// A token endpoint that answers without end: the token request fails with ResponseTooLarge once the
// answer passes --upstream-max-response-bytes, and the endpoint is hung up on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuthClientCredentials, OAuthError } from '../../src/upstream/index.js';
import { waitFor } from '../support/control-plane.js';

let server: Server;
let open = 0;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    open++;
    res.on('close', () => open--);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"access_token":"');
    const chunk = 'x'.repeat(16384);
    const write = (): void => {
      while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', write);
    };
    write();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('fails a token answer past the cap, and hangs up', async () => {
  const oauth = new OAuthClientCredentials({ maxResponseBytes: 64 * 1024, timeoutMs: 60_000 });
  const error = await oauth.getToken({ tokenUrl: url, clientId: 'gateway', clientSecret: 'secret-value-1234', tls: { rejectUnauthorized: true } }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OAuthError);
  expect(error).toMatchObject({ kind: 'ResponseTooLarge', message: expect.stringContaining('more than 65536 bytes') });
  expect((error as Error).message).toContain('--upstream-max-response-bytes');
  await waitFor(() => open === 0, { what: 'the token endpoint to be hung up on' });
});
