// The canary: secret values written through PUT (admin and a tokens-file editor), through a watched
// file, and as an OAuth client secret (whose access token is a secret too), are then looked for in
// every response, the log output, the events, the watch stream, /metrics, mcpctl output, and the raw
// bytes of every file of the data directory (both databases and their WAL), while running and after
// shutdown. They are found nowhere.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
};
const EDITOR = 'editor-token-0123456789abcdef';
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

    mkdirSync(manifests);
    writeTokensFile(join(root, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:ed@example.com', role: 'editor', teams: ['ops'] }]);
    cp = await startTestControlPlane({
      dataDir: join(root, 'data'),
      manifests: [manifests],
      args: ['--resync-interval', '200ms', '--tokens-file', join(root, 'tokens.yaml'), '--log-level', 'trace', '--discovery-interval', '500ms'],
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
    await Promise.all([tokens, headerServer, editorServer, oauthServer, echoServer, fileServer].map((s) => s.close()));
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
    for (const name of ['canary-put', 'canary-oauth', 'canary-echo']) {
      const client = new Client({ name: 'canary', version: '1' });
      const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } });
      try {
        await client.connect(transport);
        seen.push({ where: `gateway ${name} tools/list`, text: JSON.stringify(await client.listTools()) });
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

    await cp.stop();
    for (const file of filesUnder(cp.dataDir)) check(`after shutdown: ${file}`, readFileSync(file));
    check('log output after shutdown', log.text());
    expect(leaks).toEqual([]);
  });
});
