// Views: the JSON text each read answers, rendered by the store at every write (create, update, status)
// and rendered again for a database from before views or of another view format.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialStatus } from '../../src/domain/resource.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { presentServer } from '../../src/http/present.js';
import { MASK } from '../../src/manifest/index.js';
import type { NewResource } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { renderView, resourceViews, VIEW_FORMAT, viewAnswerer } from '../../src/http/resource-view.js';

const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];
const PUBLIC_URL = 'http://cp.example:8080/';

function newResource(name: string, extra: Record<string, unknown> = {}): NewResource {
  return {
    id: `id-${name}`,
    tenant: 'default',
    name,
    fqn: `default:mcp-server:${name}`,
    manifest: {
      type: 'mcp-server/remote',
      name,
      description: `Server ${name}`,
      url: 'http://127.0.0.1:9/mcp',
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
      auth_data: { type: 'header', headers: { Authorization: 'Bearer s3cret' } },
      tags: { team: name === 'a' ? 'red' : 'blue' },
      ...extra,
    } as unknown as McpServerManifest,
    specHash: `hash-${name}`,
    source: { kind: 'api' },
    metadata: { note: name },
    accountId: 'default',
    createdBy: subject,
    status: initialStatus(),
  };
}

/** Every view of the tenant, answered, parsed. */
async function answered(store: SqliteResourceStore, query: Partial<Parameters<SqliteResourceStore['listViews']>[0]> = {}): Promise<unknown[]> {
  return (await store.listViews({ tenant: 'default', limit: 100, offset: 0, ...query })).views.map((v) => JSON.parse(viewAnswerer(PUBLIC_URL)(v)));
}

async function presented(store: SqliteResourceStore): Promise<unknown[]> {
  return (await store.list({ tenant: 'default', limit: 100, offset: 0 })).items.map((r) => presentServer(r, { publicUrl: PUBLIC_URL }));
}

describe('resource views', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'views-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answer what presentServer makes of the resource, after creates, updates and status writes, secrets masked', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
    await store.create(newResource('a'));
    await store.create(newResource('b', { connection_type: 'direct' }));
    expect((await answered(store))).toEqual((await presented(store)));
    await store.update('default:mcp-server:a', { ...newResource('a', { description: 'changed' }), generation: 2, updatedBy: subject });
    await store.setStatus('default:mcp-server:b', { ...initialStatus(), observedGeneration: 1, detectedTransport: 'sse' });
    const views = await answered(store);
    expect(views).toEqual((await presented(store)));
    expect(views[0]).toMatchObject({ name: 'a', generation: 2, proxyUrl: 'http://cp.example:8080/mcp/a', manifest: { description: 'changed' } });
    expect(views[1]).toMatchObject({ name: 'b', proxyUrl: null, metadata: { note: 'b', detected_transport: 'sse' } });
    expect(JSON.stringify(views)).not.toContain('s3cret');
    expect(JSON.stringify(views)).toContain(MASK);
    await store.close();
  });

  it('of a status write (made from the stored texts) answer what presentServer makes of the resource', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
    // "direct" appears in the spec's text, but not as the connection type: the proxy URL stays.
    await store.create(newResource('a', { description: 'not "connection_type":"direct"', tool_settings: [{ name: 'x', connection_type: 'direct' }] }));
    await store.create({ ...newResource('b', { connection_type: 'direct' }), metadata: { detected_transport: 'stale', note: 'b' } });
    const tools = [{ name: 'search', description: 'Search "things"', inputSchema: { type: 'object' }, disabled: false }];
    const condition = { type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'ok', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00.000Z' };
    await store.setStatus('default:mcp-server:a', { ...initialStatus(), observedGeneration: 1, conditions: [condition], tools });
    await store.setStatus('default:mcp-server:b', { ...initialStatus(), observedGeneration: 1, detectedTransport: 'streamable-http' });
    const views = await answered(store);
    expect(views).toEqual((await presented(store)));
    expect(views[0]).toMatchObject({ name: 'a', proxyUrl: 'http://cp.example:8080/mcp/a', tools, status: { conditions: [condition] } });
    expect(views[1]).toMatchObject({ name: 'b', proxyUrl: null, metadata: { detected_transport: 'streamable-http', note: 'b' } });
    // The same text as a view rendered from the decoded resource (what create and update store).
    for (const [i, r] of (await store.list({ tenant: 'default', limit: 10, offset: 0, masked: true })).items.entries()) {
      expect((await store.listViews({ tenant: 'default', limit: 1, offset: i })).views[0]).toBe(renderView(r));
    }
    await store.close();
  });

  it('of creates and updates (made from the column texts) are renderView of the masked resource, and so are their changelog entries', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
    const fqn = 'default:mcp-server:a';
    const check = async () => {
      const masked = (await store.list({ tenant: 'default', limit: 1, offset: 0, masked: true })).items[0]!;
      expect((await store.listViews({ tenant: 'default', limit: 1, offset: 0 })).views[0]).toBe(renderView(masked));
      const entry = (await store.changesSince(masked.resourceVersion - 1, 1))[0]!;
      // The same text, member order included.
      expect(JSON.stringify(entry.object)).toBe(JSON.stringify(masked));
    };
    await store.create({ ...newResource('a', { connection_type: 'direct' }), status: { ...initialStatus(), detectedTransport: 'sse' } });
    await check();
    await store.update(fqn, { ...newResource('a', { description: 'changed' }), generation: 2, updatedBy: { ...subject, subjectId: 'other' } });
    await check();
    expect((await store.get(fqn))).toMatchObject({ createdBy: subject, updatedBy: { subjectId: 'other' }, generation: 2 });
    await store.close();
  });

  it('page, filter and tag like list()', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
    for (const name of ['a', 'b', 'c']) await store.create(newResource(name));
    expect((await store.listViews({ tenant: 'default', limit: 1, offset: 1 }))).toEqual({ views: [expect.stringContaining('"name":"b"')], total: 3 });
    expect((await store.listViews({ tenant: 'default', limit: 10, offset: 0, name: 'c' })).total).toBe(1);
    const blue = await store.listViews({ tenant: 'default', limit: 1, offset: 1, tag: { key: 'team', value: 'blue' } });
    expect(blue).toEqual({ views: [expect.stringContaining('"name":"c"')], total: 2 });
    const filtered = await store.listViews({ tenant: 'default', limit: 10, offset: 0, filter: (r) => r.name !== 'b' && r.manifest.description.startsWith('Server') });
    expect(filtered.views.map((v) => (JSON.parse(v) as { name: string }).name)).toEqual(['a', 'c']);
    await store.close();
  });

  it('are rendered at open for a database from before views, and again when the view format changes', async () => {
    const path = join(dir, 'cp.db');
    const store = new SqliteResourceStore({ views: resourceViews, path });
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    const expected = await answered(store);
    await store.close();
    // As an older version left it: no view column, no view format.
    const db = new Database(path);
    db.exec("ALTER TABLE resources DROP COLUMN view; DELETE FROM counters WHERE name = 'view_format'; DELETE FROM schema_migrations WHERE version = 3");
    db.close();
    const upgraded = new SqliteResourceStore({ views: resourceViews, path });
    expect((await answered(upgraded))).toEqual(expected);
    await upgraded.close();
    // Views of another format are rendered again.
    const stale = new Database(path);
    stale.prepare("UPDATE resources SET view = '{}'").run();
    stale.prepare("UPDATE counters SET value = ? WHERE name = 'view_format'").run(VIEW_FORMAT - 1);
    stale.close();
    const reopened = new SqliteResourceStore({ views: resourceViews, path });
    expect((await answered(reopened))).toEqual(expected);
    await reopened.close();
  });

  it('are rendered at open for rows an older build wrote after views came (a rollback, then the upgrade again)', async () => {
    const path = join(dir, 'cp.db');
    const store = new SqliteResourceStore({ views: resourceViews, path });
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    await store.create(newResource('c'));
    const expected = await answered(store) as { name: string; resourceVersion: string }[];
    await store.close();
    // An older build knows no view column: it inserts rows without one and updates rows leaving it as it was.
    const old = new Database(path);
    old.prepare("UPDATE resources SET view = NULL WHERE name = 'a'").run();
    old.prepare("UPDATE resources SET resource_version = resource_version + 10 WHERE name = 'b'").run();
    old.prepare("UPDATE counters SET value = value + 10 WHERE name = 'resource_version'").run();
    old.close();
    const reopened = new SqliteResourceStore({ views: resourceViews, path });
    expect((await answered(reopened))).toEqual(
      expected.map((v) => (v.name === 'b' ? { ...v, resourceVersion: String(Number(v.resourceVersion) + 10) } : v)),
    );
    await reopened.close();
  });

  it('get(fqn, { known }) answers the known manifest when the hash matches, and decodes its own otherwise', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    const input = newResource('a');
    await store.create(input);
    const known = { ...input.manifest };
    expect((await store.get(input.fqn, { known: { specHash: 'hash-a', manifest: known } }))?.manifest).toBe(known);
    const decoded = (await store.get(input.fqn, { known: { specHash: 'other', manifest: known } }))?.manifest;
    expect(decoded).not.toBe(known);
    expect(decoded).toEqual(input.manifest);
    await store.close();
  });
});
