// Group commit on SQLite: the writes made outside every unit in one event-loop turn share one transaction
// (one commit, one fsync under synchronous=FULL), each in a savepoint of its own, and each is answered only
// once that commit is done; a write that fails (its compare-and-swap, its own 409/412) fails alone.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { PreconditionFailedError } from '../../src/domain/errors.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { initialStatus, type McpServerResource } from '../../src/domain/resource.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Intake } from '../../src/intake/index.js';
import { WriteConflictError, type NewResource } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { remoteManifest } from '../support/control-plane.js';

const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];

function newResource(name: string): NewResource {
  return {
    id: `id-${name}`,
    tenant: 'default',
    name,
    fqn: `default:mcp-server:${name}`,
    manifest: { type: 'mcp-server/remote', name, description: name, url: 'http://127.0.0.1:9/mcp' } as unknown as McpServerManifest,
    specHash: `hash-${name}`,
    source: { kind: 'api' },
    metadata: {},
    accountId: 'default',
    createdBy: subject,
    status: initialStatus(),
  };
}

let dir: string;
let path: string;
let store: SqliteResourceStore;
/** Another connection to the same file: it sees only what was committed. */
let other: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  path = join(dir, 'control-plane.db');
  store = new SqliteResourceStore({ path, views: resourceViews });
  other = new Database(path, { readonly: true });
});
afterEach(async () => {
  other.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const committedRows = (): number => other.prepare('SELECT count(*) FROM resources').pluck().get() as number;
/** Frames in the WAL: each commit appends every page it changed, so fewer commits leave fewer frames. */
const walFrames = (): number => {
  const pageSize = other.pragma('page_size', { simple: true }) as number;
  const size = statSync(`${path}-wal`).size;
  return size <= 32 ? 0 : (size - 32) / (pageSize + 24);
};

describe('group commit (SQLite)', () => {
  it('commits the writes of one turn together, and answers each only after that commit', async () => {
    await store.create(newResource('warm-up'));
    const before = walFrames();
    for (let i = 0; i < 20; i++) await store.create(newResource(`one-by-one-${i}`));
    const oneByOne = walFrames() - before;

    const seenAtAnswer: number[] = [];
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.create(newResource(`together-${i}`)).then(() => seenAtAnswer.push(committedRows())),
    );
    // Nothing is committed (nor acknowledged) within the turn the writes were made in.
    expect(committedRows()).toBe(21);
    const mark = walFrames();
    await Promise.all(writes);
    const together = walFrames() - mark;
    // Every write was answered after all 20 were committed: one commit, not twenty.
    expect(seenAtAnswer).toEqual(Array(20).fill(41));
    expect(together * 5).toBeLessThan(oneByOne);
  });

  it('fails only the write whose compare-and-swap fails; its neighbours commit', async () => {
    await store.create(newResource('existing'));
    const stored = (await store.get('default:mcp-server:existing'))!;
    const [a, dup, b, stale] = await Promise.allSettled([
      store.create(newResource('a')),
      store.create(newResource('a')),
      store.create(newResource('b')),
      store.update(stored.fqn, { ...newResource('existing'), generation: 2, updatedBy: subject }, { expect: { resourceVersion: stored.resourceVersion - 1 } }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('fulfilled');
    expect(dup.status === 'rejected' && dup.reason).toBeInstanceOf(WriteConflictError);
    expect(stale.status === 'rejected' && stale.reason).toBeInstanceOf(WriteConflictError);
    expect((await store.keys()).sort()).toEqual(['default:mcp-server:a', 'default:mcp-server:b', 'default:mcp-server:existing']);
    expect((await store.get(stored.fqn))!.generation).toBe(1);
  });

  it('keeps per-request answers through intake: concurrent PUTs of one name with the same If-Match get one 200 and 412s', async () => {
    const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
    const principal = adminPrincipal('default');
    const put = (manifest: Record<string, unknown>, ifMatch?: string) =>
      intake.apply({ manifest, dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal, ...(ifMatch ? { ifMatch } : {}) });
    const created = await put(remoteManifest({ name: 'shared' }));
    const rv = String(created.resource.resourceVersion);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => put(remoteManifest({ name: 'shared', description: `edit ${i}` }), `"${rv}"`)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ resource: McpServerResource }>[];
    expect(ok).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
    expect((await store.get('default:mcp-server:shared'))!.generation).toBe(2);

    // Without If-Match each PUT is planned again against the winner and none is lost.
    const many = await Promise.all(Array.from({ length: 5 }, (_, i) => put(remoteManifest({ name: `n-${i}` }))));
    expect(many.map((r) => r.action)).toEqual(Array(5).fill('CREATE'));
    expect(committedRows()).toBe(6);
  });
});
