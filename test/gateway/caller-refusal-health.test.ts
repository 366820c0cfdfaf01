// One caller's refused initialize says nothing of the server: the gateway answers that caller 502 and
// reports nothing (no rediscovery, Ready stays True for everyone). An upstream nobody can reach is reported.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { GATEWAY_TEST_ARGS, putServer, testAuthenticators } from './gateway-support.js';

const REFUSED_CLIENT = 'refused-caller';

/** A stateless Streamable HTTP MCP server (JSON answers) that refuses initialize from REFUSED_CLIENT only. */
async function startPickyServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const m = JSON.parse(body) as { id?: number; method: string; params?: { clientInfo?: { name?: string }; protocolVersion?: string } };
      if (m.id === undefined) return void res.writeHead(202).end();
      const answer = (payload: object) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...payload }));
      if (m.method === 'initialize') {
        if (m.params?.clientInfo?.name === REFUSED_CLIENT) return answer({ error: { code: -32001, message: 'this caller may not use the server' } });
        return answer({ result: { protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'picky', version: '1' } } });
      }
      if (m.method === 'tools/list') return answer({ result: { tools: [] } });
      return answer({ error: { code: -32601, message: 'Method not found' } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}

async function connectAs(cp: TestControlPlane, name: string, clientName: string): Promise<unknown> {
  const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } } });
  const client = new Client({ name: clientName, version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => undefined;
  try {
    await client.connect(transport);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.close().catch(() => undefined);
  }
}

let cp: TestControlPlane;
let picky: { url: string; server: Server };
const rediscovered: string[] = [];
beforeAll(async () => {
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
  picky = await startPickyServer();
  // What the gateway reports of an upstream reaches discovery as a rediscovery of it.
  const rediscover = cp.discovery.rediscover.bind(cp.discovery);
  cp.discovery.rediscover = (key: string) => {
    rediscovered.push(key);
    rediscover(key);
  };
});
afterAll(async () => {
  await cp.dispose();
  picky.server.closeAllConnections();
  await new Promise<void>((r) => picky.server.close(() => r()));
});

const ready = async (name: string) =>
  ((await cp.api(`/api/svc/v1/mcp-servers/name/${name}`)).json.data.status.conditions as { type: string; status: string; reason: string }[]).find((c) => c.type === 'Ready');

it('a caller whose initialize the upstream refuses gets an error; nothing is reported and Ready stays True', async () => {
  await putServer(cp, { name: 'picky', url: picky.url });
  expect(await ready('picky')).toMatchObject({ status: 'True' });
  expect(await connectAs(cp, 'picky', 'someone')).toBeUndefined();
  const error = await connectAs(cp, 'picky', REFUSED_CLIENT);
  expect(String(error)).toContain('refused initialize');
  expect(rediscovered).toEqual([]);
  expect(await ready('picky')).toMatchObject({ status: 'True' });
});

it('an upstream that stopped listening is reported (a rediscovery is asked for)', async () => {
  // Discovered while it listened, then it stops.
  const { server: up, url: upUrl } = await startPickyServer();
  await putServer(cp, { name: 'stops', url: upUrl });
  up.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
  const error = await connectAs(cp, 'stops', 'someone');
  expect(error).toBeDefined();
  await waitFor(() => rediscovered.some((k) => k.endsWith(':stops')), { what: 'a rediscovery of the stopped server' });
});
