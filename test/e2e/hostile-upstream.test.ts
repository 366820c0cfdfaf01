// One hostile upstream must cost the control plane that server (or that request), never the process:
// with small caps (flags), each hostile server becomes Ready=False ResponseTooLarge, the control plane
// keeps answering, a healthy server keeps working through the gateway, and a huge tools/call answer
// fails only that request with a JSON-RPC error naming the cap.
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { GATEWAY_TEST_ARGS, connectClient, type GatewayClient } from '../gateway/gateway-support.js';
import { gaia } from '../gaia/support.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { INTERNAL_BODY, startHostileUpstream, type HostileUpstream } from '../support/hostile-upstream.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { condition, putServer, waitForReady } from '../support/servers-api.js';

const CAP = 64 * 1024;

describe('a hostile upstream', () => {
  let cp: TestControlPlane;
  let hostile: HostileUpstream;
  let healthy: RunningMcpServer;
  const clients: GatewayClient[] = [];

  beforeAll(async () => {
    hostile = await startHostileUpstream();
    healthy = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    cp = await startTestControlPlane({
      args: [...GATEWAY_TEST_ARGS, '--upstream-max-message-bytes', '64KiB', '--upstream-max-response-bytes', '256KiB', '--discovery-timeout', '60s'],
    });
    await putServer(cp, remoteManifest({ name: 'healthy', url: healthy.url }));
    await waitForReady(cp, 'healthy', 'True');
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
    await cp.dispose();
    await healthy.close();
    await hostile.close();
  });

  async function callHealthy(): Promise<void> {
    const client = await connectClient(cp, 'healthy');
    clients.push(client);
    const result = await client.client.callTool({ name: 'tool-0001', arguments: {} });
    expect(result.isError).not.toBe(true);
  }

  it.each([
    ['endless-line', 'an event of the stream larger than 65536 bytes'],
    ['endless-event', 'an event of the stream larger than 65536 bytes'],
    ['huge-list', 'an answer larger than 65536 bytes'],
    ['million-tools', 'an answer larger than 65536 bytes'],
  ] as const)('%s: Ready=False ResponseTooLarge; the control plane and a healthy server carry on', async (mode, what) => {
    await putServer(cp, remoteManifest({ name: mode, url: hostile.url(mode), transport: 'streamable-http' }));
    // While the hostile server is being discovered, the control plane answers.
    expect((await cp.api('/healthz', { token: null })).status).toBe(200);
    const server = await waitForReady(cp, mode, 'False', { reason: 'ResponseTooLarge', timeoutMs: 15_000 });
    expect(condition(server, 'Ready')?.message).toContain(what);
    expect(condition(server, 'Ready')?.message).toContain('--upstream-max-message-bytes');
    await waitFor(() => hostile.streaming === 0, { what: 'the hostile stream to be hung up on' });
    expect((await cp.api('/healthz', { token: null })).status).toBe(200);
    await callHealthy();
  }, 30_000);

  it('while a hostile stream is open, the control plane and a healthy server answer', async () => {
    await putServer(cp, remoteManifest({ name: 'held-line', url: hostile.url('held-line'), transport: 'streamable-http' }));
    await waitFor(() => hostile.streaming > 0, { what: 'the hostile stream to be open', timeoutMs: 15_000 });
    expect((await cp.api('/healthz', { token: null })).status).toBe(200);
    expect((await cp.api('/api/svc/v1/mcp-servers')).status).toBe(200);
    await callHealthy();
    expect(hostile.streaming).toBeGreaterThan(0);
    hostile.release();
    await waitForReady(cp, 'held-line', 'False', { reason: 'ResponseTooLarge', timeoutMs: 15_000 });
    await waitFor(() => hostile.streaming === 0, { what: 'the hostile stream to be hung up on' });
  }, 30_000);

  it.each([
    ['JSON', undefined],
    ['an event stream', 'sse'],
  ] as const)('a huge tools/call answer as %s fails that request alone, with a JSON-RPC error', async (_kind, query) => {
    const name = query ? 'huge-call-sse' : 'huge-call';
    await putServer(cp, remoteManifest({ name, url: hostile.url('huge-call', query), transport: 'streamable-http' }));
    await waitForReady(cp, name, 'True');
    const client = await connectClient(cp, name);
    clients.push(client);
    const abandonedBefore = hostile.abandoned;
    const error = await client.client.callTool({ name: 'big', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32603);
    expect((error as McpError).message).toContain(`larger than ${CAP} bytes`);
    expect((error as McpError).message).toContain('--upstream-max-message-bytes');
    await waitFor(() => hostile.abandoned > abandonedBefore && hostile.streaming === 0, { what: 'the huge answer to be hung up on' });
    // The same session goes on.
    const small = await client.client.callTool({ name: 'small', arguments: {} });
    expect(small.content).toEqual([{ type: 'text', text: 'small answer' }]);
    await callHealthy();
    expect((await cp.api('/healthz', { token: null })).status).toBe(200);
  }, 30_000);

  it("the validate answer about an internal service shows none of its body's keys", async () => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: { projectId: 'proj-h', name: 'Internal', transportType: 'http', url: hostile.url('internal-json') } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: false, status: 'protocol_error' });
    for (const key of Object.keys(INTERNAL_BODY).filter((k) => k !== 'jsonrpc')) expect(res.json.message).not.toContain(key);
    expect(res.json.message).not.toMatch(/["{[]/);
  });

  it('validate names an oversized answer response_too_large', async () => {
    const res = await gaia(cp, '/validate', { method: 'POST', body: { projectId: 'proj-h', name: 'Huge', transportType: 'http', url: hostile.url('huge-list') } });
    expect(res.json).toMatchObject({ valid: false, status: 'response_too_large', message: expect.stringContaining('larger than 65536 bytes') });
  }, 15_000);
});
