// Clients nobody here wrote, through the data plane to server-everything: the MCP Inspector CLI and
// mcp-remote (the stdio bridge desktop clients use), each run as a process of its own against a data
// plane on loopback. mcp-remote gets a throwaway HOME and config dir, no browser and a PATH with node
// alone, so it can neither open a browser nor touch the machine's settings. (mcp-remote with a missing or wrong
// token: token-refusal.test.ts, against the whole control plane.)
import express from 'express';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { waitFor } from '../support/control-plane.js';
import { gatewayEntry } from '../support/gateway-entries.js';
import { freePort, PEERS, startPeer, type PeerProcess } from '../support/peer-process.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOOPBACK_ONLY = join(ROOT, 'test', 'support', 'loopback-listen.mjs');
const INSPECTOR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/index.js');
const MCP_REMOTE = join(ROOT, 'node_modules/mcp-remote/dist/proxy.js');
const TOKEN = 'clients-test-token-0123456789';

let dir: string;
let store: SqliteGatewayStore;
let dataPlane: DataPlane;
let http: Server;
let base: string;
let everything: PeerProcess;

beforeAll(async () => {
  const port = await freePort();
  everything = await startPeer(PEERS.everything, ['streamableHttp'], { env: { PORT: String(port) }, ports: [port] });
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-clients-'));
  store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  await store.apply(gatewayEntry('everything', `http://127.0.0.1:${port}/mcp`, { disabledTools: ['get-env'] }));
  dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(TOKEN, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    connectTimeoutMs: 5000,
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});
afterAll(async () => {
  await dataPlane.close();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
  await store.close();
  await everything.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` to its end (killed after `timeoutMs`), in a throwaway HOME. */
function runNode(script: string, args: string[], cwd?: string, timeoutMs = 60_000): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'mcp-cp-client-home-'));
  return new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, script, ...args], {
      cwd: cwd ?? home,
      env: { PATH: dirname(process.execPath), HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth'), BROWSER: 'false', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

// The Inspector CLI finds its package.json (its client name) by a path relative to the working directory.
const inspector = (...args: string[]) =>
  runNode(INSPECTOR, [`${base}/everything`, '--transport', 'http', '--header', `Authorization: Bearer ${TOKEN}`, ...args], dirname(INSPECTOR));

it('serves the MCP Inspector CLI: tools/list without disabled tools, a call, and an unknown tool as a result with isError (exit 0)', async () => {
  const listed = await inspector('--method', 'tools/list');
  expect(listed.code).toBe(0);
  const names = (JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
  expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']));
  expect(names).not.toContain('get-env');

  const called = await inspector('--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hello');
  expect(called.code).toBe(0);
  expect(JSON.parse(called.stdout)).toMatchObject({ content: [{ type: 'text', text: 'Echo: hello' }] });

  const unknown = await inspector('--method', 'tools/call', '--tool-name', 'no-such-tool');
  expect(unknown.code).toBe(0);
  expect(JSON.parse(unknown.stdout)).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('"no-such-tool" is not a tool') }] });
}, 120_000);

it('bridges a desktop client through mcp-remote: initialize, tools/list and tools/call over its stdio', async () => {
  const home = mkdtempSync(join(tmpdir(), 'mcp-cp-client-home-'));
  const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, MCP_REMOTE, `${base}/everything`, '--header', `Authorization:Bearer ${TOKEN}`], {
    cwd: home,
    env: { PATH: dirname(process.execPath), HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth'), BROWSER: 'false', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const answers = new Map<number, { result?: Record<string, unknown>; error?: unknown }>();
  let pending = '';
  child.stdout.on('data', (b: Buffer) => {
    pending += b.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      const message = JSON.parse(line) as { id?: number; result?: Record<string, unknown>; error?: unknown };
      if (typeof message.id === 'number' && ('result' in message || 'error' in message)) answers.set(message.id, message);
    }
  });
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const answer = async (id: number) => {
    await waitFor(() => answers.has(id) || child.exitCode !== null, { what: `mcp-remote's answer ${id}`, timeoutMs: 30_000 });
    if (!answers.has(id)) throw new Error(`mcp-remote exited (${child.exitCode}):\n${stderr}`);
    return answers.get(id)!;
  };
  try {
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'desktop', version: '1' } } });
    expect((await answer(1)).result).toMatchObject({ serverInfo: expect.any(Object) });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const names = ((await answer(2)).result!.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('get-env');
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'from the desktop' } } });
    expect((await answer(3)).result).toMatchObject({ content: [{ type: 'text', text: 'Echo: from the desktop' }] });
  } finally {
    const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    child.kill('SIGKILL');
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
}, 120_000);
