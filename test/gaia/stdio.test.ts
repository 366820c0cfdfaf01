// mcp-server/stdio through the real HTTP server: refused by default, allowed with --allow-stdio and
// --stdio-allow, run with a clean environment, shared by discovery and the gateway, restarted after a
// crash, killed when idle and on delete. The server is test/support/stdio-server.mjs, run by node.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { resourceNameFor } from '../../src/http/gaia/gaia-mapping.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { createServer, gaia, SERVERS, waitForGaiaStatus } from './support.js';

const NODE = process.execPath;
const SCRIPT = join(import.meta.dirname, '..', 'support', 'stdio-server.mjs');
const ENV_CANARY = 'canary-stdio-env-5d8e21c4';

function stdioBody(name: string, extra: Record<string, unknown> = {}) {
  return { projectId: 'proj-stdio', name, transportType: 'stdio', command: NODE, args: [SCRIPT], env: { STDIO_SECRET: ENV_CANARY }, ...extra };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An MCP client session through the gateway at /mcp/<name>. */
async function gatewayClient(cp: TestControlPlane, name: string): Promise<Client> {
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }),
  );
  return client;
}

async function callJson(client: Client, name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  return JSON.parse(content[0]!.text);
}

describe('stdio servers are off unless allowed', () => {
  let cp: TestControlPlane;
  afterEach(async () => {
    await cp.dispose();
  });

  it('refuses a stdio create, validate and PUT with 403 by default, and stores nothing', async () => {
    cp = await startTestControlPlane();
    const created = await gaia(cp, '', { method: 'POST', body: stdioBody('Refused') });
    expect(created.status).toBe(403);
    expect(created.json).toMatchObject({ success: false, message: expect.stringContaining('--allow-stdio') });
    const validated = await gaia(cp, '/validate', { method: 'POST', body: stdioBody('Refused') });
    expect(validated.status).toBe(403);
    const manifest = {
      type: 'mcp-server/stdio',
      name: 'put-stdio',
      description: 'stdio through PUT',
      command: NODE,
      args: [SCRIPT],
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    };
    const put = await cp.api(SERVERS, { method: 'PUT', body: { manifest } });
    expect(put.status).toBe(403);
    expect(put.json.error.message).toContain('--allow-stdio');
    expect((await cp.api(SERVERS)).json.pagination.total).toBe(0);
  });

  it('refuses a command that is not on --stdio-allow, naming the flag', async () => {
    cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', '/usr/bin/true'] });
    const res = await gaia(cp, '', { method: 'POST', body: stdioBody('Not Listed') });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain(`"${NODE}" is not on the control plane's --stdio-allow list`);
    // A name does not allow a path, nor a path a name.
    const byName = await gaia(cp, '', { method: 'POST', body: stdioBody('By Name', { command: 'true' }) });
    expect(byName.status).toBe(403);
  });

  it('--stdio-allow without --allow-stdio is a configuration error', () => {
    expect(() => parseServeConfig(['--stdio-allow', NODE], {})).toThrow(ConfigError);
    expect(() => parseServeConfig(['--stdio-allow', NODE], {})).toThrow(/--allow-stdio/);
  });
});

describe('stdio servers when allowed', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', NODE, '--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('maps the GAIA body onto mcp-server/stdio, discovers it, and never answers env values', async () => {
    const id = await createServer(cp, stdioBody('Local Tools', { args: `${SCRIPT} --flag "two words"`, requestTimeout: 5000 }));
    const name = resourceNameFor('proj-stdio', 'Local Tools');
    const tf = await cp.api(`${SERVERS}/${id}`);
    expect(tf.json.data.manifest).toEqual({
      type: 'mcp-server/stdio',
      name,
      description: 'Local Tools',
      command: NODE,
      args: [SCRIPT, '--flag', 'two words'],
      auth_data: { type: 'env', env: { STDIO_SECRET: '********' }, auth_level: 'global' },
      timeouts: { request_ms: 5000, total_ms: 60000 },
      collaborators: [
        { subject: 'team:everyone', role_id: 'mcp-server-user' },
        { subject: 'user:admin', role_id: 'mcp-server-manager' },
      ],
      tool_settings: [],
      ownedBy: { account: 'proj-stdio' },
      tags: { 'gaia/name': 'Local Tools' },
    });
    const server = await waitForGaiaStatus(cp, id, 'ready');
    expect(server).toMatchObject({
      transportType: 'stdio',
      connectionType: 'proxy',
      url: null,
      command: NODE,
      env: { STDIO_SECRET: '********' },
      detectedTransport: 'stdio',
      toolCount: 4,
      gatewayUrl: `${cp.url}/mcp/${name}`,
    });
    const tools = await gaia(cp, `/${id}/tools`);
    expect(tools.json.tools.map((t: { name: string }) => t.name)).toEqual(['echo', 'env_keys', 'pid', 'slow']);
    const gateway = await cp.api('/api/svc/v1/gateway/servers');
    expect((gateway.json.data as { resourceId: string }[]).find((e) => e.resourceId === id)).toMatchObject({
      stdio: { command: NODE, env: { STDIO_SECRET: '********' } },
    });
    const texts = [tf.text, gateway.text, (await gaia(cp, `/${id}`)).text, (await gaia(cp, '?projectId=proj-stdio')).text, (await cp.api('/api/svc/v1/events')).text];
    for (const text of texts) expect(text).not.toContain(ENV_CANARY);
  });

  it('runs one process with a clean environment, shared by discovery and every gateway session', async () => {
    const id = await createServer(cp, stdioBody('Shared'));
    const name = resourceNameFor('proj-stdio', 'Shared');
    await waitForGaiaStatus(cp, id, 'ready');
    const fqn = `default:mcp-server:${name}`;
    const pid = cp.stdio.info(fqn)?.pid;
    expect(pid).toEqual(expect.any(Number));

    const a = await gatewayClient(cp, name);
    const b = await gatewayClient(cp, name);
    try {
      expect(await callJson(a, 'env_keys')).toEqual(['PATH', 'STDIO_SECRET']);
      expect(await callJson(a, 'pid')).toBe(pid);
      expect(await callJson(b, 'pid')).toBe(pid);
      // Two sessions at once on one process: each gets its own answer.
      const [slow, echo] = await Promise.all([callJson(a, 'slow', { ms: 200 }), callJson(b, 'echo', { text: 'from b' })]);
      expect(slow).toEqual({ slept: 200 });
      expect(echo).toEqual({ text: 'from b' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('restarts a crashed process with backoff, and the gateway works again', async () => {
    const id = await createServer(cp, stdioBody('Crashy'));
    const name = resourceNameFor('proj-stdio', 'Crashy');
    const fqn = `default:mcp-server:${name}`;
    await waitForGaiaStatus(cp, id, 'ready');
    const first = cp.stdio.info(fqn)!.pid!;
    process.kill(first, 'SIGKILL');
    const restarted = await waitFor(() => {
      const info = cp.stdio.info(fqn);
      return info?.state === 'ready' && info.pid !== first ? info : undefined;
    }, { what: 'a new process after the crash' });
    expect(restarted.restarts).toBeGreaterThanOrEqual(1);
    expect(alive(first)).toBe(false);
    const client = await gatewayClient(cp, name);
    try {
      expect(await callJson(client, 'pid')).toBe(restarted.pid);
    } finally {
      await client.close();
    }
  });

  it('kills the process on delete', async () => {
    const id = await createServer(cp, stdioBody('Deleted'));
    const name = resourceNameFor('proj-stdio', 'Deleted');
    const fqn = `default:mcp-server:${name}`;
    await waitForGaiaStatus(cp, id, 'ready');
    const pid = cp.stdio.info(fqn)!.pid!;
    expect(alive(pid)).toBe(true);
    expect((await gaia(cp, `/${id}`, { method: 'DELETE' })).status).toBe(200);
    await waitFor(() => !alive(pid) && cp.stdio.info(fqn) === undefined, { what: 'the process killed on delete' });
    expect((await cp.api(`/mcp/${name}`, { method: 'POST', body: {} })).status).toBe(404);
  });

  it('validates a stdio body by running it once, storing nothing', async () => {
    const before = (await cp.api(SERVERS)).json.pagination.total;
    const res = await gaia(cp, '/validate', { method: 'POST', body: stdioBody('Validate Stdio') });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: true, status: 'connected', detectedTransport: 'stdio', serverInfo: { name: 'test-stdio-server' } });
    expect((await cp.api(SERVERS)).json.pagination.total).toBe(before);
  });

  it('refuses direct and remote-only fields for stdio', async () => {
    const direct = await gaia(cp, '', { method: 'POST', body: stdioBody('Direct Stdio', { connectionType: 'direct' }) });
    expect(direct.status).toBe(400);
    expect(direct.json.errors).toEqual([expect.objectContaining({ path: '/connectionType', message: expect.stringContaining('cannot be direct') })]);
    const url = await gaia(cp, '', { method: 'POST', body: stdioBody('Url Stdio', { url: 'http://127.0.0.1:9/mcp' }) });
    expect(url.status).toBe(400);
    expect(url.json.errors[0]).toMatchObject({ path: '/url' });
    const loader = await gaia(cp, '', { method: 'POST', body: stdioBody('Loader', { env: { LD_PRELOAD: '/tmp/x.so' } }) });
    expect(loader.status).toBe(400);
    expect(loader.json.errors[0]).toMatchObject({ path: '/env/LD_PRELOAD' });
  });
});

describe('stdio processes go when idle', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', NODE, '--resync-interval', '0', '--stdio-idle-timeout', '300ms'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('kills an idle process and starts it again on the next use', async () => {
    const id = await createServer(cp, stdioBody('Idle'));
    const name = resourceNameFor('proj-stdio', 'Idle');
    const fqn = `default:mcp-server:${name}`;
    await waitForGaiaStatus(cp, id, 'ready');
    const pid = await waitFor(() => cp.stdio.info(fqn)?.pid);
    await waitFor(() => !alive(pid) && cp.stdio.info(fqn)?.state === 'stopped', { what: 'the idle process killed' });
    const client = await gatewayClient(cp, name);
    try {
      const again = await callJson(client, 'pid');
      expect(again).not.toBe(pid);
      expect(cp.stdio.info(fqn)?.pid).toBe(again);
    } finally {
      await client.close();
    }
  });
});
