// GET /api/svc/v1/mcp-servers pages answered streamed (src/http/streamed-page.ts) through the real express
// app on port 0 over a real SQLite store: the same bytes as the page built whole, the store read a batch
// at a time and no faster than the client takes the answer, and a store error mid-page aborting the
// connection instead of ending a truncated answer like a complete one.
import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainAuthenticator, StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import type { Logger } from '../../src/domain/logger.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal, type Principal } from '../../src/domain/principal.js';
import { initialStatus } from '../../src/domain/resource.js';
import { createApp } from '../../src/http/app.js';
import { resourceViews, viewAnswerer } from '../../src/http/resource-view.js';
import { PAGE_BATCH } from '../../src/http/streamed-page.js';
import { ConnectionError, httpClient } from '../../src/cli/client.js';
import { listServers } from '../../src/cli/resources.js';
import { Intake } from '../../src/intake/index.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../src/store/sqlite/index.js';
import type { ListQuery } from '../../src/store/index.js';
import { remoteManifest } from '../support/control-plane.js';
import { waitFor } from '../support/wait-for.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const PUBLIC_URL = 'http://cp.example:8080/';
const SERVERS = 1_000;
const PATH = '/api/svc/v1/mcp-servers';
const viewer: Principal = {
  subject: { subjectId: 'user:vera', subjectType: 'user', subjectSlug: 'vera', subjectDisplayName: 'Vera' },
  role: 'viewer',
  teams: ['readers'],
  accounts: ['default'],
};

interface Harness {
  url: string;
  server: Server;
  store: SqliteResourceStore;
  policy: RoleAccessPolicy;
  /** viewsOf calls so far. */
  reads(): number;
  /** Makes viewsOf fail from its nth call (1-based) on. */
  failFrom(n: number): void;
  logged: string[];
  /** The server side of the next request's response. */
  nextResponse(): Promise<ServerResponse>;
  close(): Promise<void>;
}

let dir: string;
let h: Harness;

/** A 1,000-server store: every server with a long description and tool list (≈22 KB a view), the even ones readable by team:readers; tagged. */
async function start(): Promise<Harness> {
  dir = mkdtempSync(join(tmpdir(), 'streamed-pages-'));
  const store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
  const gateway = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  const policy = new RoleAccessPolicy();
  const intake = new Intake({ store, tenant: 'default', policy, enqueue: () => {} });
  const admin = adminPrincipal('default');
  for (let i = 0; i < SERVERS; i++) {
    const even = i % 2 === 0;
    const manifest = remoteManifest({
      name: `server-${String(i).padStart(4, '0')}`,
      description: `Server ${i}: ${'x'.repeat(960)}`,
      tags: { half: even ? 'even' : 'odd' },
      collaborators: [{ subject: even ? 'team:readers' : 'team:others', role_id: 'mcp-server-user' }],
    });
    const { resource } = await intake.apply({ manifest, dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal: admin });
    // A discovered tool list (≈20 KB): a page of 1,000 (≈20 MB) is several times what loopback's socket buffers hold (≈4 MB).
    const tools = Array.from({ length: 20 }, (_, t) => ({ name: `tool-${t}`, description: `Tool ${t} of server ${i}: ${'y'.repeat(960)}`, inputSchema: { type: 'object' }, disabled: false }));
    await store.setStatus(resource.fqn, { ...initialStatus(), observedGeneration: 1, tools });
  }
  let reads = 0;
  let failFrom = Infinity;
  const viewsOf = store.viewsOf.bind(store);
  store.viewsOf = async (fqns) => {
    reads++;
    if (reads >= failFrom) throw new Error('disk I/O error (injected)');
    return viewsOf(fqns);
  };
  const logged: string[] = [];
  const logger: Logger = { ...silentLogger, error: (fields, message) => void logged.push(`${message} ${JSON.stringify(fields)}`) };
  const app = createApp({
    intake,
    store,
    gateway,
    policy,
    authenticator: new ChainAuthenticator([new StaticTokenAuthenticator(ADMIN, admin), new StaticTokenAuthenticator(VIEWER, viewer)]),
    tenant: 'default',
    publicUrl: PUBLIC_URL,
    readiness: { notReadyReason: async () => undefined },
    logger,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const responses: ((res: ServerResponse) => void)[] = [];
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => responses.shift()?.(res));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    store,
    policy,
    reads: () => reads,
    failFrom: (n) => {
      failFrom = reads + n;
    },
    logged,
    nextResponse: () => new Promise((resolve) => responses.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await gateway.close();
    },
  };
}

/** The page as it was answered before pages were streamed: the stored views of the page, joined. */
async function reference(query: Omit<ListQuery, 'tenant'>): Promise<string> {
  const { views, total } = await h.store.listViews({ tenant: 'default', ...query });
  return `{"data":[${views.map(viewAnswerer(PUBLIC_URL)).join(',')}],"pagination":${JSON.stringify({ total, offset: query.offset, limit: query.limit })}}`;
}

async function get(path: string, token = ADMIN): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  h = await start();
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('streamed list pages', () => {
  it('answer a 1,000-item page with the same bytes as the page built whole, chunked, read in batches', async () => {
    const before = h.reads();
    const page = await get(`${PATH}?limit=1000`);
    expect(page.status).toBe(200);
    expect(h.reads() - before).toBe(SERVERS / PAGE_BATCH);
    const expected = await reference({ limit: 1000, offset: 0 });
    expect(expected.length).toBeGreaterThan(20_000_000);
    expect(page.text).toBe(expected);
    expect(page.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(page.headers.get('transfer-encoding')).toBe('chunked');
    expect(page.headers.get('content-length')).toBeNull();
    expect(JSON.parse(page.text).data).toHaveLength(SERVERS);
  });

  it('answer the same bytes for a viewer with a selector, an offset, a page of one batch and a page past the end', async () => {
    const selected = await get(`${PATH}?limit=1000&tag=half:even`, VIEWER);
    expect(selected.text).toBe(await reference({ limit: 1000, offset: 0, tag: { key: 'half', value: 'even' }, readableBy: h.policy.readScope(viewer)! }));
    expect(JSON.parse(selected.text).data).toHaveLength(SERVERS / 2);
    expect((await get(`${PATH}?limit=250&offset=990`)).text).toBe(await reference({ limit: 250, offset: 990 }));
    // One batch: read in one statement, answered in one piece with its length.
    const before = h.reads();
    const small = await get(`${PATH}?limit=10&offset=5`);
    expect(h.reads()).toBe(before);
    expect(small.text).toBe(await reference({ limit: 10, offset: 5 }));
    expect(small.headers.get('content-length')).toBe(String(Buffer.byteLength(small.text)));
    const past = await get(`${PATH}?limit=100&offset=5000`);
    expect(past.text).toBe(`{"data":[],"pagination":{"total":${SERVERS},"offset":5000,"limit":100}}`);
  });

  it('stop reading the store while the client does not read, and finish the same answer once it does', async () => {
    const serverSide = h.nextResponse();
    const before = h.reads();
    const chunks: Buffer[] = [];
    let ended = false;
    const client = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${h.url}${PATH}?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    // Paused from the first byte: what the kernel's socket buffers hold is all that leaves the server.
    client.pause();
    client.on('data', (c: Buffer) => chunks.push(c));
    client.on('end', () => (ended = true));
    const res = await serverSide;
    await waitFor(() => res.writableNeedDrain, { what: 'the server to wait for the client (drain)' });
    const whilePaused = h.reads() - before;
    // Other requests go round the event loop many times; a reader that ignored backpressure would read on meanwhile.
    for (let i = 0; i < 20; i++) expect((await get(`${PATH}?limit=1`)).status).toBe(200);
    // (A page of one batch is read in one statement, not through viewsOf.)
    expect(h.reads() - before).toBe(whilePaused);
    expect(whilePaused).toBeLessThan(SERVERS / PAGE_BATCH);
    expect(res.writableNeedDrain).toBe(true);
    expect(ended).toBe(false);

    client.resume();
    await waitFor(() => ended, { what: 'the whole page' });
    expect(Buffer.concat(chunks).toString('utf8')).toBe(await reference({ limit: 1000, offset: 0 }));
    expect(h.reads() - before).toBe(SERVERS / PAGE_BATCH);
  });

  it("are read whole by mcpctl's reader, which fails on an aborted page instead of answering part of the list", async () => {
    const client = httpClient(h.url, ADMIN);
    const servers = await listServers(client);
    expect(servers.map((s) => s.name)).toEqual(Array.from({ length: SERVERS }, (_, i) => `server-${String(i).padStart(4, '0')}`));
    h.failFrom(5);
    await expect(listServers(client)).rejects.toThrow(ConnectionError);
    h.failFrom(Infinity);
  });

  it('abort the connection when the store fails mid-page; a failure before the first byte is a 500', async () => {
    h.failFrom(3);
    const res = await fetch(`${h.url}${PATH}?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    // The body ends in a connection error, not in a shorter answer that parses.
    await expect(res.text()).rejects.toThrow();
    await waitFor(() => h.logged.some((l) => l.includes('answer aborted after it started') && l.includes('injected')), { what: 'the abort logged' });

    h.failFrom(1);
    const early = await get(`${PATH}?limit=1000`);
    expect(early.status).toBe(500);
    expect(JSON.parse(early.text).error.code).toBe('InternalError');
    h.failFrom(Infinity);
    expect((await get(`${PATH}?limit=1000`)).text).toBe(await reference({ limit: 1000, offset: 0 }));
  });
});
