// ResourceReader.readinessCounts: servers by managing source and Ready status, kept by the database on
// every write (triggers, not a scan), equal to a recount of the stored resources through creates, status
// changes, moves between sources, deletes and rolled-back units, on another connection too; admission
// policies are not counted. sourcesOf answers the source of each key that exists.
import { findCondition, READY } from '../../../src/domain/conditions.js';
import { initialStatus, type ResourceStatus } from '../../../src/domain/resource.js';
import { sourceLabel } from '../../../src/metrics/index.js';
import type { ReadinessCount, ResourceStore } from '../../../src/store/index.js';
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, newResource, readyStatus, updateOf } from './fixtures.js';

/** The counts as they read, in one order. */
async function counted(resources: ResourceStore, tenant = 'default'): Promise<ReadinessCount[]> {
  return (await resources.readinessCounts(tenant)).sort(byKey);
}

/** The same counts made from every stored resource: what the maintained counts must equal. */
async function recount(resources: ResourceStore, tenant = 'default'): Promise<ReadinessCount[]> {
  const { items } = await resources.list({ tenant, limit: 10_000, offset: 0 });
  const counts = new Map<string, ReadinessCount>();
  for (const r of items) {
    if (r.fqn.includes(':mcp-policy:')) continue;
    const source = sourceLabel(r.source);
    const ready = findCondition(r.status.conditions, READY)?.status ?? 'Unknown';
    const entry = counts.get(`${source}\n${ready}`) ?? { source, ready, count: 0 };
    entry.count++;
    counts.set(`${source}\n${ready}`, entry);
  }
  return [...counts.values()].sort(byKey);
}

function byKey(a: ReadinessCount, b: ReadinessCount): number {
  return a.source === b.source ? a.ready.localeCompare(b.ready) : a.source.localeCompare(b.source);
}

/** A status whose Ready condition is not the first one. */
function laterReady(generation: number, ready: 'True' | 'False'): ResourceStatus {
  const status = readyStatus(generation, ready);
  return { ...status, conditions: [{ ...status.conditions[0]!, type: 'Applied' }, ...status.conditions] };
}

export function readinessCountCases(engine: () => StoreEngine): void {
  describe('readiness counts', () => {
    it('equal a recount through creates, status changes, moves between sources, deletes and rollbacks', async () => {
      const { resources } = engine();
      const expectRecount = async () => expect(await counted(resources)).toEqual(await recount(resources));
      expect(await counted(resources)).toEqual([]);
      await resources.create(newResource('a'));
      await resources.create(newResource('b', { source: fileSource('b.yaml') }));
      await resources.create(newResource('c', { source: fileSource('c.yaml', '/other') }));
      await resources.create(newResource('x', { tenant: 'elsewhere', id: 'id-elsewhere-x' }));
      // An admission policy shares the table; it is not a server.
      await resources.create({ ...newResource('p'), id: 'id-policy-p', fqn: 'default:mcp-policy:p' });
      expect(await counted(resources)).toEqual([
        { source: '/manifests', ready: 'Unknown', count: 1 },
        { source: '/other', ready: 'Unknown', count: 1 },
        { source: 'api', ready: 'Unknown', count: 1 },
      ]);
      await expectRecount();
      expect(await counted(resources, 'elsewhere')).toEqual([{ source: 'api', ready: 'Unknown', count: 1 }]);

      await resources.setStatus(fqnOf('a'), readyStatus(1, 'True'));
      await resources.setStatus(fqnOf('b'), laterReady(1, 'False'));
      await resources.setStatus('default:mcp-policy:p', readyStatus(1, 'True'));
      await expectRecount();
      expect((await counted(resources)).find((c) => c.source === 'api')).toEqual({ source: 'api', ready: 'True', count: 1 });
      // A status write that leaves Ready as it was moves nothing; one that changes it moves one count.
      await resources.setStatus(fqnOf('a'), { ...readyStatus(1, 'True'), detectedTransport: 'sse' });
      await resources.setStatus(fqnOf('b'), laterReady(1, 'True'));
      await expectRecount();
      // b moves to the API (an update with a new source and a fresh status).
      await resources.update(fqnOf('b'), updateOf('b', 2, { source: { kind: 'api' }, status: initialStatus() }));
      await expectRecount();
      expect((await counted(resources)).map((c) => c.source)).not.toContain('/manifests');

      // A unit that rolls back leaves the counts as they were.
      const before = await counted(resources);
      await expect(
        resources.transaction(async () => {
          await resources.setStatus(fqnOf('c'), readyStatus(1, 'True'));
          await resources.create(newResource('d'));
          await resources.remove(fqnOf('a'));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await counted(resources)).toEqual(before);

      await resources.remove(fqnOf('a'));
      await resources.remove('default:mcp-policy:p');
      await expectRecount();
      await resources.remove(fqnOf('b'));
      await resources.remove(fqnOf('c'));
      expect(await counted(resources)).toEqual([]);

      // Another connection (a replica) reads and moves the same counts.
      const other = await engine().connect?.();
      if (other) {
        await other.resources.create(newResource('e', { source: fileSource('e.yaml') }));
        expect(await counted(resources)).toEqual([{ source: '/manifests', ready: 'Unknown', count: 1 }]);
      }
    });

    it('sourcesOf answers the source of each key that exists', async () => {
      const { resources } = engine();
      await resources.create(newResource('a'));
      await resources.create(newResource('b', { source: fileSource('b.yaml') }));
      const sources = await resources.sourcesOf([fqnOf('a'), fqnOf('b'), fqnOf('gone')]);
      expect([...sources].sort(([x], [y]) => x.localeCompare(y))).toEqual([
        [fqnOf('a'), { kind: 'api' }],
        [fqnOf('b'), fileSource('b.yaml')],
      ]);
      expect((await resources.sourcesOf([])).size).toBe(0);
    });
  });
}
