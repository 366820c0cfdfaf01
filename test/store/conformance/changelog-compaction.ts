// The changelog's compact form (change-rows.ts), alike on every engine: a status write's entry is its
// status alone, read back as the whole resource on the full entry before it, and pruning never drops the
// full entry a kept status entry is read from: resuming a watch answers the same objects as before.
import type { ResourceStatus } from '../../../src/domain/resource.js';
import { FakeClock } from '../../support/fake-clock.js';
import { waitFor } from '../../support/wait-for.js';
import type { StoreEngine, StoreEngineFactory } from './engine.js';
import { fqnOf, newResource, readyStatus, updateOf } from './fixtures.js';

const statusNo = (i: number): ResourceStatus => ({ ...readyStatus(1), conditions: [{ ...readyStatus(1).conditions[0]!, message: `status ${i}` }] });

interface ChangelogRow {
  resource_version: number;
  fqn: string;
  type: string;
  object: string;
}

async function changelogRows(engine: StoreEngine): Promise<ChangelogRow[]> {
  const rows = (await engine.rawRows('changelog')) as unknown as ChangelogRow[];
  return rows.map((r) => ({ ...r, resource_version: Number(r.resource_version) })).sort((a, b) => a.resource_version - b.resource_version);
}

export function changelogCompactionCases(engine: () => StoreEngine, factory: StoreEngineFactory): void {
  describe('changelog compaction', () => {
    it('stores a status write as its status alone and answers it as the whole resource', async () => {
      const { resources } = engine();
      await resources.create(newResource('a'));
      await resources.create(newResource('b'));
      const afterEach: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        await resources.setStatus(fqnOf('a'), statusNo(i));
        afterEach.push(await resources.get(fqnOf('a')));
      }
      await resources.update(fqnOf('a'), updateOf('a', 2));
      await resources.setStatus(fqnOf('a'), statusNo(9));
      const rows = await changelogRows(engine());
      expect(rows.map((r) => r.type)).toEqual(['ADDED', 'ADDED', 'STATUS', 'STATUS', 'STATUS', 'MODIFIED', 'STATUS']);
      // A status entry holds the status, not the manifest: its bytes are the status's.
      expect(rows[2]!.object).toBe(JSON.stringify(statusNo(0)));
      const changes = await resources.changesSince(0, 100);
      const added = changes[0]!.object;
      for (let i = 0; i < 3; i++) {
        const c = changes[2 + i]!;
        // The resource as stored after that write (the manifest masked, as every changelog object is).
        expect(c.object).toEqual({ ...added, resourceVersion: c.resourceVersion, status: statusNo(i) });
        expect(c.object.status).toEqual((afterEach[i] as { status: unknown }).status);
        expect(c.type).toBe('MODIFIED');
      }
      // After an update the status entry is read from the update's entry (generation 2).
      expect(changes[6]!.object).toEqual({ ...changes[5]!.object, resourceVersion: changes[6]!.resourceVersion, status: statusNo(9) });
      expect(changes[6]!.object.generation).toBe(2);
      // A page that starts at a status entry finds its full entry before the page.
      expect(await resources.changesSince(changes[2]!.resourceVersion, 2)).toEqual(changes.slice(3, 5));
      expect(await resources.changesSince(changes[5]!.resourceVersion, 1)).toEqual(changes.slice(6, 7));
    });

    it('writes out the first kept status entry of a resource whose full entry is pruned, so resuming answers the same objects', async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const own = await factory.open({ clock, changelogMinEntries: 20, changelogMinAgeMs: 0, housekeepingEveryWrites: 50 });
      try {
        const { resources } = own;
        const start = await resources.currentResourceVersion();
        await resources.create(newResource('a'));
        await resources.create(newResource('b'));
        const write = async (i: number) => {
          clock.advance(1000);
          await resources.setStatus(fqnOf(i % 2 === 0 ? 'a' : 'b'), statusNo(i));
        };
        // What a watch was answered for every version, before anything was pruned: housekeeping is due
        // after the 50th write (the last status write below).
        for (let i = 0; i < 47; i++) await write(i);
        expect(await resources.oldestRetainedResourceVersion()).toBe(start + 1);
        const seen = new Map((await resources.changesSince(start, 1000)).map((c) => [c.resourceVersion, c.object]));
        await write(47);
        await waitFor(async () => (await resources.oldestRetainedResourceVersion()) > start + 2, { what: 'both ADDED entries pruned' });
        const oldest = await resources.oldestRetainedResourceVersion();
        const rows = await changelogRows(own);
        const firstOf = (fqn: string) => rows.find((r) => r.fqn === fqn)!;
        // The first kept entry of each resource is full again; the ones after it stay status only.
        expect(firstOf(fqnOf('a')).type).toBe('MODIFIED');
        expect(firstOf(fqnOf('b')).type).toBe('MODIFIED');
        expect(rows.filter((r) => r.type === 'STATUS').length).toBe(rows.length - 2);
        // Resuming from the oldest kept version answers what was answered for those versions before the prune.
        const resumed = await resources.changesSince(oldest - 1, 1000);
        expect(resumed.length).toBe(rows.length);
        for (const c of resumed.slice(0, -1)) expect(c.object).toEqual(seen.get(c.resourceVersion));
        // Write i has resourceVersion start + 3 + i: the last (47, b's) is read on b's entry before it (45).
        expect(resumed.at(-1)!.object).toEqual({ ...(seen.get(start + 48) as object), resourceVersion: start + 50, status: statusNo(47) });
      } finally {
        await own.dispose();
      }
    });
  });
}
