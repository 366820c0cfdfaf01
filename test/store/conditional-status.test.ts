// setStatus with `expect` drops a status computed from an older read of the resource.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialStatus } from '../../src/domain/resource.js';
import { normaliseManifest, specHash, validateManifest } from '../../src/manifest/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';

const subject = { subjectId: 'admin', subjectType: 'user' as const, subjectSlug: 'admin', subjectDisplayName: 'Admin' };

function manifest(description: string) {
  const v = validateManifest({
    type: 'mcp-server/remote',
    name: 'svc',
    description,
    url: 'http://127.0.0.1:9/mcp',
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return normaliseManifest(v.manifest);
}

describe('SqliteResourceStore.setStatus with expect', () => {
  let dir: string;
  let store: SqliteResourceStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-store-'));
    store = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = (id: string) =>
    store.create({
      id,
      tenant: 't',
      name: 'svc',
      fqn: 't:mcp-server:svc',
      manifest: manifest('one'),
      specHash: specHash(manifest('one')),
      source: { kind: 'api' },
      metadata: {},
      accountId: 't',
      createdBy: subject,
      status: initialStatus(),
    });
  const status = (observedGeneration: number) => ({ ...initialStatus(), observedGeneration });

  it('writes while id and generation match, and drops a status for an older generation', async () => {
    const created = await create('id-1');
    expect((await store.setStatus(created.fqn, status(1), { id: 'id-1', generation: 1 }))).toBe((await store.currentResourceVersion()));
    expect((await store.get(created.fqn))!.status.observedGeneration).toBe(1);
    await store.update(created.fqn, {
      manifest: manifest('two'),
      specHash: specHash(manifest('two')),
      generation: 2,
      source: { kind: 'api' },
      metadata: {},
      accountId: 't',
      updatedBy: subject,
      status: status(1),
    });
    const rv = (await store.get(created.fqn))!.resourceVersion;
    expect((await store.setStatus(created.fqn, status(7), { id: 'id-1', generation: 1 }))).toBeUndefined();
    expect((await store.get(created.fqn))!.status.observedGeneration).toBe(1);
    expect((await store.get(created.fqn))!.resourceVersion).toBe(rv);
  });

  it('drops a status meant for a deleted resource that was created again under the same name', async () => {
    const first = await create('id-1');
    await store.remove(first.fqn);
    await create('id-2');
    expect((await store.setStatus(first.fqn, status(1), { id: 'id-1', generation: 1 }))).toBeUndefined();
    expect((await store.get(first.fqn))!.status.observedGeneration).toBe(0);
  });
});
