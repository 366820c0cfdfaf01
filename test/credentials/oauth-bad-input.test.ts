// Bad input to the per-user OAuth flow: a state that expired (the control plane's clock is injected), an
// authorization server whose token endpoint answers garbage, and one that redirects the token request into a
// denied egress range. Each is a clear page (400 or 502), nothing is stored, and the denied host gets nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { ALICE_TOKEN, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators } from '../gateway/gateway-support.js';

let cp: TestControlPlane;
let clock: FakeClock;
let upstream: RunningMcpServer;
let as: Server;
let asUrl: string;
let denied: Server;
const deniedHits: string[] = [];

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  clock = new FakeClock(Date.now());
  upstream = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'authorization', value: 'Bearer never' } });
  denied = createServer((req, res) => {
    deniedHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"from-a-denied-host","token_type":"bearer"}');
  });
  const deniedPort = await listen(denied, '127.0.0.2');
  // An authorization server that publishes no metadata; its token endpoint answers garbage, or redirects.
  as = createServer((req, res) => {
    if (req.url === '/token-garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>this is not a token answer</html>');
    if (req.url === '/token-redirect') return void res.writeHead(307, { location: `http://127.0.0.2:${deniedPort}/token` }).end();
    res.writeHead(404).end();
  });
  asUrl = `http://127.0.0.1:${await listen(as, '127.0.0.1')}`;
  cp = await startTestControlPlane({ args: [...GATEWAY_TEST_ARGS, '--egress-deny', '127.0.0.2/32'], authenticators: testAuthenticators(), clock });
  const oauth = (token: string) => ({ type: 'oauth2', grant_type: 'authorization_code', authorization_url: `${asUrl}/authorize`, token_url: `${asUrl}/${token}`, client_id: 'cp' });
  await putServer(cp, { name: 'garbage', url: upstream.url, auth_data: oauth('token-garbage') });
  await putServer(cp, { name: 'redirecting', url: upstream.url, auth_data: oauth('token-redirect') });
}, 60_000);
afterAll(async () => {
  await cp?.dispose();
  await upstream?.close();
  await new Promise((r) => as?.close(r));
  await new Promise((r) => denied?.close(r));
});

/** Starts an authorization as Alice: the state the authorization server would send back. */
async function stateFor(name: string): Promise<string> {
  const res = await cp.api(`/api/svc/v1/mcp-servers/name/${name}/oauth/authorize`, { method: 'POST', token: ALICE_TOKEN });
  expect(res.status).toBe(200);
  return new URL(res.json.data.authorizationUrl).searchParams.get('state')!;
}

const callback = (state: string) => fetch(`${cp.url}/oauth/callback?code=some-code&state=${encodeURIComponent(state)}`);
const aliceStatus = async (name: string) => (await cp.api(`/api/svc/v1/mcp-servers/name/${name}`, { token: ALICE_TOKEN })).json.data.authStatus;

it('refuses a state older than 10 minutes, and it cannot be used afterwards either', async () => {
  const state = await stateFor('garbage');
  clock.advance(10 * 60_000 + 1000);
  const res = await callback(state);
  expect(res.status).toBe(400);
  expect(await res.text()).toContain('expired');
  expect((await callback(state)).status).toBe(400);
  expect((await aliceStatus('garbage')).status).toBe('authentication_required');
});

it('answers 502 with a clear page when the token endpoint answers garbage; nothing is stored', async () => {
  const res = await callback(await stateFor('garbage'));
  expect(res.status).toBe(502);
  const text = await res.text();
  expect(text).toContain('did not exchange the code');
  expect(text).not.toContain('some-code');
  expect((await aliceStatus('garbage')).status).toBe('authentication_required');
});

it('refuses a token request redirected to another origin (here a denied range): 502 naming where, nothing stored, the denied host never reached', async () => {
  const res = await callback(await stateFor('redirecting'));
  expect(res.status).toBe(502);
  expect(await res.text()).toContain('127.0.0.2');
  expect(deniedHits).toEqual([]);
  expect((await aliceStatus('redirecting')).status).toBe('authentication_required');
});
