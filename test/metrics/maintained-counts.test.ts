// The metrics a scrape reads come from counts the store keeps, not from a recount or the changelog: the
// Ready gauge follows the store's readiness counts, and the age of each source's last successful reconcile
// names the source of each key that succeeded (one store read per scrape for the keys since the last one),
// drops deleted keys, and leaves with the source's last server.
import type { SourceRef } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { ControlPlaneMetrics } from '../../src/metrics/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { fqnOf, newResource, readyStatus } from '../store/conformance/fixtures.js';
import { FakeClock } from '../support/fake-clock.js';

const file: SourceRef = { kind: 'file', root: '/srv/manifests', path: 'a.yaml', document: 0 };
const AGE = 'mcp_cp_last_successful_reconcile_age_seconds';

function sample(text: string, metric: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('maintained metric counts', () => {
  let store: SqliteResourceStore;
  let metrics: ControlPlaneMetrics;
  let clock: FakeClock;
  let sourceReads: string[][];

  beforeEach(() => {
    clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    metrics = new ControlPlaneMetrics({ clock });
    sourceReads = [];
    metrics.bind({
      readiness: () => store.readinessCounts('default'),
      sourcesOf: (keys) => (sourceReads.push([...keys]), store.sourcesOf(keys)),
    });
  });
  afterEach(() => store.close());

  it('the Ready gauge reads the counts the store keeps', async () => {
    await store.create(newResource('a'));
    await store.create(newResource('b', { source: file }));
    await store.create(newResource('c'));
    await store.setStatus(fqnOf('a'), readyStatus(1, 'True'));
    await store.setStatus(fqnOf('b'), readyStatus(1, 'False'));
    let text = await metrics.exposition();
    expect([sample(text, 'mcp_cp_resources', '{ready="True"}'), sample(text, 'mcp_cp_resources', '{ready="False"}'), sample(text, 'mcp_cp_resources', '{ready="Unknown"}')]).toEqual([1, 1, 1]);
    await store.remove(fqnOf('b'));
    await store.setStatus(fqnOf('c'), readyStatus(1, 'True'));
    text = await metrics.exposition();
    expect([sample(text, 'mcp_cp_resources', '{ready="True"}'), sample(text, 'mcp_cp_resources', '{ready="False"}'), sample(text, 'mcp_cp_resources', '{ready="Unknown"}')]).toEqual([2, 0, 0]);
  });

  it("a source's last successful reconcile: named from the store at the scrape, dropped for deleted keys, gone with its last server", async () => {
    await store.create(newResource('a'));
    await store.create(newResource('f', { source: file }));
    metrics.observeReconcile({ key: fqnOf('a'), result: 'success', durationMs: 1, waitedMs: 0 });
    metrics.observeReconcile({ key: fqnOf('f'), result: 'requeue', durationMs: 1, waitedMs: 0 });
    // A failure does not count; a key the store does not have (deleted) and a policy are dropped.
    metrics.observeReconcile({ key: fqnOf('f'), result: 'error', durationMs: 1, waitedMs: 0 });
    metrics.observeReconcile({ key: fqnOf('ghost'), result: 'success', durationMs: 1, waitedMs: 0 });
    metrics.observeReconcile({ key: 'default:mcp-policy:p', result: 'success', durationMs: 1, waitedMs: 0 });
    clock.advance(5_000);
    let text = await metrics.exposition();
    expect(sample(text, AGE, '{source="api"}')).toBe(5);
    expect(sample(text, AGE, '{source="/srv/manifests"}')).toBe(5);
    expect(sourceReads).toEqual([[fqnOf('a'), fqnOf('f'), fqnOf('ghost')]]);
    // Nothing reconciled since: the next scrape reads no sources, and the ages grow.
    clock.advance(1_000);
    text = await metrics.exposition();
    expect(sample(text, AGE, '{source="api"}')).toBe(6);
    expect(sourceReads).toHaveLength(1);
    metrics.observeReconcile({ key: fqnOf('a'), result: 'success', durationMs: 1, waitedMs: 0 });
    expect(sample(await metrics.exposition(), AGE, '{source="api"}')).toBe(0);
    // The file source's last server goes: so does its gauge.
    await store.remove(fqnOf('f'));
    text = await metrics.exposition();
    expect(sample(text, AGE, '{source="/srv/manifests"}')).toBeUndefined();
    expect(sample(text, AGE, '{source="api"}')).toBe(0);
  });

  it('a failed read of the sources fails the scrape and is asked again at the next one', async () => {
    await store.create(newResource('a'));
    metrics.observeReconcile({ key: fqnOf('a'), result: 'success', durationMs: 1, waitedMs: 0 });
    let fail = true;
    metrics.bind({ sourcesOf: (keys) => (fail ? Promise.reject(new Error('store down')) : store.sourcesOf(keys)) });
    await expect(metrics.exposition()).rejects.toThrow('store down');
    fail = false;
    clock.advance(2_000);
    expect(sample(await metrics.exposition(), AGE, '{source="api"}')).toBe(2);
  });
});
