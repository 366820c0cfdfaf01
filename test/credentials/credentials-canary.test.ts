// The canary for per-user credentials: a caller's header values, their OAuth access token and the client
// secret the control plane got by dynamic registration (from the MCP SDK's example server) are looked for in
// every answer, the log output (trace), the events, /metrics, the watch stream and the raw bytes of every file
// of the data directory, while running and after shutdown. They are found nowhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import type { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { ADMIN_TOKEN, startTestControlPlane, type ApiInit, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';
import { captureStream } from '../security/support.js';
import { ALICE_TOKEN, BOB_TOKEN, connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators } from '../gateway/gateway-support.js';

const HEADER_VALUE = 'CANARY-per-user-header-value-4c9e2a7b1d';
const BOB_VALUE = 'CANARY-bobs-header-value-8e1f3a0c6b';

function needles(values: string[]): string[] {
  return values.flatMap((v) => [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('hex'), encodeURIComponent(v)]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

let cp: TestControlPlane;
let example: PeerProcess;
let recorder: RunningMcpServer;
const log = captureStream();
const seen: { where: string; text: string }[] = [];
let watchText = '';
const watchAbort = new AbortController();

beforeAll(async () => {
  const [mcpPort, authPort] = await Promise.all([freePort(), freePort()]);
  example = await startPeer(PEERS.sdkOAuthExample, ['--oauth', '--oauth-strict'], { env: { MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, ports: [mcpPort, authPort] });
  recorder = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'x-api-key', value: HEADER_VALUE } });
  cp = await startTestControlPlane({ args: [...GATEWAY_TEST_ARGS, '--log-level', 'trace'], authenticators: testAuthenticators(), logger: createLogger({ level: 'trace', destination: log.stream }) });
  const res = await fetch(`${cp.url}/api/svc/v1/mcp-servers?watch=true`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: watchAbort.signal });
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) watchText += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted at the end
    }
  })();
  await putServer(cp, { name: 'canary-oauth', url: `http://localhost:${mcpPort}/mcp`, auth_data: { type: 'oauth2', grant_type: 'authorization_code' } });
  await putServer(cp, { name: 'canary-header', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': '{{API_KEY}}' } } });
}, 60_000);
afterAll(async () => {
  watchAbort.abort();
  await cp?.dispose();
  await example?.kill();
  await recorder?.close();
});

async function call(where: string, path: string, init: ApiInit = {}) {
  const res = await cp.api(path, init);
  seen.push({ where: `${init.method ?? 'GET'} ${path} (${where})`, text: `${JSON.stringify(Object.fromEntries(res.headers))}\n${res.text}` });
  return res;
}

async function browse(url: string): Promise<void> {
  let next = url;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(next, { redirect: 'manual' });
    const text = await res.text();
    seen.push({ where: `browser ${new URL(next).pathname}`, text: `${JSON.stringify(Object.fromEntries(res.headers))}\n${text}` });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return;
    next = new URL(location, next).href;
  }
}

it('finds no per-user credential anywhere: answers, logs, events, metrics, watch, raw database bytes', async () => {
  // Alice sets a header value and connects her account; Bob sets a value of his own.
  await call('alice sets', '/api/svc/v1/mcp-servers/name/canary-header/credentials', { method: 'PUT', token: ALICE_TOKEN, body: { values: { API_KEY: HEADER_VALUE } } });
  await call('bob sets', '/api/svc/v1/mcp-servers/name/canary-header/credentials', { method: 'PUT', token: BOB_TOKEN, body: { values: { API_KEY: BOB_VALUE } } });
  const started = await call('authorize', '/api/svc/v1/mcp-servers/name/canary-oauth/oauth/authorize', { method: 'POST', token: ALICE_TOKEN });
  await browse(started.json.data.authorizationUrl);

  // Both used through the gateway (Bob's value is refused by the upstream: the refusal is an answer too).
  for (const name of ['canary-header', 'canary-oauth']) {
    const c = await connectClient(cp, name, ALICE_TOKEN);
    const tools = await c.client.listTools();
    seen.push({ where: `gateway ${name} tools/list`, text: JSON.stringify(tools) });
    await c.client.close();
  }
  const bob = await fetch(`${cp.url}/mcp/canary-header`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${BOB_TOKEN}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
  seen.push({ where: 'gateway canary-header as bob', text: await bob.text() });
  expect(bob.status).toBe(401);

  for (const token of [ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN]) {
    await call('list', '/api/svc/v1/mcp-servers', { token });
    for (const name of ['canary-header', 'canary-oauth']) {
      const one = await call('one', `/api/svc/v1/mcp-servers/name/${name}`, { token });
      await call('events', `/api/svc/v1/mcp-servers/${one.json.data.id}/events`, { token: ADMIN_TOKEN });
    }
    await call('credentials', '/api/svc/v1/mcp-servers/name/canary-header/credentials', { token });
  }
  await call('gateway view', '/api/svc/v1/gateway', { token: ADMIN_TOKEN });
  await call('events', '/api/svc/v1/events?limit=1000');
  await call('metrics', '/metrics');

  // The secrets the control plane holds: read from its credential store (sealed at rest, opened here).
  const credentials = (cp.gateway as SqliteGatewayStore).credentials;
  const oauth = await credentials.getCredential('default:mcp-server:canary-oauth', 'user:alice@example.com', 'oauth');
  const client = await credentials.getCredential('default:mcp-server:canary-oauth', '', 'client');
  expect(oauth?.secrets.access_token).toBeDefined();
  expect(client?.secrets.client_secret).toBeDefined();
  const secrets = [HEADER_VALUE, BOB_VALUE, oauth!.secrets.access_token!, client!.secrets.client_secret!];
  const forms = needles(secrets);
  const leaks: string[] = [];
  const check = (where: string, text: string | Buffer) => {
    for (const n of forms) if (text.includes(n)) leaks.push(`${where}: ${n.slice(0, 12)}…`);
  };
  for (const s of seen) check(s.where, s.text);
  check('watch stream', watchText);
  check('log output', log.text());
  for (const file of filesUnder(cp.dataDir)) check(`while running: ${file}`, readFileSync(file));
  expect(leaks).toEqual([]);
  // The places looked at did carry the servers and their callers' states.
  expect(watchText).toContain('canary-oauth');
  expect(seen.some((s) => s.text.includes('"authenticated"'))).toBe(true);
  expect(seen.find((s) => s.where.startsWith('GET /metrics'))?.text).toContain('mcp_');
  expect(log.text()).toContain('gateway entry applied');

  await cp.stop();
  for (const file of filesUnder(cp.dataDir)) check(`after shutdown: ${file}`, readFileSync(file));
  check('log output after shutdown', log.text());
  expect(leaks).toEqual([]);
}, 60_000);
