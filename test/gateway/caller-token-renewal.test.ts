// A gateway session outlives the token it opened with: its lease renews the token before it expires,
// and every later upstream request carries the new one, over both transports. The data plane on its own
// over a gateway store file, its tokens on a manual clock; real SDK client and servers on loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { CallerTokens } from '../../src/auth/caller-tokens.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMcpServer, type McpTransportKind, type RunningMcpServer } from '../support/mcp-servers.js';
import { GATEWAY_TOOLS } from './gateway-support.js';

const TOKEN = 'renewal-test-token-0123456789';
const ISSUER = 'https://cp.example.test';
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

let dir: string;
let store: SqliteGatewayStore;
let clock: FakeClock;
let tokens: CallerTokens;
let dataPlane: DataPlane;
let http: Server;
let upstream: RunningMcpServer;
let client: Client | undefined;
let transport: StreamableHTTPClientTransport | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-renewal-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  clock = new FakeClock(START);
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  tokens = await CallerTokens.create({ key, issuer: () => ISSUER, clock });
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    storePollIntervalMs: 0,
    callerTokens: tokens,
  });
  http = createServer((req, res) => {
    if (!req.url?.startsWith('/mcp/')) return void res.writeHead(404).end();
    req.url = req.url.slice('/mcp'.length);
    dataPlane.handler(req, res, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  await client?.close().catch(() => undefined);
  client = undefined;
  await dataPlane.close();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
  await upstream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function bearers(from: number): string[] {
  return upstream.requests.slice(from).map((r) => String(r.headers.authorization).replace(/^Bearer /, ''));
}

it.each<McpTransportKind>(['streamable-http', 'sse'])('renews the token of a %s upstream session before it expires', async (kind) => {
  upstream = await startMcpServer({ transport: kind, tools: GATEWAY_TOOLS, stateful: kind === 'streamable-http' });
  await store.apply({
    fqn: 'default:mcp-server:long',
    tenant: 'default',
    name: 'long',
    resourceId: 'id-long',
    accountId: 'default',
    upstreamUrl: upstream.url,
    transport: kind,
    transportPinned: true,
    headers: { Authorization: 'Bearer a-static-value-that-passthrough-replaces', 'X-Org': 'acme' },
    passthroughAuth: true,
    tls: { rejectUnauthorized: true },
    disabledTools: [],
    toolOverrides: {},
    collaborators: [],
    generation: 1,
  });
  client = new Client({ name: 'renewal-test', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => undefined;
  const port = (http.address() as AddressInfo).port;
  transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp/long`), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } });
  await client.connect(transport);

  await client.callTool({ name: 'plain', arguments: {} });
  const opened = bearers(0);
  expect(new Set(opened).size).toBe(1);
  expect(upstream.requests.every((r) => r.headers['x-org'] === 'acme')).toBe(true);
  const verify = (token: string, at: number) => jwtVerify(token, createLocalJWKSet(tokens.jwks), { issuer: ISSUER, audience: upstream.url, currentDate: new Date(at) });
  expect((await verify(opened[0]!, START)).payload.sub).toBe('admin');

  // Four minutes on, a minute before it expires: the session's lease mints the next token.
  clock.advance(4 * 60_000);
  await waitFor(() => tokens.signed === 2, { what: 'the renewed token' });
  const from = upstream.requests.length;
  await client.callTool({ name: 'plain', arguments: {} });
  const renewed = bearers(from);
  expect(renewed.length).toBeGreaterThan(0);
  expect(new Set(renewed).size).toBe(1);
  expect(renewed[0]).not.toBe(opened[0]);
  const { payload } = await verify(renewed[0]!, START + 8 * 60_000);
  expect(payload.iat).toBe(START / 1000 + 240);
  expect(JSON.stringify(upstream.requests.map((r) => r.headers))).not.toContain(TOKEN);

  // The session's end releases its lease: nothing is renewed any more.
  await transport.terminateSession();
  await waitFor(() => dataPlane.sessionCount() === 0, { what: 'the gateway session to end' });
  expect(clock.pendingTimers()).toEqual([]);
});
