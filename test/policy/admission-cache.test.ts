// The admission policies are read again only after one of them was written, and a write of a policy
// counts wherever it was made: the policies' version is read from the store at every review. Two
// connections to one store stand for two replicas sharing it (two connections to one SQLite file; two
// pools on one PostgreSQL schema): policies written through `other` (its own intake) apply to the very
// next write through `store`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { PolicyViolationError } from '../../src/domain/errors.js';
import { policyScope, type AdmissionPolicyManifest } from '../../src/domain/policy.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Intake } from '../../src/intake/index.js';
import { Admission } from '../../src/policy/admission.js';
import { PolicyEvaluator } from '../../src/policy/policy-evaluator.js';
import { scopeVersion } from '../../src/policy/policy-scope-version.js';
import type { ResourceStore } from '../../src/store/index.js';
import { migrate, PostgresDatabase, PostgresResourceStore } from '../../src/store/postgres/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { remoteManifest } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const TENANT = 'default';
const admin = adminPrincipal(TENANT);

/** Two connections to one fresh store, and how to drop them. */
interface Pair {
  store: ResourceStore;
  other: ResourceStore;
  dispose(): Promise<void>;
}

async function sqlitePair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'admission-cache-'));
  const store = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  const other = new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews });
  return {
    store,
    other,
    async dispose() {
      await store.close();
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresPair(): Promise<Pair> {
  const { url } = await (await testPostgres()).freshSchema();
  const one = await PostgresDatabase.open(url, { max: 2 });
  const two = await PostgresDatabase.open(url, { max: 2 });
  await migrate(one.pool);
  const store = await PostgresResourceStore.open({ database: one, views: resourceViews });
  const other = await PostgresResourceStore.open({ database: two, views: resourceViews });
  return {
    store,
    other,
    async dispose() {
      await store.close();
      await other.close();
      await one.close();
      await two.close();
    },
  };
}

const engines: [string, () => Promise<Pair>, boolean][] = [
  ['SQLite', sqlitePair, true],
  ['PostgreSQL', postgresPair, requirePostgres().path !== undefined],
];

describe.each(engines)('%s', (_name, open, available) => {
  const maybe = available ? test : test.skip;
  let pair: Pair;
  let store: ResourceStore;
  let other: ResourceStore;
  let evaluator: PolicyEvaluator;
  let intake: Intake;
  let otherIntake: Intake;
  /** How often the policies themselves were read (not their version). */
  let reads: number;

  beforeAll(async () => {
    if (available && open === postgresPair) await testPostgres();
  }, POSTGRES_START_TIMEOUT_MS);

  beforeEach(async () => {
    if (!available) return;
    pair = await open();
    ({ store, other } = pair);
    evaluator = new PolicyEvaluator();
    reads = 0;
    const admission = new Admission({
      policies: async () => {
        reads++;
        return (await store.list({ tenant: policyScope(TENANT), limit: 1000, offset: 0, masked: true })).items.map((r) => r.manifest as unknown as AdmissionPolicyManifest);
      },
      policiesVersion: () => scopeVersion(store, policyScope(TENANT)),
      evaluator,
    });
    intake = new Intake({ store, tenant: TENANT, policy: new RoleAccessPolicy(), enqueue: () => {}, admission });
    otherIntake = new Intake({ store: other, tenant: TENANT, policy: new RoleAccessPolicy(), enqueue: () => {} });
  });

  afterEach(async () => {
    if (!available) return;
    await evaluator.close();
    await pair.dispose();
  });

  function policy(rules: { expression: string; message: string }[], action = 'deny'): Record<string, unknown> {
    return { type: 'mcp-policy/admission', name: 'tags', description: 'tags', rules, action };
  }
  const needsOwner = { expression: 'has(object.tags.owner)', message: 'Every server needs an owner tag' };
  const needsTeam = { expression: 'has(object.tags.team)', message: 'Every server needs a team tag' };

  function write(through: Intake, manifest: Record<string, unknown>) {
    return through.apply({ manifest, dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal: admin });
  }

  maybe('unchanged policies are read once for many writes; a policy changed elsewhere applies to the very next write', async () => {
    await write(otherIntake, policy([needsOwner]));
    for (let i = 0; i < 3; i++) await write(intake, remoteManifest({ name: `s${i}`, tags: { owner: 'me' } }));
    expect(reads).toBe(1);
    await expect(write(intake, remoteManifest({ name: 'untagged' }))).rejects.toThrow(/Every server needs an owner tag/);
    expect(reads).toBe(1);

    // Another writer changes the rule: the next write is reviewed against the new one.
    await write(otherIntake, policy([needsTeam]));
    const refused = write(intake, remoteManifest({ name: 's3', tags: { owner: 'me' } }));
    await expect(refused).rejects.toBeInstanceOf(PolicyViolationError);
    await expect(refused).rejects.toThrow(/Every server needs a team tag/);
    expect(reads).toBe(2);
    expect((await write(intake, remoteManifest({ name: 's3', tags: { team: 'a' } }))).action).toBe('CREATE');
    expect(reads).toBe(2);
  });

  maybe('a policy deleted elsewhere no longer applies to the very next write; one created elsewhere applies at once', async () => {
    await write(otherIntake, policy([needsOwner]));
    await expect(write(intake, remoteManifest({ name: 'untagged' }))).rejects.toThrow(/owner tag/);
    await otherIntake.deletePolicy({ name: 'tags', source: { kind: 'api' }, principal: admin });
    expect((await write(intake, remoteManifest({ name: 'untagged' }))).action).toBe('CREATE');
    await write(otherIntake, policy([needsTeam]));
    await expect(write(intake, remoteManifest({ name: 'untagged-2' }))).rejects.toThrow(/team tag/);
  });

  maybe('a policy whose status alone changed (its audit summary) is read again and answers the same', async () => {
    await write(otherIntake, policy([needsOwner], 'warn'));
    expect((await write(intake, remoteManifest({ name: 'a' }))).admission.map((v) => v.message)).toEqual(['Every server needs an owner tag']);
    const stored = (await other.get(`${policyScope(TENANT)}:tags`))!;
    await other.setStatus(stored.fqn, { ...stored.status, observedGeneration: stored.generation }, { id: stored.id, generation: stored.generation });
    expect((await write(intake, remoteManifest({ name: 'b' }))).admission.map((v) => v.message)).toEqual(['Every server needs an owner tag']);
    expect(reads).toBe(2);
  });
});
