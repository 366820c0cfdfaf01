// The resource store's bookkeeping that the hot paths lean on: refs kept in step with writes (and
// rolled back with a transaction or savepoint), a status write that changes nothing costs no write, events capped per
// resource without scanning the whole table, and the changelog never holding a secret.
import { initialStatus, type ResourceStatus } from '../../src/domain/resource.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import type { NewResource } from '../../src/store/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AesGcmSecretCodec, plainSecretCodec, SecretKeyError } from '../../src/store/secret-codec.js';

const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];

function manifest(name: string, secret = 'Bearer s3cret'): McpServerManifest {
  return {
    type: 'mcp-server/remote',
    name,
    description: `Server ${name}`,
    url: 'http://127.0.0.1:9/mcp',
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    auth_data: { type: 'header', headers: { Authorization: secret } },
  } as unknown as McpServerManifest;
}

function newResource(name: string, source: NewResource['source'] = { kind: 'api' }): NewResource {
  return {
    id: `id-${name}`,
    tenant: 'default',
    name,
    fqn: `default:mcp-server:${name}`,
    manifest: manifest(name),
    specHash: `hash-${name}`,
    source,
    metadata: {},
    accountId: 'default',
    createdBy: subject,
    status: initialStatus(),
  };
}

describe('SqliteResourceStore', () => {
  let store: SqliteResourceStore;
  beforeEach(() => {
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:', eventMaxPerResource: 3 });
  });
  afterEach(() => store.close());

  it('answers refs that follow creates, updates (a new source) and removes', async () => {
    await store.create(newResource('a'));
    expect((await store.listRefs('default'))).toEqual([{ fqn: 'default:mcp-server:a', id: 'id-a', tenant: 'default', name: 'a', generation: 1, source: { kind: 'api' } }]);
    await store.create(newResource('b'));
    const file = { kind: 'file', root: '/m', path: 'b.yaml', document: 0 } as const;
    await store.update('default:mcp-server:b', { ...newResource('b'), generation: 2, source: file, updatedBy: subject });
    await store.remove('default:mcp-server:a');
    expect((await store.listRefs('default'))).toEqual([expect.objectContaining({ name: 'b', generation: 2, source: file })]);
    expect((await store.listRefs('other'))).toEqual([]);
    expect(Object.isFrozen((await store.listRefs('default'))[0])).toBe(true);
  });

  it('answers the refs of what was committed after a transaction rolled back', async () => {
    await store.create(newResource('kept'));
    await store.listRefs('default');
    await expect(
      store.transaction(async () => {
        await store.create(newResource('rolled-back'));
        await store.remove('default:mcp-server:kept');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await store.listRefs('default')).map((r) => r.name)).toEqual(['kept']);
    expect((await store.keys())).toEqual(['default:mcp-server:kept']);
  });

  it('undoes only the rolled-back savepoint in the refs (a refused file in a batch)', async () => {
    const at = (path: string) => ({ kind: 'file', root: '/m', path, document: 0 }) as const;
    for (const name of ['moved', 'removed', 'same']) await store.create(newResource(name, at(`${name}.yaml`)));
    await store.fileRefs('default', '/m');
    await store.transaction(async () => {
      await store.create(newResource('committed', at('new.yaml')));
      await expect(
        store.transaction(async () => {
          await store.update('default:mcp-server:moved', { ...newResource('moved'), generation: 2, source: at('elsewhere.yaml'), updatedBy: subject });
          await store.remove('default:mcp-server:removed');
          await store.create(newResource('refused', at('bad.yaml')));
          throw new Error('refused file');
        }),
      ).rejects.toThrow('refused file');
    });
    const names = (refs: ReadonlyMap<string, { source: unknown; generation: number }>) =>
      Object.fromEntries([...refs].map(([name, r]) => [name, { source: r.source, generation: r.generation }]));
    const expected = {
      committed: { source: at('new.yaml'), generation: 1 },
      moved: { source: at('moved.yaml'), generation: 1 },
      removed: { source: at('removed.yaml'), generation: 1 },
      same: { source: at('same.yaml'), generation: 1 },
    };
    expect(names((await store.fileRefs('default', '/m')))).toEqual(expected);
    expect((await store.fileRefsAt('default', '/m', 'elsewhere.yaml'))).toEqual([]);
    expect((await store.fileRefsAt('default', '/m', 'moved.yaml')).map((r) => r.name)).toEqual(['moved']);
    expect((await store.fileRefsAt('default', '/m', 'bad.yaml'))).toEqual([]);

  });

  it('drops refs first loaded inside a transaction that rolls back', async () => {
    const at = (path: string) => ({ kind: 'file', root: '/m', path, document: 0 }) as const;
    await store.create(newResource('kept', at('kept.yaml')));
    // Nothing has read the refs yet: the first read loads them inside the transaction, with its rows.
    await expect(
      store.transaction(async () => {
        await store.create(newResource('gone', at('gone.yaml')));
        expect([...(await store.fileRefs('default', '/m')).keys()].sort()).toEqual(['gone', 'kept']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect([...(await store.fileRefs('default', '/m')).keys()]).toEqual(['kept']);
  });

  it('writes nothing for a status equal to the stored one, whatever its key order', async () => {
    await store.create(newResource('a'));
    const status: ResourceStatus = { ...initialStatus(), observedGeneration: 1 };
    await store.setStatus('default:mcp-server:a', status);
    const rv = await store.currentResourceVersion();
    const reordered = { authStatus: status.authStatus, tools: [], conditions: [], observedGeneration: 1 } as ResourceStatus;
    expect((await store.setStatus('default:mcp-server:a', status))).toBe(rv);
    expect((await store.setStatus('default:mcp-server:a', reordered))).toBe(rv);
    expect((await store.currentResourceVersion())).toBe(rv);
    expect((await store.changesSince(rv - 1, 10))).toHaveLength(1);
  });

  it('keeps secrets out of the changelog and in the stored resource across a status write', async () => {
    await store.create(newResource('a'));
    const rv = await store.setStatus('default:mcp-server:a', { ...initialStatus(), observedGeneration: 1 });
    expect(rv).toBe((await store.currentResourceVersion()));
    const written = (await store.get('default:mcp-server:a'))!;
    expect((written.manifest as { auth_data: { headers: Record<string, string> } }).auth_data.headers.Authorization).toBe('Bearer s3cret');
    expect(written.status.observedGeneration).toBe(1);
    expect(written.resourceVersion).toBe(rv);
    const changes = await store.changesSince(0, 10);
    expect(changes.map((c) => c.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(JSON.stringify(changes)).not.toContain('s3cret');
    expect(changes[1]?.object.status.observedGeneration).toBe(1);
    const masked = (await store.list({ tenant: 'default', limit: 10, offset: 0, masked: true })).items[0]!;
    expect(JSON.stringify(masked)).not.toContain('s3cret');
    // The entry of a status write (made from the column texts) is the masked resource as stored.
    expect(changes[1]?.object).toEqual(masked);
    expect(JSON.stringify((await store.get('default:mcp-server:a')))).toContain('s3cret');
  });

  it('caps the events of each resource that got new ones', async () => {
    await store.create(newResource('a'));
    await store.create(newResource('b'));
    const event = (name: string, i: number) =>
      store.recordEvent({ fqn: `default:mcp-server:${name}`, resourceId: `id-${name}`, type: 'Normal', reason: 'R', message: `m${i}`, actor: 'x' });
    // Enough writes for two rounds of maintenance (every 500 writes): the first caps every resource,
    // later ones the resources with new events.
    for (let i = 0; i < 600; i++) await event('a', i);
    for (let i = 0; i < 500; i++) await event('b', i);
    const messages = async (name: string) => (await store.listEvents({ resourceId: `id-${name}`, limit: 100 })).map((e) => e.message);
    expect((await messages('a'))).toEqual(['m597', 'm598', 'm599']);
    expect((await messages('b')).length).toBeLessThanOrEqual(3 + 100);
    for (let i = 500; i < 1000; i++) await event('b', i);
    expect((await messages('b')).slice(-3)).toEqual(['m997', 'm998', 'm999']);
    expect((await messages('b')).length).toBeLessThan(500);
  });

  it('prunes the changelog past its minimum entries, keeping every entry younger than its minimum age', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const pruned = new SqliteResourceStore({ views: resourceViews, path: ':memory:', clock, changelogMinEntries: 10, changelogMinAgeMs: 1000 });
    await pruned.create(newResource('a'));
    const status = (g: number) => ({ ...initialStatus(), observedGeneration: g });
    // 500 writes make one maintenance: 300 entries old by then, 200 young (beyond the last 10).
    for (let g = 1; g < 300; g++) await pruned.setStatus('default:mcp-server:a', status(g));
    clock.advance(2000);
    for (let g = 300; g < 500; g++) await pruned.setStatus('default:mcp-server:a', status(g));
    expect((await pruned.currentResourceVersion())).toBe(500);
    expect((await pruned.oldestRetainedResourceVersion())).toBe(301);
    await pruned.close();
  });

  it('records source files, rewriting only what changed', async () => {
    const record = { contentHash: 'sha256:1', names: ['a', 'b'], fingerprint: 'f' };
    await store.recordSourceFiles('/m', new Map([['x.yaml', record], ['y.yaml', { ...record, names: [] }]]));
    expect((await store.sourceFiles('/m'))).toEqual(expect.arrayContaining([{ path: 'x.yaml', ...record }, { path: 'y.yaml', ...record, names: [] }]));
    await store.recordSourceFiles('/m', new Map([['x.yaml', null]]));
    expect((await store.sourceFiles('/m')).map((r) => r.path)).toEqual(['y.yaml']);
    expect((await store.sourceFiles('/other'))).toEqual([]);
  });
});

describe('SqliteResourceStore at open, after a clean close', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'store-open-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('still checks the key, and seals what a store without encryption left in clear', async () => {
    const path = join(dir, 'cp.db');
    const key = new AesGcmSecretCodec(randomBytes(32));
    const sealed = new SqliteResourceStore({ views: resourceViews, path, secretCodec: key });
    expect((await sealed.resealSecrets())).toBe(0);
    await sealed.create(newResource('sealed'));
    await sealed.close();
    // Nothing wrote since the clean close, so only the key is checked: another key is still refused.
    await expect(new SqliteResourceStore({ views: resourceViews, path, secretCodec: new AesGcmSecretCodec(randomBytes(32)) }).resealSecrets()).rejects.toThrow(SecretKeyError);
    const reopened = new SqliteResourceStore({ views: resourceViews, path, secretCodec: key });
    expect((await reopened.resealSecrets())).toBe(0);
    expect(((await reopened.get('default:mcp-server:sealed'))?.manifest as { auth_data?: unknown }).auth_data).toEqual({ type: 'header', headers: { Authorization: 'Bearer s3cret' } });
    await reopened.close();

    const clearPath = join(dir, 'clear.db');
    const clear = new SqliteResourceStore({ views: resourceViews, path: clearPath, secretCodec: plainSecretCodec });
    expect((await clear.resealSecrets())).toBe(0);
    await clear.create(newResource('clear'));
    await clear.close();
    const encrypted = new SqliteResourceStore({ views: resourceViews, path: clearPath, secretCodec: key });
    expect((await encrypted.resealSecrets())).toBe(1); // the row (the revision its create recorded reads the row's secrets)
    expect(((await encrypted.get('default:mcp-server:clear'))?.manifest as { auth_data?: unknown }).auth_data).toEqual({ type: 'header', headers: { Authorization: 'Bearer s3cret' } });
    await encrypted.close();
  });
});
