// List selections answered from indexes: a tag selector and a reader's scope (ListQuery.tag, readableBy),
// alone, together and with a name; kept current by every write (create, update of tags, collaborators or
// account, status, remove); and exactly what the access policy's canRead lets a principal read.
import type { Collaborator, McpServerManifest } from '../../../src/domain/manifest.js';
import type { Principal } from '../../../src/domain/principal.js';
import { RoleAccessPolicy } from '../../../src/auth/policy.js';
import type { ListQuery } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fqnOf, manifest, newResource, readyStatus, updateOf } from './fixtures.js';

interface Shape {
  tags?: Record<string, string>;
  collaborators?: Collaborator[];
  account?: string;
}

const user = (slug: string): Collaborator => ({ subject: `user:${slug}`, role_id: 'mcp-server-user' });
const team = (slug: string): Collaborator => ({ subject: `team:${slug}`, role_id: 'mcp-server-manager' });

function shaped(name: string, shape: Shape): McpServerManifest {
  const m = manifest(name) as McpServerManifest & { tags: Record<string, string>; collaborators: Collaborator[] };
  return { ...m, tags: shape.tags ?? {}, collaborators: shape.collaborators ?? [] } as McpServerManifest;
}

function principal(slug: string, role: Principal['role'], accounts: string[], teams: string[] = []): Principal {
  return {
    subject: { subjectId: `id-${slug}`, subjectType: 'user', subjectSlug: slug, subjectDisplayName: slug },
    role,
    teams,
    accounts,
  };
}

export function selectionCases(engine: () => StoreEngine): void {
  describe('list selections (tag, reader scope)', () => {
    const create = async (name: string, shape: Shape) => {
      const { resources } = engine();
      await resources.create({ ...newResource(name), manifest: shaped(name, shape), accountId: shape.account ?? 'acme' });
    };
    const names = async (query: Omit<ListQuery, 'tenant' | 'limit' | 'offset'> & Partial<ListQuery>) => {
      const { resources } = engine();
      const full = { tenant: 'default', limit: 1000, offset: 0, ...query };
      const listed = await resources.list(full);
      const viewed = await resources.listViews(full);
      // Both reads answer the same page and total.
      expect(viewed.total).toBe(listed.total);
      expect(viewed.views.map((v) => (JSON.parse(v) as { name: string }).name)).toEqual(listed.items.map((r) => r.name));
      return { names: listed.items.map((r) => r.name), total: listed.total };
    };

    it('a tag selects the resources that carry it, in name order, paged, with the total', async () => {
      await create('c', { tags: { team: 'red', env: 'prod' } });
      await create('a', { tags: { team: 'red' } });
      await create('b', { tags: { team: 'blue' } });
      await create('d', { tags: { team: 'red', env: 'dev' } });
      expect(await names({ tag: { key: 'team', value: 'red' } })).toEqual({ names: ['a', 'c', 'd'], total: 3 });
      expect(await names({ tag: { key: 'env', value: 'prod' } })).toEqual({ names: ['c'], total: 1 });
      expect(await names({ tag: { key: 'team', value: 'green' } })).toEqual({ names: [], total: 0 });
      expect(await names({ tag: { key: 'red', value: 'team' } })).toEqual({ names: [], total: 0 });
      expect(await names({ tag: { key: 'team', value: 'red' }, limit: 1, offset: 1 })).toEqual({ names: ['c'], total: 3 });
      expect(await names({ tag: { key: 'team', value: 'red' }, limit: 2, offset: 3 })).toEqual({ names: [], total: 3 });
      expect(await names({ tag: { key: 'team', value: 'red' }, name: 'd' })).toEqual({ names: ['d'], total: 1 });
      expect(await names({ tag: { key: 'team', value: 'red' }, name: 'b' })).toEqual({ names: [], total: 0 });
      expect(await names({ tag: { key: 'team', value: 'red' }, tenant: 'elsewhere' })).toEqual({ names: [], total: 0 });
    });

    it('an update moves a resource between tags; a status write keeps it; a remove drops it', async () => {
      const { resources } = engine();
      await create('a', { tags: { team: 'red' } });
      await create('b', { tags: { team: 'red' } });
      await resources.update(fqnOf('a'), { ...updateOf('a', 2), manifest: shaped('a', { tags: { team: 'blue' } }), accountId: 'acme' });
      expect(await names({ tag: { key: 'team', value: 'red' } })).toEqual({ names: ['b'], total: 1 });
      expect(await names({ tag: { key: 'team', value: 'blue' } })).toEqual({ names: ['a'], total: 1 });
      await resources.setStatus(fqnOf('b'), readyStatus(1));
      expect(await names({ tag: { key: 'team', value: 'red' } })).toEqual({ names: ['b'], total: 1 });
      await resources.remove(fqnOf('b'));
      expect(await names({ tag: { key: 'team', value: 'red' } })).toEqual({ names: [], total: 0 });
      // The name is free again, with other tags.
      await create('b', { tags: { team: 'blue' } });
      expect(await names({ tag: { key: 'team', value: 'blue' } })).toEqual({ names: ['a', 'b'], total: 2 });
    });

    it('a scope selects the resources of its accounts that name one of its subjects, each once', async () => {
      await create('a', { account: 'acme', collaborators: [user('ann'), team('ops')] });
      await create('b', { account: 'acme', collaborators: [user('bob')] });
      await create('c', { account: 'other', collaborators: [user('ann')] });
      await create('d', { account: 'acme', collaborators: [team('ops'), team('everyone')] });
      await create('e', { account: 'acme', collaborators: [] });
      const scope = (accounts: string[], subjects: string[]) => ({ readableBy: { accounts, subjects } });
      expect(await names(scope(['acme'], ['user:ann']))).toEqual({ names: ['a'], total: 1 });
      expect(await names(scope(['acme'], ['user:ann', 'team:ops']))).toEqual({ names: ['a', 'd'], total: 2 });
      expect(await names(scope(['acme', 'other'], ['user:ann', 'team:ops', 'team:everyone']))).toEqual({ names: ['a', 'c', 'd'], total: 3 });
      expect(await names(scope(['acme'], []))).toEqual({ names: [], total: 0 });
      expect(await names(scope([], ['user:ann']))).toEqual({ names: [], total: 0 });
      expect(await names({ ...scope(['acme'], ['user:ann', 'team:ops']), limit: 1, offset: 1 })).toEqual({ names: ['d'], total: 2 });
      expect(await names({ ...scope(['acme'], ['user:ann', 'team:ops']), name: 'd' })).toEqual({ names: ['d'], total: 1 });
    });

    it('a tag and a scope together select what both select', async () => {
      await create('a', { account: 'acme', collaborators: [user('ann')], tags: { team: 'red' } });
      await create('b', { account: 'acme', collaborators: [user('bob')], tags: { team: 'red' } });
      await create('c', { account: 'acme', collaborators: [user('ann')], tags: { team: 'blue' } });
      await create('d', { account: 'acme', collaborators: [user('ann'), team('x')], tags: { team: 'red' } });
      const query = { tag: { key: 'team', value: 'red' }, readableBy: { accounts: ['acme'], subjects: ['user:ann', 'team:x'] } };
      expect(await names(query)).toEqual({ names: ['a', 'd'], total: 2 });
      expect(await names({ ...query, offset: 1, limit: 5 })).toEqual({ names: ['d'], total: 2 });
      expect(await names({ ...query, name: 'b' })).toEqual({ names: [], total: 0 });
    });

    it('a change of collaborators or account changes who reads it', async () => {
      const { resources } = engine();
      await create('a', { account: 'acme', collaborators: [user('ann')] });
      const ann = { readableBy: { accounts: ['acme'], subjects: ['user:ann'] } };
      const bobElsewhere = { readableBy: { accounts: ['other'], subjects: ['user:bob'] } };
      expect((await names(ann)).names).toEqual(['a']);
      await resources.update(fqnOf('a'), { ...updateOf('a', 2), manifest: shaped('a', { collaborators: [user('bob')] }), accountId: 'acme' });
      expect((await names(ann)).names).toEqual([]);
      expect((await names(bobElsewhere)).names).toEqual([]);
      await resources.update(fqnOf('a'), { ...updateOf('a', 3), manifest: shaped('a', { collaborators: [user('bob')] }), accountId: 'other' });
      expect((await names(bobElsewhere)).names).toEqual(['a']);
    });

    it("a principal's scope selects exactly what canRead lets it read", async () => {
      const policy = new RoleAccessPolicy();
      const people = [
        principal('ann', 'viewer', ['acme']),
        principal('bob', 'editor', ['acme', 'other'], ['ops']),
        principal('cat', 'viewer', ['other'], ['ops']),
        principal('dan', 'editor', []),
        principal('eve', 'viewer', ['acme'], ['everyone-else']),
      ];
      const accounts = ['acme', 'other', 'third'];
      const subjects = [user('ann'), user('bob'), user('cat'), team('ops'), team('everyone'), { subject: 'id-eve', role_id: 'mcp-server-user' } as Collaborator];
      for (let i = 0; i < 24; i++) {
        // Every account, and every pair of collaborator subjects (some none).
        const collaborators = [subjects[i % subjects.length]!, ...(i % 4 === 0 ? [] : [subjects[(i * 5 + 1) % subjects.length]!])];
        await create(`s${String(i).padStart(2, '0')}`, { account: accounts[i % accounts.length]!, collaborators: i % 7 === 6 ? [] : collaborators, tags: { i: String(i % 2) } });
      }
      const { resources } = engine();
      for (const p of people) {
        const readableBy = policy.readScope(p)!;
        const expected = await resources.list({ tenant: 'default', limit: 1000, offset: 0, filter: (r) => policy.canRead(p, r) });
        expect(await names({ readableBy })).toEqual({ names: expected.items.map((r) => r.name), total: expected.total });
        const tagged = expected.items.filter((r) => r.manifest.tags.i === '1').map((r) => r.name);
        expect(await names({ readableBy, tag: { key: 'i', value: '1' } })).toEqual({ names: tagged, total: tagged.length });
      }
      expect(policy.readScope(principal('root', 'admin', []))).toBeUndefined();
    });
  });
}
