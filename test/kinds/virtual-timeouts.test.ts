// A source's timeouts.request_ms holds inside a virtual server: a call the source never answers gets the
// gateway's RequestTimeout error naming the source, and the source is told to cancel it. The source
// holds the call until the test ends, so the outcome does not depend on how fast anything runs.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const API = '/api/svc/v1/mcp-servers';
const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

let cp: TestControlPlane;
let stuck: RunningMcpServer;

beforeAll(async () => {
  stuck = await startMcpServer({ transport: 'streamable-http', tools: [{ name: 'never_returns' }], hang: ['tools/call'] });
  cp = await startTestControlPlane();
  const source = remoteManifest({ name: 'stuck', url: stuck.url, collaborators: everyone, timeouts: { request_ms: 300 } });
  expect((await cp.api(API, { method: 'PUT', body: { manifest: source } })).status).toBe(200);
  const virtual = { type: 'mcp-server/virtual', name: 'stuck-agent', description: 'Over a stuck source', servers: [{ name: 'stuck' }], collaborators: everyone };
  expect((await cp.api(API, { method: 'PUT', body: { manifest: virtual } })).status).toBe(200);
  await waitFor(
    async () => {
      const data = (await cp.api(`${API}/name/stuck-agent`)).json?.data;
      const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
      return c?.status === 'True' && c.observedGeneration === data.generation;
    },
    { what: 'stuck-agent Ready' },
  );
});

afterAll(async () => {
  await cp?.dispose();
  await stuck?.close();
});

it('answers a call past the source\'s request_ms with RequestTimeout naming the source', async () => {
  const client = new Client({ name: 'virtual-timeouts', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/stuck-agent`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  try {
    const error = await client.callTool({ name: 'never_returns', arguments: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.RequestTimeout);
    expect((error as McpError).message).toContain('Source "stuck" of virtual MCP server "stuck-agent" did not answer tools/call within 300 ms');
    // The source was told to stop.
    await waitFor(() => stuck.requests.some((r) => r.rpcMethod === 'notifications/cancelled'), { what: 'notifications/cancelled at the source' });
  } finally {
    await client.close();
  }
});
