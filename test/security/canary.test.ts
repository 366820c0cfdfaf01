// The canary: secret values written through PUT (admin and a tokens-file editor), through a watched
// file, and as an OAuth client secret (whose access token is a secret too), are then looked for in
// every response, the log output, the events, the watch stream, /metrics, mcpctl output, and the raw
// bytes of every file of the data directory (both databases and their WAL), while running and after
// shutdown. They are found nowhere. The places the hardening added are driven too: GAIA PATCH answers
// (a refused move and an accepted edit), the bounded answer to a body of thousands of unknown fields,
// the JWT minted for a passthrough upstream, ResponseTooLarge from an upstream that echoes the secret
// header in a huge answer, Generation-ETag, the TakenOver and PrunePending events of file-declared
// servers, and ${file:...} references that are a symlink out of the secrets directory or a FIFO.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runApply } from '../../src/cli/apply.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runDiff } from '../../src/cli/diff.js';
import { runGet } from '../../src/cli/get.js';
import type { CliCommand } from '../../src/cli/io.js';
import { runValidate } from '../../src/cli/validate.js';
import { createLogger } from '../../src/logger.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type ApiInit, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, startOAuthTokenServer, type RunningMcpServer, type RunningOAuthTokenServer } from '../support/mcp-servers.js';
import { workspace, type Workspace } from '../cli/cli-support.js';
import { captureStream, writeTokensFile } from './support.js';

const CANARY = {
  putHeader: 'CANARY-put-header-1b9f3e7a52',
  putExtra: 'CANARY-put-extra-84c1d0f6e3',
  editorHeader: 'CANARY-editor-header-2e6a9c4d17',
  clientSecret: 'CANARY-client-secret-5f0b8e2c91',
  fileHeader: 'CANARY-file-header-7d3c1a9e40',
  echoed: 'CANARY-echoed-by-upstream-6a2f8d1b3c',
  refused: 'CANARY-in-a-refused-body-9e4b7c2a15',
  passExtra: 'CANARY-passthrough-extra-3c8e1f0a67',
  tooLarge: 'CANARY-echoed-in-a-huge-answer-0d5a7b3e91',
  taken: 'CANARY-taken-over-from-a-file-8b2e6f4c03',
  pruned: 'CANARY-prune-pending-file-4f1d9a6e27',
  outside: 'CANARY-outside-the-secrets-dir-6e0c3b8f14',
};
const EDITOR = 'editor-token-0123456789abcdef';
const GAIA = '/api/mcp/servers';
/** The largest upstream message read; the echoing upstream answers far more. */
const MAX_MESSAGE = 64 * 1024;

/**
 * An MCP upstream that answers initialize with one answer far larger than MAX_MESSAGE, made of the Authorization
 * it got: JSON at /mcp, one event at /sse, an HTML error page at /html; and small answers quoting it: a page at
 * /page, plain text at /text, a JSON-RPC error at /rpc; and at /flaky a working server whose tools/call does that.
 */
async function startEchoingGiant(): Promise<{ url: string; base: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const asked = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { id?: unknown };
      if (asked.id === undefined) return void res.writeHead(202).end();
      const echo = ` ${String(req.headers.authorization)} `.repeat(Math.ceil((4 * MAX_MESSAGE) / 40));
      if (req.url === '/sse') return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: asked.id, error: { code: -32000, message: echo } })}\n\n`);
      // Not MCP at all: an error page quoting the credential, which an excerpt of the answer would show.
      if (req.url === '/html') return void res.writeHead(502, { 'content-type': 'text/html' }).end(`<html><body>bad gateway for ${String(req.headers.authorization)}${echo}</body></html>`);
      // A working server whose tools/call fails with plain text quoting the credential (the gateway relays the failure).
      if (req.url === '/flaky') {
        const { method } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { method: string };
        const result =
          method === 'initialize'
            ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'flaky', version: '1' } }
            : method === 'tools/list'
              ? { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }
              : undefined;
        if (result) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: asked.id, result }));
        return void res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream refused credential ${String(req.headers.authorization)} for this call`);
      }
      // Small answers quoting the credential in words, which an excerpt of the answer could show.
      if (req.url === '/text') return void res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream refused credential ${String(req.headers.authorization)} for this route`);
      if (req.url === '/rpc') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: asked.id, error: { code: -32000, message: `credential ${String(req.headers.authorization)} refused` } }));
      // The same page, small enough to be read (and quoted in part).
      if (req.url === '/page') return void res.writeHead(502, { 'content-type': 'text/html' }).end(`<html><body>bad gateway for ${String(req.headers.authorization)} (try again)</body></html>`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: asked.id, error: { code: -32000, message: echo } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The decoded header and claims of a compact JWT. */
function decodeJwt(token: string): string {
  return token
    .split('.')
    .slice(0, 2)
    .map((part) => Buffer.from(part, 'base64url').toString('utf8'))
    .join('\n');
}
const API = '/api/svc/v1/mcp-servers';

/** The canaries and the forms a careless encoder would leave them in. */
function needles(values: string[]): string[] {
  return values.flatMap((v) => [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('hex'), encodeURIComponent(v)]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the secret canary is found nowhere', () => {
  let cp: TestControlPlane;
  let root: string;
  let manifests: string;
  let ws: Workspace;
  const log = captureStream();
  let headerServer: RunningMcpServer;
  let editorServer: RunningMcpServer;
  let oauthServer: RunningMcpServer;
  let echoServer: RunningMcpServer;
  let fileServer: RunningMcpServer;
  let passServer: RunningMcpServer;
  let giant: Awaited<ReturnType<typeof startEchoingGiant>>;
  let tokens: RunningOAuthTokenServer;
  /** Everything any interface answered: bodies, headers, CLI output, stream text. */
  const seen: { where: string; text: string }[] = [];
  let watchText = '';
  const watchAbort = new AbortController();

  const call = async (label: string, path: string, init: ApiInit = {}) => {
    const r = await cp.api(path, init);
    seen.push({ where: `${init.method ?? 'GET'} ${path} (${label})`, text: `${JSON.stringify([...r.headers])}\n${r.text}` });
    return r;
  };
  const cli = async (label: string, command: CliCommand, argv: string[], token = ADMIN_TOKEN) => {
    const r = await ws.run(command, argv, { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: token });
    seen.push({ where: `mcpctl ${label}`, text: r.stdout + r.stderr });
    return r;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mcp-canary-'));
    manifests = join(root, 'manifests');
    ws = workspace();
    tokens = await startOAuthTokenServer({ clientId: 'canary-client', clientSecret: CANARY.clientSecret });
    headerServer = await startMcpServer({ transport: 'streamable-http', tools: 2, requireHeader: { name: 'authorization', value: `Bearer ${CANARY.putHeader}` } });
    editorServer = await startMcpServer({ transport: 'sse', tools: 1, requireHeader: { name: 'x-api-key', value: CANARY.editorHeader } });
    oauthServer = await startMcpServer({ transport: 'streamable-http', tools: 1, requireHeader: { name: 'authorization', accept: (v) => tokens.acceptsBearer(v) } });
    // A careless upstream that echoes the credential it refuses.
    echoServer = await startMcpServer({
      transport: 'streamable-http',
      requireHeader: { name: 'authorization', accept: () => false, wwwAuthenticate: `Bearer error="invalid_token", error_description="bad token Bearer ${CANARY.echoed}"` },
    });
    fileServer = await startMcpServer({ transport: 'streamable-http', tools: 1, requireHeader: { name: 'authorization', value: `Bearer ${CANARY.fileHeader}` } });
    passServer = await startMcpServer({ transport: 'streamable-http', tools: 1 });
    giant = await startEchoingGiant();

    // A secrets directory holding a symlink to a file outside it (which holds a canary) and a FIFO: neither is read.
    const secretsDir = join(root, 'secrets');
    mkdirSync(secretsDir);
    writeFileSync(join(root, 'outside.txt'), CANARY.outside);
    symlinkSync(join(root, 'outside.txt'), join(secretsDir, 'escape'));
    execFileSync('mkfifo', [join(secretsDir, 'fifo')]);

    mkdirSync(manifests);
    writeTokensFile(join(root, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:ed@example.com', role: 'editor', teams: ['ops'] }]);
    cp = await startTestControlPlane({
      dataDir: join(root, 'data'),
      manifests: [manifests],
      args: [
        '--resync-interval', '200ms', '--tokens-file', join(root, 'tokens.yaml'), '--log-level', 'trace', '--discovery-interval', '500ms',
        '--secrets-dir', join(root, 'secrets'), '--upstream-max-message-bytes', String(MAX_MESSAGE), '--prune-quiet-period', '1h',
      ],
      logger: createLogger({ level: 'trace', destination: log.stream }),
    });
    // The watch stream, open from before the first write to the end.
    const res = await fetch(`${cp.url}${API}?watch=true`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: watchAbort.signal });
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) watchText += decoder.decode(chunk, { stream: true });
      } catch {
        // aborted at the end
      }
    })();
  });

  afterAll(async () => {
    watchAbort.abort();
    await cp.dispose();
    ws.dispose();
    await Promise.all([tokens, headerServer, editorServer, oauthServer, echoServer, fileServer, passServer, giant].map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  });

  const collaborators = [
    { subject: 'user:ed@example.com', role_id: 'mcp-server-manager' },
    { subject: 'team:everyone', role_id: 'mcp-server-user' },
  ];
  const headerManifest = () => ({
    type: 'mcp-server/remote',
    name: 'canary-put',
    description: 'canary through PUT',
    url: headerServer.url,
    collaborators,
    auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY.putHeader}` } },
    additional_headers: { 'X-Extra': CANARY.putExtra },
  });

  it('writes the canaries, drives every interface, and finds them nowhere', async () => {
    // Through PUT as the break-glass admin and as an editor from the tokens file.
    expect((await call('admin create', API, { method: 'PUT', body: { manifest: headerManifest() } })).status).toBe(200);
    const editorPut = await call('editor create', API, {
      method: 'PUT',
      token: EDITOR,
      body: {
        manifest: {
          type: 'mcp-server/remote', name: 'canary-editor', description: 'editor', url: editorServer.url, collaborators,
          auth_data: { type: 'header', headers: { 'X-Api-Key': CANARY.editorHeader } },
        },
      },
    });
    expect(editorPut.status).toBe(200);
    expect((await call('oauth create', API, {
      method: 'PUT',
      token: EDITOR,
      body: {
        manifest: {
          type: 'mcp-server/remote', name: 'canary-oauth', description: 'oauth', url: oauthServer.url, collaborators,
          auth_data: { type: 'oauth2', grant_type: 'client_credentials', token_url: tokens.tokenUrl, client_id: 'canary-client', client_secret: CANARY.clientSecret },
        },
      },
    })).status).toBe(200);
    expect((await call('echo create', API, {
      method: 'PUT',
      body: { manifest: { type: 'mcp-server/remote', name: 'canary-echo', description: 'echo', url: echoServer.url, collaborators, auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY.echoed}` } } } },
    })).status).toBe(200);
    // Through a watched file.
    writeFileSync(
      join(manifests, 'canary.yaml'),
      `type: mcp-server/remote\nname: canary-file\ndescription: through a file\nurl: ${fileServer.url}\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\nauth_data:\n  type: header\n  headers:\n    Authorization: Bearer ${CANARY.fileHeader}\n`,
    );

    // Every real upstream answers with the real secret (so the secrets were stored and used), the echoing one refuses.
    const ready = (name: string, status: string) =>
      waitFor(async () => {
        const r = await cp.api(`${API}/name/${name}`);
        return r.json?.data?.status.conditions.find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === status);
      }, { what: `${name} Ready=${status}`, timeoutMs: 10_000 });
    await Promise.all([ready('canary-put', 'True'), ready('canary-editor', 'True'), ready('canary-oauth', 'True'), ready('canary-file', 'True'), ready('canary-echo', 'False')]);
    expect(tokens.issued.length).toBeGreaterThan(0);

    // Refused input carrying a canary: malformed JSON, an invalid manifest, a masked value with nothing behind it.
    const bad = `{"manifest":{"auth_data":{"type":"header","headers":{"Authorization":"${CANARY.refused}"}}, "x": tru}`;
    expect((await call('malformed', API, { method: 'PUT', rawBody: bad, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call('malformed 2', API, { method: 'PUT', rawBody: `{"manifest":${CANARY.refused}}`, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const invalid = { ...headerManifest(), name: 'canary-invalid', url: 'not a url', auth_data: { type: 'header', headers: { Authorization: CANARY.refused } } };
    expect((await call('invalid', API, { method: 'PUT', body: { manifest: invalid } })).status).toBe(400);
    expect((await call('invalid type', API, { method: 'PUT', body: { manifest: { ...headerManifest(), auth_data: { type: 'header', headers: { Authorization: 12 } }, additional_headers: { 'X-Extra': CANARY.refused, 'X-Num': 7 } } } })).status).toBe(400);
    const foreign = { ...headerManifest(), name: 'canary-foreign', ownedBy: { account: 'elsewhere' }, additional_headers: { 'X-Extra': CANARY.refused } };
    expect((await call('forbidden', API, { method: 'PUT', token: EDITOR, body: { manifest: foreign } })).status).toBe(403);

    // A dry-run diff of a rotated secret, the masked round trip, an update and a rotation.
    const dry = await call('dry run', API, { method: 'PUT', body: { dryRun: true, manifest: { ...headerManifest(), additional_headers: { 'X-Extra': `${CANARY.putExtra}-rotated` } } } });
    expect(dry.json.diff).toEqual([{ op: 'replace', path: '/additional_headers/X-Extra', secret: true }]);
    const got = await call('get', `${API}/name/canary-put`);
    expect((await call('masked round trip', API, { method: 'PUT', body: { manifest: { ...got.json.data.manifest, description: 'round trip' } } })).json.action).toBe('UPDATE');

    // GAIA PATCH by the editor: a move of the url is refused (the stored key stays with its destination); an edit
    // that resends the key, and one of the OAuth server that does not touch its secret, are answered masked.
    const editorId = editorPut.json.data.id as string;
    expect((await call('gaia patch move', `${GAIA}/${editorId}`, { method: 'PATCH', token: EDITOR, body: { url: 'http://127.0.0.1:9/moved' } })).status).toBe(403);
    expect((await call('gaia patch resend', `${GAIA}/${editorId}`, { method: 'PATCH', token: EDITOR, body: { description: 'patched', customHeaders: { 'X-Api-Key': CANARY.editorHeader } } })).status).toBe(200);
    const oauthId = (await cp.api(`${API}/name/canary-oauth`)).json.data.id as string;
    expect((await call('gaia patch oauth', `${GAIA}/${oauthId}`, { method: 'PATCH', token: EDITOR, body: { description: 'patched too' } })).status).toBe(200);
    await call('gaia get', `${GAIA}/${oauthId}`, { token: EDITOR });
    await call('gaia list', GAIA, { token: EDITOR });

    // Thousands of unknown fields around a secret: the bounded answer (the first errors and a count) shows none.
    const wide: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) wide[`u${i}`] = CANARY.refused;
    const wideRes = await call('unknown fields', API, { method: 'PUT', token: EDITOR, body: { manifest: { ...headerManifest(), name: 'canary-wide', additional_headers: { 'X-Extra': CANARY.refused }, ...wide } } });
    expect(wideRes.status).toBe(400);
    expect(wideRes.text).toContain('more errors not shown');
    const wideGaia = await call('gaia unknown fields', GAIA, { method: 'POST', token: EDITOR, body: { name: 'Canary Wide', transportType: 'http', url: 'http://127.0.0.1:9/mcp', customHeaders: { 'X-Api-Key': CANARY.refused }, ...wide } });
    expect(wideGaia.status).toBe(400);

    // A passthrough server with a secret header: the JWT minted for it carries no manifest secret.
    expect((await call('passthrough create', API, {
      method: 'PUT',
      body: { manifest: { type: 'mcp-server/remote', name: 'canary-pass', description: 'passthrough', url: passServer.url, collaborators, auth_data: { type: 'passthrough' }, additional_headers: { 'X-Extra': CANARY.passExtra } } },
    })).status).toBe(200);
    // An upstream that echoes the secret header into an answer far over the limit: ResponseTooLarge, with no secret in it.
    expect((await call('giant create', API, {
      method: 'PUT',
      body: { manifest: { type: 'mcp-server/remote', name: 'canary-giant', description: 'giant', url: giant.url, collaborators, auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY.tooLarge}` } } } },
    })).status).toBe(200);
    for (const path of ['sse', 'html', 'page', 'text', 'rpc', 'flaky']) {
      expect((await call(`giant ${path} create`, API, {
        method: 'PUT',
        body: { manifest: { type: 'mcp-server/remote', name: `canary-giant-${path}`, description: 'giant', url: `${giant.base}/${path}`, collaborators, auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY.tooLarge}` } } } },
      })).status).toBe(200);
    }
    // References that are a symlink out of the secrets directory, and a FIFO: SecretNotFound, nothing read.
    for (const [name, ref] of [['canary-escape', '${file:escape}'], ['canary-fifo', '${file:fifo}']] as const) {
      expect((await call(`${name} create`, API, {
        method: 'PUT',
        body: { manifest: { type: 'mcp-server/remote', name, description: name, url: 'http://127.0.0.1:9/mcp', collaborators, additional_headers: { 'X-Key': ref } } },
      })).status).toBe(200);
    }
    // File-declared servers with secrets: one taken over by the admin (TakenOver), one whose file is emptied (PrunePending).
    const fileManifest = (name: string, secret: string) =>
      `type: mcp-server/remote\nname: ${name}\ndescription: from a file\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\nadditional_headers:\n  X-Key: ${secret}\n`;
    writeFileSync(join(manifests, 'taken.yaml'), fileManifest('canary-taken', CANARY.taken));
    writeFileSync(join(manifests, 'pruned.yaml'), fileManifest('canary-pruned', CANARY.pruned));
    await waitFor(async () => (await cp.api(`${API}/name/canary-taken`)).status === 200 && (await cp.api(`${API}/name/canary-pruned`)).status === 200, { what: 'the file-declared servers' });
    const takenOver = await call('take over', API, {
      method: 'PUT',
      body: { force: true, manifest: { type: 'mcp-server/remote', name: 'canary-taken', description: 'taken over', url: 'http://127.0.0.1:9/mcp', collaborators, additional_headers: { 'X-Key': CANARY.taken } } },
    });
    expect(takenOver.status).toBe(200);
    writeFileSync(join(manifests, 'pruned.yaml'), '');
    const eventsOf = async (name: string) => {
      const id = (await cp.api(`${API}/name/${name}`)).json.data.id as string;
      return (await call(`events of ${name}`, `${API}/${id}/events`)).json.data as { reason: string }[];
    };
    await waitFor(async () => (await eventsOf('canary-pruned')).some((e) => e.reason === 'PrunePending'), { what: 'PrunePending of canary-pruned' });
    expect((await eventsOf('canary-taken')).some((e) => e.reason === 'TakenOver')).toBe(true);

    const readyFalse = (name: string, reason: string) =>
      waitFor(async () => {
        const r = await call(`status of ${name}`, `${API}/name/${name}`);
        return r.json?.data?.status.conditions.find((c: { type: string; status: string; reason: string }) => c.type === 'Ready' && c.status === 'False' && c.reason === reason);
      }, { what: `${name} Ready=False ${reason}`, timeoutMs: 10_000 });
    const failed = (name: string) =>
      waitFor(async () => (await call(`status of ${name}`, `${API}/name/${name}`)).json?.data?.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'False'), { what: `${name} Ready=False` });
    await Promise.all([failed('canary-giant-page'), failed('canary-giant-text'), failed('canary-giant-rpc'), readyFalse('canary-giant', 'ResponseTooLarge'), readyFalse('canary-giant-sse', 'ResponseTooLarge'), readyFalse('canary-giant-html', 'ResponseTooLarge'), readyFalse('canary-escape', 'SecretNotFound'), readyFalse('canary-fifo', 'SecretNotFound')]);
    await waitFor(async () => (await cp.api(`${API}/name/canary-pass`)).json?.data?.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), { what: 'canary-pass Ready' });
    const passFrom = passServer.requests.length;
    await waitFor(async () => (await cp.api(`${API}/name/canary-giant-flaky`)).json?.data?.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), { what: 'canary-giant-flaky Ready' });

    // Every read interface, as admin and as the editor.
    for (const token of [ADMIN_TOKEN, EDITOR]) {
      const list = await call('list', `${API}?limit=1000`, { token });
      for (const s of list.json.data as { id: string; name: string }[]) {
        await call('one', `${API}/${s.id}`, { token });
        await call('by name', `${API}/name/${s.name}`, { token });
        await call('events of one', `${API}/${s.id}/events`, { token });
      }
      await call('events', '/api/svc/v1/events?limit=1000', { token });
      await call('gateway', '/api/svc/v1/gateway/servers', { token });
      await call('sources', '/api/svc/v1/sources', { token });
    }
    await call('metrics', '/metrics');
    await call('openapi', '/openapi.json');
    await call('readyz', '/readyz', { token: null });

    // The gateway data plane, used as an MCP client would.
    for (const name of ['canary-put', 'canary-oauth', 'canary-echo', 'canary-pass', 'canary-giant', 'canary-giant-sse', 'canary-giant-html', 'canary-giant-page', 'canary-giant-text', 'canary-giant-rpc', 'canary-giant-flaky']) {
      const client = new Client({ name: 'canary', version: '1' });
      const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } });
      try {
        await client.connect(transport);
        seen.push({ where: `gateway ${name} tools/list`, text: JSON.stringify(await client.listTools()) });
        if (name === 'canary-giant-flaky') seen.push({ where: `gateway ${name} tools/call`, text: JSON.stringify(await client.callTool({ name: 'echo', arguments: {} }).catch((err: Error) => ({ failed: `${err.message} ${JSON.stringify(err)}` }))) });
      } catch (err) {
        seen.push({ where: `gateway ${name} error`, text: String(err instanceof Error ? `${err.message} ${JSON.stringify(err)}` : err) });
      } finally {
        await client.close().catch(() => undefined);
      }
    }

    // mcpctl, against the running server and offline.
    ws.write('put.yaml', `${JSON.stringify({ ...headerManifest(), description: 'round trip' })}\n`);
    ws.write('bad.yaml', `${JSON.stringify({ ...headerManifest(), url: 'nope', additional_headers: { 'X-Extra': CANARY.refused } })}\n`);
    await cli('get', runGet, []);
    await cli('get -o json', runGet, ['-o', 'json']);
    await cli('get -o yaml', runGet, ['-o', 'yaml']);
    for (const name of ['canary-put', 'canary-editor', 'canary-oauth', 'canary-file', 'canary-echo']) await cli(`describe ${name}`, runDescribe, [name]);
    await cli('describe as editor', runDescribe, ['canary-oauth'], EDITOR);
    await cli('diff', runDiff, ['-f', 'put.yaml']);
    await cli('apply', runApply, ['-f', 'put.yaml']);
    await cli('apply -o json', runApply, ['-f', 'put.yaml', '-o', 'json']);
    await cli('validate', runValidate, ['-f', 'bad.yaml']);
    await cli('validate -o json', runValidate, ['-f', 'bad.yaml', '-o', 'json']);
    await cli('apply invalid', runApply, ['-f', 'bad.yaml']);

    // Let a few resyncs and rediscoveries (with the real secrets) run, so their logs and events are in too.
    const seenByUpstream = headerServer.requests.length + fileServer.requests.length;
    await waitFor(() => headerServer.requests.length + fileServer.requests.length > seenByUpstream + 6, { what: 'rediscoveries', timeoutMs: 10_000 });
    await cp.controller.waitForIdle();

    const secrets = [...Object.values(CANARY), ...tokens.issued];
    const forms = needles(secrets);
    const leaks: string[] = [];
    const check = (where: string, text: string | Buffer) => {
      for (const n of forms) if (text.includes(n)) leaks.push(`${where}: ${n}`);
    };
    for (const s of seen) check(s.where, s.text);
    // What reached the passthrough upstream: the minted JWT (decoded) and no manifest secret but its own header.
    // (Discovery calls it with no caller, so without one; the gateway with the caller's JWT.)
    const minted = passServer.requests.slice(passFrom).flatMap((r) => (r.headers.authorization ? [String(r.headers.authorization)] : []));
    expect(minted.length).toBeGreaterThan(0);
    for (const bearer of minted) {
      expect(bearer).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      const jwt = decodeJwt(bearer.slice('Bearer '.length));
      expect(jwt).toContain(`"aud":"${passServer.url}"`);
      check('the minted passthrough JWT', jwt);
      for (const n of needles([ADMIN_TOKEN, EDITOR])) if (jwt.includes(n)) leaks.push(`the minted passthrough JWT: ${n}`);
    }
    check('watch stream', watchText);
    check('log output', log.text());
    for (const file of filesUnder(cp.dataDir)) check(`while running: ${file}`, readFileSync(file));
    expect(leaks).toEqual([]);

    // The interfaces did carry the resources (so the test looked where the secrets would have been).
    expect(watchText).toContain('canary-oauth');
    expect(watchText).toContain('********');
    expect(log.text()).toContain('gateway entry applied');
    expect(seen.find((s) => s.where.startsWith('GET /metrics'))?.text).toContain('mcp_');
    expect(seen.find((s) => s.where === 'mcpctl describe canary-echo')?.text).toMatch(/401/);
    expect(seen.some((s) => s.where.startsWith('gateway canary-put tools/list'))).toBe(true);
    expect(seen.some((s) => s.text.includes('"generation-etag"'))).toBe(true);
    const allEvents = seen.find((s) => s.where.startsWith('GET /api/svc/v1/events?'))?.text;
    expect(allEvents).toContain('TakenOver');
    expect(allEvents).toContain('PrunePending');
    const giantStatus = [...seen].reverse().find((s) => s.where.includes('(status of canary-giant)'))!.text;
    expect(giantStatus).toContain('ResponseTooLarge');
    // The failed call through the gateway quoted the upstream's words, with the credential taken out.
    expect(seen.find((s) => s.where === 'gateway canary-giant-flaky tools/call')?.text).toContain('upstream refused credential [redacted]');

    await cp.stop();
    for (const file of filesUnder(cp.dataDir)) check(`after shutdown: ${file}`, readFileSync(file));
    check('log output after shutdown', log.text());
    expect(leaks).toEqual([]);
  }, 90_000); // drives every interface of a whole control plane: slow on a loaded 2-core machine
});
