// A missing or wrong bearer token on /mcp/{name}: a 401 with an RFC 6750 challenge and a body that names
// the problem, and, for an OAuth client that starts a sign-in anyway (mcp-remote does on every 401), a
// refusal at the registration endpoint of this origin that says the same. mcp-remote runs as a process of
// its own with a throwaway HOME, no browser and a PATH with node alone.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOOPBACK_ONLY = join(ROOT, 'test', 'support', 'loopback-listen.mjs');
const MCP_REMOTE = join(ROOT, 'node_modules/mcp-remote/dist/proxy.js');

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.dispose();
});

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });

it.each([
  ['no token', undefined, 'Unauthorized', /^Bearer realm="mcp-control-plane"$/, /Send a bearer token/],
  ['a token the gateway does not know', 'not-a-known-token-123', 'InvalidToken', /^Bearer realm="mcp-control-plane", error="invalid_token", error_description="[^"]+"$/, /The bearer token is not valid/],
])('answers %s on /mcp/{name} with 401, a Bearer challenge and a body naming the problem', async (_what, token, code, challenge, message) => {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  for (const method of ['POST', 'GET']) {
    const res = await fetch(`${cp.url}/mcp/anything`, { method, headers, ...(method === 'POST' ? { body: initialize } : {}) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(challenge);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
  }
});

it.each([
  ['no token', undefined, /No bearer token was sent/],
  ['a token the gateway does not know', 'not-a-known-token-123', /The bearer token is not valid/],
  ['a valid token', ADMIN_TOKEN, /The bearer token sent is valid: use it without OAuth/],
])('refuses OAuth registration, authorization and token requests at this origin, saying what to do with %s', async (_what, token, message) => {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  for (const [method, path] of [
    ['POST', '/register'],
    ['GET', '/authorize?response_type=code&client_id=x'],
    ['POST', '/token'],
  ] as const) {
    const res = await fetch(`${cp.url}${path}`, { method, headers, ...(method === 'POST' ? { body: '{"redirect_uris":["http://localhost/cb"]}' } : {}) });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NoOAuthSignIn');
    expect(body.error.message).toMatch(/offers no OAuth sign-in/);
    expect(body.error.message).toMatch(message);
  }
  // Metadata stays absent: there is no authorization server to describe.
  expect((await fetch(`${cp.url}/.well-known/oauth-authorization-server`)).status).toBe(404);
});

interface Run {
  code: number | null;
  stderr: string;
}

/** mcp-remote against `url` with `args`, to its end (killed after 60 s), in a throwaway HOME. */
function mcpRemote(url: string, args: string[]): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'mcp-cp-remote-home-'));
  return new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, MCP_REMOTE, url, ...args], {
      cwd: home,
      env: { PATH: dirname(process.execPath), HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth'), BROWSER: 'false', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      resolve({ code, stderr });
    });
  });
}

it.each([
  ['a wrong token', ['--header', 'Authorization:Bearer not-the-right-token'], 'The bearer token is not valid'],
  ['no token', [], 'No bearer token was sent'],
])('makes mcp-remote with %s exit with a message about the token', async (_what, args, message) => {
  const run = await mcpRemote(`${cp.url}/mcp/everything`, args);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain(message);
  // Not a route that does not exist (which it reported as a failed registration, after trying its other transport).
  expect(run.stderr).not.toMatch(/HTTP 404|falling-back-to-alternate-transport/);
}, 120_000);
