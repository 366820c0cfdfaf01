// End to end through the data-plane thread (--data-plane thread), with callers from a tokens file (which
// the thread reads itself): per-user header values set through the API (on the control plane) and filled
// by the thread from its own connection to the store, the caller's sessions ended when they remove them
// (a message to the thread); a dropped client resuming its stream with Last-Event-ID; and an
// mcp-server/stdio server, whose process the thread's own supervisor runs for its sessions.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../../src/auth/authenticator.js';
import { SseParser } from '../../../src/domain/sse-parser.js';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../../support/mcp-servers.js';
import { connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, type GatewayClient } from '../gateway-support.js';
import { startRichUpstream, type RichUpstream } from '../rich-upstream.js';

const ALICE = 'alice-thread-token-0a1b2c3d4e5f';
const NODE = process.execPath;
const STDIO_SERVER = join(import.meta.dirname, '..', '..', 'support', 'stdio-server.mjs');

let dir: string;
let cp: TestControlPlane;
let recorder: RunningMcpServer;
let rich: RichUpstream;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-thread-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- token_sha256: ${sha256Hex(ALICE)}\n  subject: { type: user, slug: alice@example.com, displayName: Alice }\n  teams: []\n  role: viewer\n`);
  recorder = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'x-api-key', accept: (v) => v !== undefined && v.startsWith('k-') } });
  rich = await startRichUpstream();
  cp = await startTestControlPlane({ args: [...GATEWAY_TEST_ARGS, '--data-plane', 'thread', '--tokens-file', tokens, '--allow-stdio', '--stdio-allow', NODE] });
  await putServer(cp, { name: 'keyed', url: recorder.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{KEY_PART}}' } } });
  await putServer(cp, { name: 'rich', url: rich.url });
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await cp?.dispose();
  await recorder?.close();
  await rich?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("fills a caller's own header values on the thread, and ends their sessions when they remove them", async () => {
  expect(cp.config.dataPlane).toBe('thread');
  const credentials = (method: string, body?: unknown) =>
    cp.api('/api/svc/v1/mcp-servers/name/keyed/credentials', { method, token: ALICE, ...(body !== undefined ? { body } : {}) });
  expect((await credentials('PUT', { values: { KEY_PART: 'alice-1' } })).status).toBe(200);
  const before = recorder.requests.length;
  const c = await connectClient(cp, 'keyed', ALICE);
  clients.push(c);
  await c.client.listTools();
  const sent = recorder.requests.slice(before).filter((r) => r.rpcMethod === 'tools/list');
  expect(sent.length).toBeGreaterThan(0);
  for (const r of sent) expect(r.headers['x-api-key']).toBe('k-alice-1');
  await waitFor(() => cp.dataPlane.sessionCount('keyed') === 1, { what: "Alice's session to be counted" });
  expect((await credentials('DELETE')).status).toBe(200);
  await waitFor(() => cp.dataPlane.sessionCount('keyed') === 0, { what: "Alice's session to end" });
});

it('a client that dropped a streamed answer gets it on resuming with Last-Event-ID', async () => {
  const base = `${cp.url}/mcp/rich`;
  const headers = { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const opened = await fetch(base, { method: 'POST', headers, body: JSON.stringify(initialize) });
  expect(opened.status).toBe(200);
  await opened.text();
  const session = { ...headers, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(base, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();

  const read = async (res: Response, until: (messages: unknown[], lastEventId: string | undefined) => boolean) => {
    const messages: unknown[] = [];
    const parser = new SseParser({ onEvent: (e) => void (e.data !== '' && messages.push(JSON.parse(e.data))) });
    const reader = res.body!.getReader();
    while (!until(messages, parser.lastEventId)) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    return { messages, lastEventId: parser.lastEventId, reader };
  };
  const dropped = new AbortController();
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'gate', arguments: {} } };
  const first = await fetch(base, { method: 'POST', headers: session, body: JSON.stringify(call), signal: dropped.signal });
  expect(first.headers.get('content-type')).toBe('text/event-stream');
  const primed = await read(first, (_m, id) => id !== undefined);
  expect(primed.lastEventId).toBeDefined();
  dropped.abort();
  const resumed = await fetch(base, { method: 'GET', headers: { ...session, 'last-event-id': primed.lastEventId! } });
  expect(resumed.status).toBe(200);
  await waitFor(() => rich.gated === 1, { what: 'the upstream to run the call' });
  rich.openGates();
  const answer = await read(resumed, (m) => m.length === 1);
  expect(answer.messages).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'opened' }] } }]);
  await answer.reader.cancel();
});

it('serves an mcp-server/stdio server from a process the thread runs', async () => {
  const put = await cp.api('/api/svc/v1/mcp-servers', {
    method: 'PUT',
    body: { manifest: { type: 'mcp-server/stdio', name: 'local', description: 'A stdio server.', command: NODE, args: [STDIO_SERVER], collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }] } },
  });
  expect(put.status).toBe(200);
  await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/local')).json.data.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), {
    what: 'the stdio server to be Ready',
  });
  const c = await connectClient(cp, 'local', ALICE);
  clients.push(c);
  const called = await c.client.callTool({ name: 'pid', arguments: {} });
  const pid = Number(JSON.parse((called.content as { text: string }[])[0]!.text));
  // The thread's process, not the one discovery ran on the control plane's supervisor.
  expect(pid).toBeGreaterThan(0);
  expect(cp.stdio.info('default:mcp-server:local')?.pid).not.toBe(pid);
  const echoed = await c.client.callTool({ name: 'echo', arguments: { text: 'via stdio' } });
  expect(JSON.stringify(echoed.content)).toContain('via stdio');
});
