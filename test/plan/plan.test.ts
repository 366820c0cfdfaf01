import type { McpServerResource } from '../../src/domain/resource.js';
import { initialStatus } from '../../src/domain/resource.js';
import { normaliseManifest, specHash, validateManifest } from '../../src/manifest/index.js';
import { planApply } from '../../src/plan/index.js';

const CANARY = 'canary-plan-77';

function manifestOf(overrides: Record<string, unknown> = {}) {
  const v = validateManifest({
    type: 'mcp-server/remote',
    name: 'svc',
    description: 'd',
    url: 'http://127.0.0.1:1/mcp',
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    ...overrides,
  });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return normaliseManifest(v.manifest);
}

function stored(manifest: ReturnType<typeof manifestOf>, generation = 3): McpServerResource {
  return {
    id: 'id-1',
    tenant: 't',
    name: manifest.name,
    fqn: 't:mcp-server:svc',
    manifest,
    specHash: specHash(manifest),
    generation,
    resourceVersion: 10,
    source: { kind: 'api' },
    metadata: { a: 1 },
    createdBy: { subjectId: 'x', subjectType: 'user', subjectSlug: 'x', subjectDisplayName: 'x' },
    updatedBy: { subjectId: 'x', subjectType: 'user', subjectSlug: 'x', subjectDisplayName: 'x' },
    accountId: 'acct',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    status: initialStatus(),
  };
}

const plan = (desired: ReturnType<typeof manifestOf>, existing?: McpServerResource, metadata?: Record<string, unknown>, accountId = 'acct') =>
  planApply({ desired, desiredHash: specHash(desired), metadata, source: { kind: 'api' }, accountId, stored: existing });

describe('planApply', () => {
  it('CREATE lists each field as an add, with generation 1 and secrets masked', () => {
    const m = manifestOf({ additional_headers: { 'X-Key': CANARY } });
    const p = plan(m);
    expect(p).toMatchObject({ action: 'CREATE', generation: 1, specChanged: true, metadata: {} });
    expect(p.diff).toContainEqual({ op: 'add', path: '/name', to: 'svc' });
    expect(p.diff).toContainEqual({ op: 'add', path: '/additional_headers/X-Key', secret: true });
    expect(JSON.stringify(p.diff)).not.toContain(CANARY);
  });

  it('UNCHANGED when only defaults or key order differ, keeping generation and metadata', () => {
    const existing = stored(manifestOf());
    const p = plan(manifestOf({ tls_settings: { reject_unauthorized: true }, tags: {}, tool_settings: [] }), existing);
    expect(p).toEqual({ action: 'UNCHANGED', diff: [], generation: 3, specChanged: false, metadata: { a: 1 } });
  });

  it('UPDATE bumps the generation by one when the spec changes', () => {
    const p = plan(manifestOf({ description: 'new' }), stored(manifestOf()));
    expect(p).toMatchObject({ action: 'UPDATE', generation: 4, specChanged: true });
    expect(p.diff).toEqual([{ op: 'replace', path: '/description', from: 'd', to: 'new' }]);
  });

  it('a metadata-only change is an UPDATE without a generation bump, shown under /metadata', () => {
    const p = plan(manifestOf(), stored(manifestOf()), { a: 2 });
    expect(p).toMatchObject({ action: 'UPDATE', generation: 3, specChanged: false, metadata: { a: 2 } });
    expect(p.diff).toEqual([{ op: 'replace', path: '/metadata/a', from: 1, to: 2 }]);
  });

  it('a rotated secret is an UPDATE whose diff says only that the secret changed', () => {
    const before = stored(manifestOf({ auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY}` } } }));
    const p = plan(manifestOf({ auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY}-2` } } }), before);
    expect(p.action).toBe('UPDATE');
    expect(p.diff).toEqual([{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }]);
  });

  it('a change of owning account is an UPDATE without a generation bump', () => {
    const p = plan(manifestOf(), stored(manifestOf()), undefined, 'other');
    expect(p).toMatchObject({ action: 'UPDATE', generation: 3, diff: [] });
  });
});
