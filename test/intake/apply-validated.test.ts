// intake.applyValidated: a manifest validated where it was read (a watched file's documents) goes
// through the rest of the pipeline as apply() would take it, and is not validated a second time.
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { ForbiddenError } from '../../src/domain/errors.js';
import { adminPrincipal, type Principal } from '../../src/domain/principal.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Intake, type ApplyInput } from '../../src/intake/index.js';
import { validateManifest, type ValidatedManifest } from '../../src/manifest/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { remoteManifest } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';

let stores: SqliteResourceStore[] = [];
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});

function intake(): { intake: Intake; store: SqliteResourceStore } {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new SqliteResourceStore({ path: ':memory:', views: resourceViews, clock });
  stores.push(store);
  return { intake: new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {}, newId: () => 'id-1', clock }), store };
}

function validated(value: unknown): ValidatedManifest {
  const result = validateManifest(value);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.manifest;
}

const input = (manifest: unknown, principal: Principal = adminPrincipal('default')): ApplyInput => ({
  manifest,
  dryRun: false,
  force: false,
  metadata: undefined,
  source: { kind: 'file', root: '/m', path: 'a.yaml', document: 0 },
  principal,
});

it('stores what apply() stores for the same manifest: normalised, hashed, planned', async () => {
  const raw = remoteManifest({ tags: { b: '2', a: '1' } });
  const viaApply = intake();
  const viaValidated = intake();
  const applied = await viaApply.intake.apply(input(raw));
  const result = await viaValidated.intake.applyValidated({ ...input(validated(raw)), manifest: validated(raw) });
  expect(result.action).toBe('CREATE');
  expect(result.resource.manifest).toEqual(applied.resource.manifest);
  expect(result.resource.specHash).toBe(applied.resource.specHash);
  expect((await viaValidated.store.getWithAnswer(result.resource.fqn))!.answer).toEqual((await viaApply.store.getWithAnswer(applied.resource.fqn))!.answer);
  // Applied again, it is unchanged.
  expect((await viaValidated.intake.applyValidated({ ...input(validated(raw)), manifest: validated(raw) })).action).toBe('UNCHANGED');
});

it('still asks the policy whether the caller may write', async () => {
  const { intake: i, store } = intake();
  const viewer: Principal = { ...adminPrincipal('default'), role: 'viewer' };
  const manifest = validated(remoteManifest());
  await expect(i.applyValidated({ ...input(manifest, viewer), manifest })).rejects.toThrow(ForbiddenError);
  expect((await store.count())).toBe(0);
});
