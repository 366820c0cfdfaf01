// Two writers on one database (two replicas, each with its own connection and intake): a write that
// loses the race between its read and its commit is planned again against the winner's result, so no
// update is lost and generation and resourceVersion only grow; a caller who sent If-Match gets 412.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { ConflictError, PreconditionFailedError } from '../../src/domain/errors.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Intake, type ApplyInput } from '../../src/intake/index.js';
import type { ResourceReader, ResourceWriter, RevisionLog } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { remoteManifest } from '../support/control-plane.js';

const FQN = 'default:mcp-server:github-tools';
const principal = adminPrincipal('default');

let dir: string;
let stores: SqliteResourceStore[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'concurrent-writers-'));
  stores = [];
});
afterEach(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(): SqliteResourceStore {
  const store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  stores.push(store);
  return store;
}

/**
 * The store of one replica, on which `other` runs right before each of the next `times` writes: after
 * this replica's intake read and planned, before its commit (as another replica's commit would land).
 */
function racedBy(store: SqliteResourceStore, other: () => Promise<unknown>, times = 1): ResourceReader & ResourceWriter & Pick<RevisionLog, 'getRevision'> {
  let left = times;
  const race = async () => {
    if (left-- > 0) await other();
  };
  return {
    get: (...a) => store.get(...a),
    getWithAnswer: (...a) => store.getWithAnswer(...a),
    getById: (...a) => store.getById(...a),
    list: (...a) => store.list(...a),
    listViews: (...a) => store.listViews(...a),
    listKeys: (...a) => store.listKeys(...a),
    viewsOf: (...a) => store.viewsOf(...a),
    listRefs: (...a) => store.listRefs(...a),
    readinessCounts: (...a) => store.readinessCounts(...a),
    sourcesOf: (...a) => store.sourcesOf(...a),
    keys: () => store.keys(),
    syncStates: () => store.syncStates(),
    count: () => store.count(),
    recordEvent: (...a) => store.recordEvent(...a),
    getRevision: (...a) => store.getRevision(...a),
    create: async (...a) => (await race(), await store.create(...a)),
    update: async (...a) => (await race(), await store.update(...a)),
    remove: async (...a) => (await race(), await store.remove(...a)),
  };
}

const put = (description: string, extra: Partial<ApplyInput> = {}): ApplyInput => ({
  manifest: remoteManifest({ description }),
  dryRun: false,
  force: false,
  metadata: undefined,
  source: { kind: 'api' },
  principal,
  ...extra,
});

function replicas(times = 1) {
  const b = new Intake({ store: connect(), tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
  let bWrites = 0;
  const bWrite = () => b.apply(put(`from B ${++bWrites}`));
  const storeA = connect();
  const a = new Intake({ store: racedBy(storeA, bWrite, times), tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
  return { a, b, storeA };
}

it('an update that lost the race is planned again on the winner: both count, generation and resourceVersion grow', async () => {
  const { a, b, storeA } = replicas();
  const created = (await b.apply(put('first'))).resource;
  const result = await a.apply(put('from A'));
  expect(result.action).toBe('UPDATE');
  // Planned against B's write: the diff is from B's description, and the generation follows B's.
  expect(result.existing).toMatchObject({ generation: 2, manifest: { description: 'from B 1' } });
  expect(result.diff).toEqual([expect.objectContaining({ path: '/description', from: 'from B 1', to: 'from A' })]);
  expect(result.resource).toMatchObject({ id: created.id, generation: 3 });
  const changes = await storeA.changesSince(created.resourceVersion, 10);
  expect(changes.map((c) => [c.object.generation, c.object.manifest.description])).toEqual([
    [2, 'from B 1'],
    [3, 'from A'],
  ]);
  expect(changes.map((c) => c.resourceVersion)).toEqual([created.resourceVersion + 1, created.resourceVersion + 2]);
  expect((await storeA.listEvents({ resourceId: created.id, limit: 10 })).map((e) => e.message)).toEqual([
    expect.stringContaining('Created'),
    expect.stringContaining('generation 2'),
    expect.stringContaining('generation 3'),
  ]);
});

it('a create that lost the race to a create of the same name becomes an update of it', async () => {
  const { a, storeA } = replicas();
  const result = await a.apply(put('from A'));
  expect(result.action).toBe('UPDATE');
  const stored = (await storeA.get(FQN))!;
  expect(stored).toMatchObject({ generation: 2, manifest: { description: 'from A' } });
  expect((await storeA.changesSince(0, 10)).map((c) => c.type)).toEqual(['ADDED', 'MODIFIED']);
});

it('with If-Match, the loser gets 412 and the winner\'s write stays', async () => {
  const { a, b, storeA } = replicas();
  const created = (await b.apply(put('first'))).resource;
  await expect(a.apply(put('from A', { ifMatch: `"${created.resourceVersion}"` }))).rejects.toThrow(PreconditionFailedError);
  expect((await storeA.get(FQN))).toMatchObject({ generation: 2, manifest: { description: 'from B 1' } });
});

it('a delete that lost the race to an update deletes what the update left, or answers 412 with If-Match', async () => {
  const first = replicas();
  await first.b.apply(put('first'));
  await expect(first.a.delete({ fqn: FQN, source: { kind: 'api' }, principal, ifMatch: '"1"' })).rejects.toThrow(PreconditionFailedError);
  expect((await first.storeA.get(FQN))?.manifest.description).toBe('from B 1');
  const removed = await first.a.delete({ fqn: FQN, source: { kind: 'api' }, principal });
  expect(removed.manifest.description).toBe('from B 1');
  expect((await first.storeA.get(FQN))).toBeUndefined();
});

it('a writer that loses every race gives up after a bounded number of tries, having written nothing', async () => {
  const { a, b, storeA } = replicas(Infinity);
  await b.apply(put('first'));
  await expect(a.apply(put('from A'))).rejects.toThrow(ConflictError);
  const stored = (await storeA.get(FQN))!;
  expect(stored.manifest.description).toMatch(/^from B /);
  expect((await storeA.changesSince(0, 100)).every((c) => c.object.manifest.description !== 'from A')).toBe(true);
});
