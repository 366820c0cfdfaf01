// The metrics' Ready tally is seeded at startup from the store's Ready statuses (read by SQLite, no
// resource decoded) and must count exactly what the resources say, as the changelog path does.
import { findCondition, READY, setCondition } from '../../src/domain/conditions.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { initialStatus, type ConditionStatus, type ResourceStatus, type SourceRef } from '../../src/domain/resource.js';
import { ReadyTally, sourceLabel } from '../../src/metrics/index.js';
import type { NewResource } from '../../src/store/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';

const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];

function newResource(tenant: string, name: string, source: SourceRef): NewResource {
  return {
    id: `id-${tenant}-${name}`,
    tenant,
    name,
    fqn: `${tenant}:mcp-server:${name}`,
    manifest: { type: 'mcp-server/remote', name, description: name, url: 'http://127.0.0.1:9/mcp', collaborators: [] } as unknown as McpServerManifest,
    specHash: `hash-${name}`,
    source,
    metadata: {},
    accountId: tenant,
    createdBy: subject,
    status: initialStatus(),
  };
}

function withReady(status: ConditionStatus): ResourceStatus {
  // Another condition first, so the Ready one is found wherever it stands.
  const applied = setCondition([], { type: 'Applied', status: 'True', reason: 'Applied', message: 'applied', observedGeneration: 1 }, '2026-01-01T00:00:00.000Z');
  const conditions = [...applied, ...setCondition([], { type: READY, status, reason: 'R', message: 'm', observedGeneration: 1 }, '2026-01-01T00:00:00.000Z')];
  return { ...initialStatus(), observedGeneration: 1, conditions };
}

describe('ReadyTally seeded from SqliteResourceStore.listReadiness', () => {
  let store: SqliteResourceStore;
  beforeEach(() => {
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
  });
  afterEach(() => store.close());

  it('counts each resource of the tenant by its Ready status (none: Unknown) and knows its source', async () => {
    const file: SourceRef = { kind: 'file', root: '/manifests', path: 'a.yaml', document: 0 };
    await store.create(newResource('default', 'ready', { kind: 'api' }));
    await store.create(newResource('default', 'failing', file));
    await store.create(newResource('default', 'new', file));
    await store.create(newResource('other', 'elsewhere', { kind: 'api' }));
    await store.setStatus('default:mcp-server:ready', withReady('True'));
    await store.setStatus('default:mcp-server:failing', withReady('False'));
    await store.setStatus('other:mcp-server:elsewhere', withReady('True'));

    const readiness = await store.listReadiness('default');
    // The same as decoding every resource would say.
    const decoded = (await store.list({ tenant: 'default', limit: 100, offset: 0 })).items.map((r) => ({
      fqn: r.fqn,
      ready: findCondition(r.status.conditions, READY)?.status,
      source: r.source,
    }));
    expect([...readiness].sort((a, b) => a.fqn.localeCompare(b.fqn))).toEqual(decoded.sort((a, b) => a.fqn.localeCompare(b.fqn)));

    const tally = new ReadyTally();
    tally.seed(readiness);
    expect(tally.byReady()).toEqual({ True: 1, False: 1, Unknown: 1 });
    expect(tally.sourceOf('default:mcp-server:ready')).toBe('api');
    expect(tally.sourceOf('default:mcp-server:new')).toBe(sourceLabel(file));
    expect(tally.sourceOf('other:mcp-server:elsewhere')).toBeUndefined();
  });
});
