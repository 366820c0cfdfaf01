// Who may do what, through the real HTTP server: each tenant role against each route, accounts,
// collaborators and team matching. A resource the caller may not read answers 404 everywhere and is
// missing from every list (servers, events, the gateway view, sources).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile, type TestToken } from './support.js';

const API = '/api/svc/v1/mcp-servers';

const T = {
  root: { token: 'root-token-0123456789abcdef', subject: 'user:root@example.com', role: 'admin', accounts: ['acme'] },
  alice: { token: 'alice-token-0123456789abcdef', subject: 'user:alice@example.com', role: 'editor', teams: ['blue'], accounts: ['acme'] },
  bob: { token: 'bob-token-0123456789abcdef', subject: 'user:bob@example.com', role: 'editor', teams: ['red'], accounts: ['acme', 'globex'] },
  carol: { token: 'carol-token-0123456789abcdef', subject: 'user:carol@example.com', role: 'viewer', teams: ['blue'], accounts: ['acme'] },
  dave: { token: 'dave-token-0123456789abcdef', subject: 'user:dave@example.com', role: 'viewer', accounts: ['acme'] },
  erin: { token: 'erin-token-0123456789abcdef', subject: 'user:erin@example.com', role: 'editor', teams: ['blue'], accounts: ['globex'] },
  ci: { token: 'ci-token-0123456789abcdef', subject: 'serviceaccount:ci', role: 'editor', accounts: ['acme'] },
  agent: { token: 'agent-token-0123456789abcdef', subject: 'virtualaccount:agent', role: 'viewer', accounts: ['acme'] },
  nobody: { token: 'nobody-token-0123456789abcdef', subject: 'user:zed@example.com', role: 'editor', accounts: [] },
} satisfies Record<string, TestToken>;
type Who = keyof typeof T;

const mgr = (subject: string) => ({ subject, role_id: 'mcp-server-manager' });
const usr = (subject: string) => ({ subject, role_id: 'mcp-server-user' });

/** name → account and collaborators; created by the break-glass admin. */
const SERVERS = {
  's-alice': { account: 'acme', collaborators: [mgr('user:alice@example.com'), usr('team:blue')] },
  's-public': { account: 'acme', collaborators: [usr('team:everyone')] },
  's-globex': { account: 'globex', collaborators: [mgr('user:alice@example.com'), usr('team:blue')] },
  's-ci': { account: 'acme', collaborators: [mgr('serviceaccount:ci'), usr('virtualaccount:agent')] },
};
type Server = keyof typeof SERVERS;

/** Who may read which server (the whole rule: admin, or in the account and a collaborator of any role). */
const READS: Record<Who, Server[]> = {
  root: ['s-alice', 's-public', 's-globex', 's-ci'],
  alice: ['s-alice', 's-public'],
  bob: ['s-public'],
  carol: ['s-alice', 's-public'],
  dave: ['s-public'],
  erin: ['s-globex'],
  ci: ['s-public', 's-ci'],
  agent: ['s-public', 's-ci'],
  nobody: [],
};

const manifest = (name: string, collaborators: object[], extra: Record<string, unknown> = {}) =>
  remoteManifest({ name, collaborators, ...extra });

describe('authorization through the real server', () => {
  let cp: TestControlPlane;
  let dir: string;
  const ids: Record<string, string> = {};
  const as = (who: Who, path: string, init: { method?: string; body?: unknown } = {}) => cp.api(path, { ...init, token: T[who].token });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-authz-'));
    writeTokensFile(join(dir, 'tokens.yaml'), Object.values(T));
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(
      join(manifests, 'shared.yaml'),
      `type: mcp-server/remote\nname: f-blue\ndescription: d\nurl: http://127.0.0.1:9/mcp\nownedBy: { account: acme }\ncollaborators:\n  - subject: team:blue\n    role_id: mcp-server-user\n`,
    );
    writeFileSync(
      join(manifests, 'private.yaml'),
      `type: mcp-server/remote\nname: f-private\ndescription: d\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: user:root@example.com\n    role_id: mcp-server-manager\n`,
    );
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--tokens-file', join(dir, 'tokens.yaml')], manifests: [manifests] });
    for (const [name, s] of Object.entries(SERVERS)) {
      const r = await cp.api(API, { method: 'PUT', body: { manifest: manifest(name, s.collaborators, { ownedBy: { account: s.account } }) } });
      expect(r.status).toBe(200);
      ids[name] = r.json.data.id;
    }
    await waitFor(async () => (await cp.api('/api/svc/v1/gateway/servers')).json.data.length === 6, { what: 'every gateway entry' });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = (rows: { name?: string; subject?: { fqn: string } }[]) =>
    [...new Set(rows.map((r) => r.name ?? r.subject!.fqn.split(':').pop()!))].filter((n) => n.startsWith('s-')).sort();

  describe.each(Object.keys(T) as Who[])('%s', (who) => {
    it.each(Object.keys(SERVERS) as Server[])('reads %s only if allowed, else 404 on every read route', async (server) => {
      const allowed = READS[who].includes(server);
      const id = ids[server]!;
      const unknownId = '00000000-0000-4000-8000-000000000000';
      for (const [path, absent] of [
        [`${API}/name/${server}`, `${API}/name/zz-${server}`],
        [`${API}/${id}`, `${API}/${unknownId}`],
        [`${API}/${id}/events`, `${API}/${unknownId}/events`],
      ] as const) {
        const r = await as(who, path);
        expect([path, r.status]).toEqual([path, allowed ? 200 : 404]);
        // Exactly what a server that does not exist answers.
        if (!allowed) expect(r.text).toBe((await as(who, absent)).text.replace(`zz-${server}`, server).replace(unknownId, id));
      }
      if (!allowed) {
        // Deleting (by id and by name) what you cannot read is a 404 too, and deletes nothing.
        expect((await as(who, `${API}/${id}`, { method: 'DELETE' })).status).toBe(404);
        expect((await as(who, `${API}/name/${server}`, { method: 'DELETE' })).status).toBe(404);
        expect((await cp.api(`${API}/${id}`)).status).toBe(200);
      }
    });

    it('lists, events and the gateway view show exactly the readable servers', async () => {
      const expected = [...READS[who]].sort();
      expect(names((await as(who, `${API}?limit=1000`)).json.data)).toEqual(expected);
      expect(names((await as(who, '/api/svc/v1/events?limit=1000')).json.data)).toEqual(expected);
      expect(names((await as(who, '/api/svc/v1/gateway/servers')).json.data)).toEqual(expected);
      const list = await as(who, `${API}?limit=1000`);
      expect(list.json.pagination.total).toBe(names(list.json.data).length + list.json.data.filter((d: { name: string }) => !d.name.startsWith('s-')).length);
    });
  });

  it('the watch stream shows each caller exactly the servers it may read', async () => {
    for (const who of ['root', 'alice', 'carol', 'erin', 'nobody'] as Who[]) {
      const abort = new AbortController();
      const res = await fetch(`${cp.url}${API}?watch=true`, { headers: { authorization: `Bearer ${T[who].token}` }, signal: abort.signal });
      expect(res.status).toBe(200);
      let text = '';
      const decoder = new TextDecoder();
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      while (!text.includes('"initialEventsEnd":true')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      abort.abort();
      const shown = text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { type: string; object: { name?: string } })
        .filter((e) => e.type === 'ADDED')
        .map((e) => e.object.name!)
        .filter((n) => n.startsWith('s-'))
        .sort();
      expect([who, shown]).toEqual([who, [...READS[who]].sort()]);
    }
  });

  it('sources: a non-admin sees only files that declare a server it may read, without content hashes', async () => {
    const admin = await as('root', '/api/svc/v1/sources');
    expect(admin.json.data[0].files.map((f: { path: string }) => f.path)).toEqual(['private.yaml', 'shared.yaml']);
    expect(admin.json.data[0].files[0].contentHash).toMatch(/^sha256:/);
    const carol = await as('carol', '/api/svc/v1/sources');
    expect(carol.json.data[0].files).toEqual([{ path: 'shared.yaml', contentHash: null, resources: ['f-blue'], errors: [] }]);
    const dave = await as('dave', '/api/svc/v1/sources');
    expect(dave.json.data[0].files).toEqual([]);
    // The file source writes as serviceaccount:gitops.
    const fBlue = await as('carol', `${API}/name/f-blue`);
    expect(fBlue.json.data.createdBySubject.subjectId).toBe('serviceaccount:gitops');
  });

  describe('writes', () => {
    const put = (who: Who, m: object, extra: Record<string, unknown> = {}) => as(who, API, { method: 'PUT', body: { manifest: m, ...extra } });
    const stored = async (name: string) => (await cp.api(`${API}/name/${name}`)).json.data;

    it('a manager (user or through a team) updates; removing your own manager rights is refused with why', async () => {
      const ok = await put('alice', manifest('s-alice', SERVERS['s-alice'].collaborators, { description: 'alice was here' }));
      expect(ok.status).toBe(200);
      expect(ok.json.data.accountId).toBe('acme');
      const before = await stored('s-alice');
      const orphan = await put('alice', manifest('s-alice', [usr('user:alice@example.com'), mgr('user:bob@example.com')]));
      expect(orphan.status).toBe(403);
      expect(orphan.json.error.message).toBe(
        'This change would leave you without mcp-server-manager rights on "s-alice"; keep a collaborator entry with role_id mcp-server-manager for yourself or one of your teams.',
      );
      // Manager through team:blue is enough.
      const viaTeam = await put('alice', manifest('s-alice', [mgr('team:blue')]));
      expect(viaTeam.status).toBe(200);
      const back = await put('alice', manifest('s-alice', SERVERS['s-alice'].collaborators));
      expect(back.status).toBe(200);
      expect((await stored('s-alice')).resourceVersion).not.toBe(before.resourceVersion);
    });

    it('viewers cannot write; users (not managers) cannot update or delete; non-readers get 404 or "taken"', async () => {
      const before = await stored('s-alice');
      const viewer = await put('carol', manifest('s-alice', [mgr('user:carol@example.com')]));
      expect(viewer.status).toBe(403);
      expect(viewer.json.error.message).toContain('viewers cannot create or change');
      expect((await as('carol', `${API}/name/s-alice`, { method: 'DELETE' })).status).toBe(403);
      expect((await put('carol', manifest('s-new-by-viewer', [mgr('user:carol@example.com')]))).status).toBe(403);

      const userOnly = await put('ci', manifest('s-public', [mgr('serviceaccount:ci')]));
      expect(userOnly.status).toBe(403);
      expect(userOnly.json.error.message).toContain('not a collaborator with role mcp-server-manager');
      expect((await as('ci', `${API}/name/s-public`, { method: 'DELETE' })).status).toBe(403);
      expect((await as('erin', `${API}/name/s-globex`, { method: 'DELETE' })).status).toBe(403);

      // bob cannot see s-alice: the write cannot create over it, nor learn what it holds.
      const taken = await put('bob', manifest('s-alice', [mgr('user:bob@example.com')]));
      expect(taken.status).toBe(403);
      expect(taken.json.error.message).toBe('The name "s-alice" is taken; choose another name.');
      const dry = await put('bob', manifest('s-alice', [mgr('user:bob@example.com')]), { dryRun: true });
      expect(dry.status).toBe(403);
      expect(dry.text).not.toContain('alice@example.com');
      expect((await as('bob', `${API}/name/s-alice`, { method: 'DELETE' })).status).toBe(404);
      // A masked secret sent for a server you cannot read is answered the same whether it holds one or not.
      const masked = await put('bob', manifest('s-globex', [mgr('user:bob@example.com')], { additional_headers: { 'X-Key': '********' } }));
      expect(masked.status).toBe(400);
      expect(masked.json.error.message).toContain('no secret is stored at this path');
      // Nothing changed.
      const after = await stored('s-alice');
      expect(after.resourceVersion).toBe(before.resourceVersion);
      expect(after.manifest).toEqual(before.manifest);
    });

    it('ownedBy.account must be one of yours; the default is your first account; accountId answers it', async () => {
      const mine = [mgr('user:bob@example.com')];
      const dflt = await put('bob', manifest('b-default', mine));
      expect([dflt.status, dflt.json.data.accountId]).toEqual([200, 'acme']);
      const second = await put('bob', manifest('b-globex', mine, { ownedBy: { account: 'globex' } }));
      expect([second.status, second.json.data.accountId]).toEqual([200, 'globex']);
      const foreign = await put('bob', manifest('b-initech', mine, { ownedBy: { account: 'initech' } }));
      expect(foreign.status).toBe(403);
      expect(foreign.json.error.message).toBe('ownedBy.account "initech" is not one of your accounts (acme, globex).');
      const none = await put('nobody', manifest('z-none', [mgr('user:zed@example.com')]));
      expect(none.status).toBe(403);
      expect(none.json.error.message).toContain('no account');
      const admin = await put('root', manifest('r-anywhere', [usr('team:everyone')], { ownedBy: { account: 'initech' } }));
      expect([admin.status, admin.json.data.accountId]).toEqual([200, 'initech']);
      // erin is in globex only: she reads b-globex? Not a collaborator there, so no.
      expect((await as('erin', `${API}/name/b-globex`)).status).toBe(404);
      expect((await as('bob', `${API}/name/b-globex`)).status).toBe(200);
    });

    it('an editor creates as itself, may delete what it manages, and may not introduce a secret reference', async () => {
      const created = await put('ci', manifest('ci-made', [mgr('serviceaccount:ci')]));
      expect(created.status).toBe(200);
      expect(created.json.data.createdBySubject).toEqual({ subjectId: 'serviceaccount:ci', subjectType: 'serviceaccount', subjectSlug: 'ci', subjectDisplayName: 'ci' });
      const ref = await put('ci', manifest('ci-ref', [mgr('serviceaccount:ci')], { additional_headers: { 'X-Key': '${env:HOME}' } }));
      expect(ref.status).toBe(403);
      expect(ref.json.error.message).toContain('reserved to tenant admins');
      expect((await as('ci', `${API}/name/ci-made`, { method: 'DELETE' })).status).toBe(200);
      expect((await as('ci', `${API}/name/ci-made`)).status).toBe(404);
    });

    it('a secret reference an admin stored may be kept (sent back masked) by a manager, not changed to another', async () => {
      const withRef = manifest('s-ref', [mgr('user:alice@example.com')], { additional_headers: { 'X-Key': '${env:SOME_TOKEN}' } });
      expect((await put('root', withRef)).status).toBe(200);
      const keep = await put('alice', manifest('s-ref', [mgr('user:alice@example.com')], { description: 'kept', additional_headers: { 'X-Key': '********' } }));
      expect(keep.status).toBe(200);
      const other = await put('alice', manifest('s-ref', [mgr('user:alice@example.com')], { additional_headers: { 'X-Key': '${env:OTHER}' } }));
      expect(other.status).toBe(403);
    });

    it('an unknown collaborator role is a validation error', async () => {
      const r = await put('alice', manifest('x-role', [{ subject: 'user:alice@example.com', role_id: 'mcp-server-owner' }]));
      expect(r.status).toBe(400);
      expect(r.json.error.details[0].path).toBe('/manifest/collaborators/0/role_id');
    });

    it('admins (break-glass and from the file) delete anything', async () => {
      expect((await as('root', `${API}/${ids['s-globex']}`, { method: 'DELETE' })).status).toBe(200);
      expect((await cp.api(`${API}/${ids['s-ci']}`, { method: 'DELETE' })).status).toBe(200);
    });
  });
});
