// Cases the fuzz and canary tests found, kept as plain tests.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { captureStream } from './support.js';

const yaml = (name: string) =>
  `type: mcp-server/remote\nname: ${name}\ndescription: d\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;

describe('a refused file keeps its servers, even when another file of the same batch wants one', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fuzz-regress-'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const files = async () => (await cp.api('/api/svc/v1/sources')).json.data[0].files as { path: string; contentHash: string; errors: { message: string }[] }[];
  const desired = () => {
    const db = new Database(join(cp.dataDir, 'control-plane.db'), { readonly: true });
    try {
      return JSON.stringify(db.prepare('SELECT fqn, spec, source, generation FROM resources ORDER BY fqn').all());
    } finally {
      db.close();
    }
  };

  it('a.yaml is refused at apply (its new name is the API\'s): b.yaml may not take the name a.yaml holds', async () => {
    writeFileSync(join(dir, 'a.yaml'), yaml('held'));
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/held')).status === 200, { what: 'held from a.yaml' });
    expect((await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name: 'api-owned' }) } })).status).toBe(200);
    const before = desired();

    // One batch: a.yaml now declares a name the API manages (refused when applied), b.yaml the name a.yaml held.
    writeFileSync(join(dir, 'a.yaml'), yaml('api-owned'));
    writeFileSync(join(dir, 'b.yaml'), yaml('held'));
    const [a, b] = await waitFor(async () => {
      const f = await files();
      const a = f.find((x) => x.path === 'a.yaml' && x.errors.length > 0);
      const b = f.find((x) => x.path === 'b.yaml');
      return a && b ? [a, b] : undefined;
    }, { what: 'both files synced' });
    expect(a.errors[0]!.message).toContain('is already managed by the API');
    expect(b.errors.map((e) => e.message)).toEqual(['MCP server "held" stays declared in a.yaml, which has errors; fix a.yaml first, then declare it here']);
    expect(desired()).toBe(before);
    expect((await cp.api('/api/svc/v1/mcp-servers/name/held')).json.data.source).toMatchObject({ kind: 'file', path: 'a.yaml' });

    // Once a.yaml is fixed (it declares something else), b.yaml takes the name.
    writeFileSync(join(dir, 'a.yaml'), yaml('other'));
    writeFileSync(join(dir, 'b.yaml'), `${yaml('held')}# again\n`);
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/held')).json.data?.source.path === 'b.yaml', { what: 'held moved to b.yaml' });
  });
});

// Found by the canary: the gateway quoted an upstream's error answer (an excerpt) with the credential the
// upstream echoed in it, to the MCP client and into the log.
describe('an upstream that quotes the credential it refuses, through the gateway', () => {
  const SECRET = 'regression-echoed-credential-5b7e2a9c41';
  let cp: TestControlPlane;
  let upstream: Server;
  let url: string;
  const log = captureStream();
  beforeAll(async () => {
    // Discovers fine; every tools/call is a 502 whose plain-text body quotes the Authorization it got.
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST') return void res.writeHead(405).end();
        const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string };
        if (message.id === undefined) return void res.writeHead(202).end();
        const result =
          message.method === 'initialize'
            ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'echoing', version: '1' } }
            : message.method === 'tools/list'
              ? { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }
              : undefined;
        if (result) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream refused credential ${String(req.headers.authorization)} for this call`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'], logger: createLogger({ level: 'trace', destination: log.stream }) });
  });
  afterAll(async () => {
    await cp.dispose();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('answers the failed call with the upstream\'s words, the credential taken out', async () => {
    const put = await cp.api('/api/svc/v1/mcp-servers', {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'echoing', url, auth_data: { type: 'header', headers: { Authorization: `Bearer ${SECRET}` } } }) },
    });
    expect(put.status).toBe(200);
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/echoing')).json.data.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), { what: 'echoing Ready' });
    const client = new Client({ name: 'regression', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/echoing`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
    try {
      const failure = await client.callTool({ name: 'echo', arguments: {} }).then(
        (r) => JSON.stringify(r),
        (err: Error) => `${err.message} ${JSON.stringify(err)}`,
      );
      expect(failure).toContain('upstream refused credential [redacted] for this call');
      expect(failure).not.toContain(SECRET);
    } finally {
      await client.close();
    }
    expect(log.text()).not.toContain(SECRET);
  });
});

// Found by the fuzz test (FUZZ_SEED=532584829): a name a file dropped was kept because a refused file
// declared it; when the refused file, still refused, stopped declaring it, that read pruned the name at once.
// The contract: a refused read changes no stored state, so what the file declared before still counts as
// declared (as Flux keeps the inventory of a failed build) until the file reads cleanly.
describe('a refused file that stops declaring a name another file dropped', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fuzz-regress-'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0', '--prune-quiet-period', '1h'] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const fileOf = async (path: string, text: string) => {
    writeFileSync(join(dir, path), text);
    const hash = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    return waitFor(async () => ((await cp.api('/api/svc/v1/sources')).json.data[0].files as { path: string; contentHash: string; errors: { message: string }[] }[]).find((f) => f.path === path && f.contentHash === hash), { what: `${path} synced` });
  };
  /** Declares the name, but is refused (a schema error, so the name is known). */
  const broken = (name: string) => yaml(name).replace('http://127.0.0.1:9/mcp', 'not a url');

  it('keeps the name (held by the file that dropped it) and deletes nothing', async () => {
    await fileOf('a.yaml', yaml('moving'));
    expect((await fileOf('b.yaml', broken('moving'))).errors.length).toBeGreaterThan(0);
    expect((await fileOf('a.yaml', yaml('other'))).errors).toEqual([]);
    const id = (await cp.api('/api/svc/v1/mcp-servers/name/moving')).json.data.id as string;

    const b = await fileOf('b.yaml', broken('elsewhere'));
    expect(b.errors.length).toBeGreaterThan(0);
    // The refused read changed nothing: "moving" is still there, still declared by the refused b.yaml.
    expect((await cp.api('/api/svc/v1/mcp-servers/name/moving')).json.data?.id).toBe(id);
    const filesNow = (await cp.api('/api/svc/v1/sources')).json.data[0].files as { path: string; errors: { message: string }[] }[];
    expect(filesNow.find((f) => f.path === 'a.yaml')!.errors).toEqual([]);

    // b.yaml reads cleanly without it: now nobody declares "moving", and a.yaml is held for the quiet period.
    expect((await fileOf('b.yaml', yaml('elsewhere'))).errors).toEqual([]);
    const a = await waitFor(async () => ((await cp.api('/api/svc/v1/sources')).json.data[0].files as { path: string; errors: { message: string }[] }[]).find((f) => f.path === 'a.yaml' && f.errors.some((e) => e.message.includes('no longer declares'))), { what: 'a.yaml held' });
    expect(a.errors[0]!.message).toContain('moving');
    expect((await cp.api('/api/svc/v1/mcp-servers/name/moving')).json.data?.id).toBe(id);
  });
});
