// The data plane reads client bodies itself (json-body.ts); like the API, it refuses one nested deeper
// than it may walk, with a JSON-RPC parse error, before anything relays or re-serialises it.
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { GATEWAY_TEST_ARGS, GATEWAY_TOOLS, connectClient, putServer, type GatewayClient } from './gateway-support.js';

describe('data plane: deeply nested client bodies', () => {
  let cp: TestControlPlane;
  let upstream: RunningMcpServer;
  let client: GatewayClient;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS });
    upstream = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, stateful: true });
    await putServer(cp, { name: 'deep', url: upstream.url });
    client = await connectClient(cp, 'deep');
  });
  afterAll(async () => {
    await client.client.close();
    await upstream.close();
    await cp.dispose();
  });

  const call = (args: string) =>
    fetch(`${cp.url}/mcp/deep`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': client.transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
      body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"\\"[[[","deep":${args}}}}`,
    });

  it.each([20_000, 2_000])('refuses arguments nested %i deep with a parse error, and relays nothing', async (depth) => {
    const calls = () => upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length;
    const before = calls();
    const res = await call(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error).toEqual({ code: -32700, message: expect.stringContaining('nested deeper than') });
    expect(calls()).toBe(before);
  });

  it('relays arguments nested as deep as a tool may need', async () => {
    const res = await call(`${'['.repeat(100)}${']'.repeat(100)}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"id":7');
  });
});
