// The core flow through the real server on port 0 with real SQLite files.
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { Intake } from '../../src/intake/index.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { remoteManifest, startTestControlPlane, testStoreIsPostgres, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { openStoreSql, type StoreDatabase } from '../support/store-sql.js';
import type { Config } from '../../src/config.js';

const SECRET = 'canary-secret-7f3a9c1e';
const PUT = '/api/svc/v1/mcp-servers';

// A real MCP server on loopback, so Ready (= Applied AND Discovered) can become True.
let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await upstream.close();
});
const manifest = (overrides: Record<string, unknown> = {}) => remoteManifest({ url: upstream.url, ...overrides });

function readyCondition(data: { status: { conditions: { type: string; status: string; observedGeneration: number }[] } }) {
  return data.status.conditions.find((c) => c.type === 'Ready');
}

async function waitReady(cp: TestControlPlane, name: string, generation: number) {
  return waitFor(
    async () => {
      const res = await cp.api(`${PUT}/name/${name}`);
      const ready = readyCondition(res.json.data);
      return ready?.status === 'True' && res.json.data.status.observedGeneration === generation ? res.json.data : undefined;
    },
    { what: `${name} Ready at generation ${generation}` },
  );
}

/** Row counts and the resourceVersion counter of both databases, read through a separate connection. */
async function snapshotDatabases(config: Config) {
  const sql = await openStoreSql(config, { readonly: true });
  try {
    const count = async (db: StoreDatabase, table: string) => Number((await sql.all<{ n: number }>(db, `SELECT count(*) AS n FROM ${table}`))[0]!.n);
    return {
      resources: await count('control-plane', 'resources'),
      changelog: await count('control-plane', 'changelog'),
      events: await count('control-plane', 'events'),
      rv: Number((await sql.all<{ value: number }>('control-plane', "SELECT value FROM counters WHERE name = 'resource_version'"))[0]!.value),
      resourceRows: JSON.stringify(await sql.all('control-plane', 'SELECT * FROM resources ORDER BY fqn')),
      gateway: JSON.stringify(await sql.all('gateway', 'SELECT * FROM gateway_entries ORDER BY fqn')),
    };
  } finally {
    await sql.close();
  }
}

describe('core: PUT, plan, store, reconcile into the gateway store', () => {
  let cp: TestControlPlane;
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterEach(async () => {
    await cp.dispose();
  });

  it('creates, updates, answers UNCHANGED and deletes, converging the gateway store each time', async () => {
    const withSecret = manifest({ auth_data: { type: 'header', headers: { Authorization: `Bearer ${SECRET}` } } });
    const created = await cp.api(PUT, { method: 'PUT', body: { manifest: withSecret } });
    expect(created.status).toBe(200);
    expect(created.json.action).toBe('CREATE');
    expect(created.json.existingManifest).toBeNull();
    const data = created.json.data;
    expect(data).toMatchObject({
      fqn: 'default:mcp-server:github-tools',
      accountId: 'default',
      tools: [],
      specEndpoints: [],
      proxyUrl: `${cp.url}/mcp/github-tools`,
      generation: 1,
      source: { kind: 'api' },
      createdBySubject: { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Administrator' },
    });
    expect(typeof data.id).toBe('string');
    expect(new Date(data.createdAt).toISOString()).toBe(data.createdAt);
    expect(data.authStatus).toHaveProperty('status');
    expect(created.headers.get('etag')).toBe(`"${data.resourceVersion}"`);
    expect(created.json.diff).toEqual(expect.arrayContaining([{ op: 'add', path: '/auth_data/headers/Authorization', secret: true }]));

    const ready = await waitReady(cp, 'github-tools', 1);
    expect(ready.status.conditions.find((c: { type: string }) => c.type === 'Applied')).toMatchObject({ status: 'True', observedGeneration: 1 });
    const gw = await cp.api('/api/svc/v1/gateway/servers');
    expect(gw.json.data).toHaveLength(1);
    expect(gw.json.data[0]).toMatchObject({
      fqn: 'default:mcp-server:github-tools',
      upstreamUrl: upstream.url,
      transport: 'streamable-http',
      generation: 1,
      headers: { Authorization: '********' },
    });
    // The gateway store itself holds the real value for the data plane.
    expect((await cp.gateway.get('default:mcp-server:github-tools'))?.headers.Authorization).toBe(`Bearer ${SECRET}`);

    const changed = await cp.api(PUT, { method: 'PUT', body: { manifest: { ...withSecret, description: 'Changed description' } } });
    expect(changed.status).toBe(200);
    expect(changed.json.action).toBe('UPDATE');
    expect(changed.json.data.generation).toBe(2);
    expect(changed.json.diff).toEqual([
      { op: 'replace', path: '/description', from: 'GitHub tools for the platform team', to: 'Changed description' },
    ]);
    expect(changed.json.existingManifest.description).toBe('GitHub tools for the platform team');
    await waitReady(cp, 'github-tools', 2);
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).json.data[0].generation === 2);

    const before = (await snapshotDatabases(cp.config));
    const same = await cp.api(PUT, {
      method: 'PUT',
      // Different key order and explicit defaults: still the same spec.
      body: { manifest: { ...withSecret, description: 'Changed description', tls_settings: { reject_unauthorized: true }, tags: {} } },
    });
    expect(same.json.action).toBe('UNCHANGED');
    expect(same.json.diff).toEqual([]);
    expect(same.json.data.generation).toBe(2);
    expect((await snapshotDatabases(cp.config))).toEqual(before);

    const deleted = await cp.api(`${PUT}/name/github-tools`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.json.data.name).toBe('github-tools');
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).json.data.length === 0, { what: 'gateway entry removed' });
    expect((await cp.api(`${PUT}/name/github-tools`)).status).toBe(404);
    expect((await cp.api(`${PUT}/${data.id}`)).status).toBe(404);
  });

  it('answers a dryRun with the plan and writes nothing anywhere', async () => {
    await cp.api(PUT, { method: 'PUT', body: { manifest: manifest({ name: 'existing' }) } });
    await waitReady(cp, 'existing', 1);
    const before = (await snapshotDatabases(cp.config));

    const create = await cp.api(PUT, { method: 'PUT', body: { manifest: manifest({ name: 'new-one' }), dryRun: true } });
    expect(create.status).toBe(200);
    expect(create.json).toMatchObject({ action: 'CREATE', dryRun: true, existingManifest: null });
    expect(create.json.data.fqn).toBe('default:mcp-server:new-one');
    const update = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: manifest({ name: 'existing', url: 'http://127.0.0.1:10/mcp' }), dryRun: true },
    });
    expect(update.json.action).toBe('UPDATE');
    expect(update.json.data.generation).toBe(2);
    expect(update.json.diff).toEqual([{ op: 'replace', path: '/url', from: upstream.url, to: 'http://127.0.0.1:10/mcp' }]);

    expect((await snapshotDatabases(cp.config))).toEqual(before);
    expect((await cp.api(`${PUT}/name/new-one`)).status).toBe(404);
    expect(cp.controller).toBeDefined();
  });

  it('refuses a stale If-Match with 412 and changes nothing', async () => {
    await cp.api(PUT, { method: 'PUT', body: { manifest: manifest() } });
    // Status writes move the resourceVersion too (as in Kubernetes): read the ETag once status settled.
    await waitReady(cp, 'github-tools', 1);
    const etag = (await cp.api(`${PUT}/name/github-tools`)).headers.get('etag')!;
    const updated = await cp.api(PUT, {
      method: 'PUT',
      headers: { 'if-match': etag },
      body: { manifest: manifest({ description: 'second' }) },
    });
    expect(updated.status).toBe(200);
    await waitReady(cp, 'github-tools', 2);
    const before = (await snapshotDatabases(cp.config));
    const stale = await cp.api(PUT, { method: 'PUT', headers: { 'if-match': etag }, body: { manifest: manifest({ description: 'third' }) } });
    expect(stale.status).toBe(412);
    expect(stale.json.error.code).toBe('PreconditionFailed');
    const staleDelete = await cp.api(`${PUT}/name/github-tools`, { method: 'DELETE', headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    expect((await snapshotDatabases(cp.config)).resourceRows).toEqual(before.resourceRows);
    const current = await cp.api(`${PUT}/name/github-tools`);
    expect(current.json.data.manifest.description).toBe('second');
    const ok = await cp.api(`${PUT}/name/github-tools`, { method: 'DELETE', headers: { 'if-match': current.headers.get('etag')! } });
    expect(ok.status).toBe(200);
  });

  it.each([
    ['no token', { token: null }, 401, 'Unauthorized'],
    ['a wrong token', { token: 'nope-nope-nope-nope' }, 401, 'Unauthorized'],
    ['invalid JSON', { rawBody: '{"manifest": ', headers: { 'content-type': 'application/json' } }, 400, 'InvalidInput'],
    ['a non-JSON content type', { rawBody: 'manifest: {}', headers: { 'content-type': 'text/yaml' } }, 415, 'UnsupportedMediaType'],
    ['a body over 1 MiB', { body: { manifest: remoteManifest({ description: 'x'.repeat(1024 * 1024 + 10) }) } }, 413, 'PayloadTooLarge'],
    ['an unknown body field', { body: { manifest: remoteManifest(), bogus: true } }, 400, 'InvalidInput'],
  ])('rejects %s with the right 4xx and stores nothing', async (_what, init, status, code) => {
    const res = await cp.api(PUT, { method: 'PUT', ...(init as object) });
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(typeof res.json.error.message).toBe('string');
    expect((await cp.store.count())).toBe(0);
  });

  it('reports every manifest error at once with JSON pointers under /manifest', async () => {
    const res = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: manifest({ name: 'Bad_Name', url: 'ftp://x', collaborators: [{ subject: 'nobody', role_id: 'mcp-server-user' }] }) },
    });
    expect(res.status).toBe(400);
    const paths = res.json.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/manifest/name', '/manifest/url', '/manifest/collaborators/0/subject']));
    expect((await cp.store.count())).toBe(0);
  });

  it('lists with pagination and name/tag filters, and validates the query', async () => {
    for (const [name, team] of [['alpha', 'a'], ['bravo', 'b'], ['charlie', 'a']] as const) {
      await cp.api(PUT, { method: 'PUT', body: { manifest: manifest({ name, tags: { team } }) } });
    }
    const page = await cp.api(`${PUT}?limit=2&offset=1`);
    expect(page.json.pagination).toEqual({ total: 3, offset: 1, limit: 2 });
    expect(page.json.data.map((d: { name: string }) => d.name)).toEqual(['bravo', 'charlie']);
    const tagged = await cp.api(`${PUT}?tag=team:a`);
    expect(tagged.json.data.map((d: { name: string }) => d.name)).toEqual(['alpha', 'charlie']);
    const named = await cp.api(`${PUT}?name=bravo`);
    expect(named.json.data.map((d: { name: string }) => d.name)).toEqual(['bravo']);
    expect((await cp.api(`${PUT}?limit=0`)).status).toBe(400);
    expect((await cp.api(`${PUT}?limit=1001`)).status).toBe(400);
    expect((await cp.api(`${PUT}?tag=novalue`)).status).toBe(400);
  });

  it('never answers a secret value, and a masked value sent back keeps the stored secret', async () => {
    const withSecret = manifest({
      additional_headers: { 'X-Api-Key': SECRET },
      auth_data: { type: 'header', headers: { Authorization: `Bearer ${SECRET}` } },
    });
    const answers: string[] = [];
    const created = await cp.api(PUT, { method: 'PUT', body: { manifest: withSecret } });
    answers.push(created.text);
    await waitReady(cp, 'github-tools', 1);
    const got = await cp.api(`${PUT}/name/github-tools`);
    answers.push(got.text, (await cp.api(PUT)).text, (await cp.api('/api/svc/v1/gateway/servers')).text);
    // GET → edit → PUT: the masked values come back and must keep the stored secrets.
    const edited = { ...got.json.data.manifest, description: 'edited' };
    const roundTrip = await cp.api(PUT, { method: 'PUT', body: { manifest: edited } });
    answers.push(roundTrip.text);
    expect(roundTrip.json.action).toBe('UPDATE');
    expect(roundTrip.json.diff).toEqual([{ op: 'replace', path: '/description', from: 'GitHub tools for the platform team', to: 'edited' }]);
    const rotated = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: { ...edited, additional_headers: { 'X-Api-Key': `${SECRET}-rotated` } }, dryRun: true },
    });
    answers.push(rotated.text);
    expect(rotated.json.diff).toEqual([{ op: 'replace', path: '/additional_headers/X-Api-Key', secret: true }]);
    answers.push((await cp.api(`${PUT}/name/github-tools`, { method: 'DELETE' })).text);
    for (const text of answers) expect(text).not.toContain(SECRET);
    await waitFor(async () => (await cp.gateway.get('default:mcp-server:github-tools')) === undefined);
  });

  it('GET by id and by name answer the same resource with an ETag', async () => {
    const created = await cp.api(PUT, { method: 'PUT', body: { manifest: manifest() } });
    const byId = await cp.api(`${PUT}/${created.json.data.id}`);
    const byName = await cp.api(`${PUT}/name/github-tools`);
    expect(byId.status).toBe(200);
    expect(byId.json.data.id).toBe(created.json.data.id);
    expect(byName.json.data.id).toBe(created.json.data.id);
    expect(byId.headers.get('etag')).toBe(`"${byId.json.data.resourceVersion}"`);
  });

  it('serves health and readiness without a token', async () => {
    expect((await cp.api('/healthz', { token: null })).json).toEqual({ status: 'ok' });
    expect((await cp.api('/readyz', { token: null })).status).toBe(200);
    expect((await cp.api('/no/such/route')).status).toBe(404);
  });
});

describe('core: drift and restart', () => {
  it('repairs a gateway entry edited or deleted out of band, and removes an orphan entry, on resync', async () => {
    const cp = await startTestControlPlane({ args: ['--resync-interval', '100ms'] });
    try {
      await cp.api(PUT, { method: 'PUT', body: { manifest: manifest() } });
      await waitFor(async () => (await cp.gateway.get('default:mcp-server:github-tools'))?.generation === 1);
      const sql = await openStoreSql(cp.config);
      try {
        const row = (await sql.all<{ config: string }>('gateway', 'SELECT config FROM gateway_entries'))[0]!;
        const edited = { ...JSON.parse(row.config), upstreamUrl: 'http://127.0.0.1:6666/evil' };
        await sql.all('gateway', 'UPDATE gateway_entries SET config = ?', [JSON.stringify(edited)]);
        await waitFor(async () => (await cp.gateway.get('default:mcp-server:github-tools'))?.upstreamUrl === upstream.url, {
          what: 'edited entry restored',
        });
        const events = await cp.store.listEvents({ resourceId: (await cp.store.get('default:mcp-server:github-tools'))!.id, limit: 10 });
        expect(events.map((e) => e.reason)).toContain('DriftRepaired');

        await sql.all('gateway', 'DELETE FROM gateway_entries');
        await waitFor(() => cp.gateway.get('default:mcp-server:github-tools'), { what: 'deleted entry restored' });

        await sql.all(
          'gateway',
          `INSERT INTO gateway_entries (fqn, config, headers, config_hash, generation, updated_at)
           VALUES ('default:mcp-server:orphan', ?, '{}', 'x', 1, '2020-01-01T00:00:00.000Z')`,
          [JSON.stringify({ ...JSON.parse(row.config), fqn: 'default:mcp-server:orphan', name: 'orphan' })],
        );
        await waitFor(async () => (await cp.gateway.get('default:mcp-server:orphan')) === undefined, { what: 'orphan removed' });
      } finally {
        await sql.close();
      }
    } finally {
      await cp.dispose();
    }
  });

  // SQLite-specific: it commits through a SqliteResourceStore opened on the stopped control plane's file.
  (testStoreIsPostgres() ? it.skip : it)('applies work that was committed but not applied before a restart', async () => {
    const first = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    const dataDir = first.dataDir;
    await first.stop();
    // Commit through the real intake with nothing reconciling, as if the process died right after commit.
    const store = new SqliteResourceStore({ views: resourceViews, path: join(dataDir, 'control-plane.db') });
    const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
    await intake.apply({
      manifest: manifest({ name: 'pending' }),
      dryRun: false,
      force: false,
      metadata: undefined,
      source: { kind: 'api' },
      principal: adminPrincipal('default'),
    });
    expect((await store.get('default:mcp-server:pending'))?.status.observedGeneration).toBe(0);
    await store.close();

    const second = await startTestControlPlane({ dataDir, args: ['--resync-interval', '0'] });
    try {
      await waitReady(second, 'pending', 1);
      expect((await second.gateway.get('default:mcp-server:pending'))?.generation).toBe(1);
    } finally {
      await second.dispose();
    }
  });
});

describe('core: malformed requests', () => {
  it.each(['/api/svc/v1/mcp-servers/%E0%A4%A', '/api/svc/v1/mcp-servers/name/%ZZ', '/mcp/%E0', '/api/mcp/servers/%E0%A4%A'])(
    'answers a malformed %%-escape in %s with a 4xx, not a 500',
    async (path) => {
      const cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
      try {
        const res = await cp.api(path);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      } finally {
        await cp.dispose();
      }
    },
  );
});

describe('core: start-up failures', () => {
  it('fails a start whose port is taken with the reason, and the same data dir starts cleanly afterwards', async () => {
    const first = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    try {
      await expect(startTestControlPlane({ args: ['--port', String(first.port)] })).rejects.toThrow(/EADDRINUSE/);
      // The data directory is locked by the first.
      await expect(startTestControlPlane({ dataDir: first.dataDir })).rejects.toThrow(/in use by another control plane/);
      // The failed start closed its stores and timers: the first instance still writes, and a new one starts.
      const put = await first.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name: 'after-failure' }) } });
      expect(put.status).toBe(200);
    } finally {
      await first.stop();
    }
    const second = await startTestControlPlane({ dataDir: first.dataDir, args: ['--resync-interval', '0'] });
    try {
      expect((await second.store.get('default:mcp-server:after-failure'))).toBeDefined();
    } finally {
      await second.dispose();
      await first.dispose(); // removes the data dir
    }
  });
});
