// `serve --role gateway`: a replica that serves only the gateway, as a real mcpctl process (from the sources)
// on a real PostgreSQL that a control plane (in-process, its data plane on its thread) writes: /mcp from the
// shared store, /healthz, /readyz, its own /metrics, 404 naming the control plane elsewhere; it advertises
// itself, so a session it holds is served through the control plane's port too; a deletion reaches it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/peer-process.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { numberedTools, startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
const ROOT = join(import.meta.dirname, '..', '..');
const SERVERS = '/api/svc/v1/mcp-servers';

describe('serve --role gateway', () => {
  let upstream: RunningMcpServer;
  let cp: TestControlPlane;
  let gateway: { url: string; child: ChildProcess; output: () => string; exited: Promise<number | null> };
  let dir: string;
  const clients: Client[] = [];

  async function connect(base: string, name: string): Promise<Client> {
    const client = new Client({ name: 'gateway-replica-test', version: '1.0.0' });
    client.onerror = () => undefined;
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-gateway-replica-'));
    const url = (await (await testPostgres()).freshSchema()).url;
    const env = {
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    upstream = await startMcpServer({ transport: 'streamable-http', stateful: true, tools: numberedTools(2) });
    const cpPort = await freePort();
    cp = await startTestControlPlane({ args: ['--store', url, '--lease-duration', '60s', '--port', String(cpPort), '--advertise-url', `http://127.0.0.1:${cpPort}`, '--data-plane', 'thread'], env });
    await waitFor(() => cp.role.isLeader, { what: 'the control plane to lead' });
    const put = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'tools', url: upstream.url }) } });
    expect(put.status).toBe(200);
    await waitFor(async () => (await cp.api(`${SERVERS}/name/tools`)).json.data.tools.length === 2, { what: 'the tools to be discovered' });

    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import', join(ROOT, 'test/support/loopback-listen.mjs'),
        '--import', join(ROOT, 'test/support/ts-worker-register.mjs'),
        join(ROOT, 'src/cli/mcpctl.ts'), 'serve', '--role', 'gateway',
        '--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`, '--data-dir', join(dir, 'gateway'), '--lease-duration', '60s', '--log-level', 'warn',
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', MCP_CP_STORE: url, MCP_CP_ADMIN_TOKEN: ADMIN_TOKEN, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const keep = (b: Buffer) => void (out.length < 200_000 && (out += b.toString()));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    gateway = { url: `http://127.0.0.1:${port}`, child, output: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the gateway replica exited (${child.exitCode}):\n${out}`);
        return (await fetch(`${gateway.url}/readyz`).catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 120_000, what: 'the gateway replica to be ready' },
    );
  }, POSTGRES_START_TIMEOUT_MS + 120_000);
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    if (gateway && gateway.child.exitCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    await cp?.dispose();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves /mcp from the shared store, health and its own metrics, and 404 naming the control plane elsewhere', async () => {
    const client = await connect(gateway.url, 'tools');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
    expect((await client.callTool({ name: 'tool-0001', arguments: {} })).isError).toBeFalsy();
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${gateway.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toMatch(/mcp_gateway_requests_total\{[^}]*server="tools"/);
    const api = await fetch(`${gateway.url}${SERVERS}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { message: string } }).error.message).toMatch(/gateway only.*control plane/);
  });

  it('is listed as a replica, so a session it holds is served through the control plane\'s port as well', async () => {
    await waitFor(async () => (await cp.api('/api/svc/v1/cluster')).json.replicas.some((r: { url: string }) => r.url === gateway.url), { what: 'the gateway replica to be listed' });
    // A session opened on the gateway replica, continued through the control plane.
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await fetch(`${gateway.url}/mcp/tools`, { method: 'POST', headers, body: JSON.stringify(initialize) });
    expect(opened.status).toBe(200);
    await opened.text();
    const session = { ...headers, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const listed = await fetch(`${cp.url}/mcp/tools`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }) });
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('tool-0002');
  });

  it('hears a deletion the control plane made', async () => {
    expect((await cp.api(`${SERVERS}/name/tools`, { method: 'DELETE' })).status).toBeLessThan(300);
    await waitFor(
      async () => {
        const res = await fetch(`${gateway.url}/mcp/tools`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
        });
        await res.text();
        return res.status === 404;
      },
      { what: 'the gateway replica to answer 404 for the deleted server' },
    );
  });
});
