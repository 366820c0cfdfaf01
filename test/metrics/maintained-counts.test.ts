// The metrics a scrape reads are kept as changes arrive, not recounted: the Ready tally's counts and
// sources stay equal to a recount through creates, transitions, moves between sources and deletes, and
// the age of each source's last successful reconcile follows reconciles whose source the feed names
// later, and leaves with the source's last resource.
import { setCondition, READY } from '../../src/domain/conditions.js';
import { initialStatus, type ConditionStatus, type McpServerResource, type SourceRef } from '../../src/domain/resource.js';
import { ControlPlaneMetrics, ReadyTally } from '../../src/metrics/index.js';
import type { Change } from '../../src/store/index.js';
import { FakeClock } from '../support/fake-clock.js';

const fqn = (name: string) => `default:mcp-server:${name}`;
const file: SourceRef = { kind: 'file', root: '/srv/manifests', path: 'a.yaml', document: 0 };

let rv = 0;
function change(name: string, ready: ConditionStatus | undefined, source: SourceRef = { kind: 'api' }): Change {
  const conditions = ready ? setCondition([], { type: READY, status: ready, reason: 'R', message: 'm', observedGeneration: 1 }, '2026-01-01T00:00:00.000Z') : [];
  const object = { fqn: fqn(name), name, source, status: { ...initialStatus(), conditions } } as unknown as McpServerResource;
  return { resourceVersion: ++rv, type: 'MODIFIED', fqn: fqn(name), object, at: '2026-01-01T00:00:00.000Z' };
}
const deleted = (name: string): Change => ({ ...change(name, undefined), type: 'DELETED' });

function sample(text: string, metric: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('maintained metric counts', () => {
  it('the Ready tally counts as a recount would, through every kind of change', () => {
    const tally = new ReadyTally();
    tally.seed([
      { fqn: fqn('a'), ready: 'True', source: { kind: 'api' } },
      { fqn: fqn('b'), ready: undefined, source: file },
    ]);
    expect(tally.byReady()).toEqual({ True: 1, False: 0, Unknown: 1 });
    tally.apply([change('c', 'False'), change('a', 'False'), change('b', 'True', file)]);
    expect(tally.byReady()).toEqual({ True: 1, False: 2, Unknown: 0 });
    expect(tally.hasSource('api')).toBe(true);
    expect(tally.hasSource('/srv/manifests')).toBe(true);
    // b moves to the API: its file source manages nothing any more.
    tally.apply([change('b', 'True')]);
    expect(tally.hasSource('/srv/manifests')).toBe(false);
    tally.apply([deleted('a'), deleted('missing'), deleted('c')]);
    expect(tally.byReady()).toEqual({ True: 1, False: 0, Unknown: 0 });
    tally.apply([deleted('b')]);
    expect(tally.byReady()).toEqual({ True: 0, False: 0, Unknown: 0 });
    expect(tally.hasSource('api')).toBe(false);
    // A seed starts over.
    tally.seed([{ fqn: fqn('z'), ready: 'False', source: file }]);
    expect(tally.byReady()).toEqual({ True: 0, False: 1, Unknown: 0 });
    expect(tally.hasSource('api')).toBe(false);
  });

  it("a source's last successful reconcile: known at once, or once the feed names the key's source; gone with its last resource", async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const metrics = new ControlPlaneMetrics({ clock });
    const AGE = 'mcp_cp_last_successful_reconcile_age_seconds';
    const api = '{source="api"}';
    const dir = '{source="/srv/manifests"}';
    metrics.seedResources([{ fqn: fqn('a'), ready: 'True', source: { kind: 'api' } }]);
    metrics.observeReconcile({ key: fqn('a'), result: 'success', durationMs: 1, waitedMs: 0 });
    // A file server reconciled before the feed told of it: not counted yet.
    metrics.observeReconcile({ key: fqn('f'), result: 'requeue', durationMs: 1, waitedMs: 0 });
    clock.advance(5_000);
    let text = await metrics.exposition();
    expect(sample(text, AGE, api)).toBe(5);
    expect(sample(text, AGE, dir)).toBeUndefined();
    metrics.observeChanges([change('f', 'True', file)]);
    clock.advance(1_000);
    text = await metrics.exposition();
    expect(sample(text, AGE, dir)).toBe(6);
    // A failed reconcile does not count; a success of a key never named is forgotten after a minute.
    metrics.observeReconcile({ key: fqn('a'), result: 'error', durationMs: 1, waitedMs: 0 });
    metrics.observeReconcile({ key: fqn('ghost'), result: 'success', durationMs: 1, waitedMs: 0 });
    clock.advance(61_000);
    expect(sample(await metrics.exposition(), AGE, api)).toBe(67);
    metrics.observeChanges([change('ghost', 'True', file)]);
    expect(sample(await metrics.exposition(), AGE, dir)).toBe(67);
    // The file source's resources go: so does its gauge.
    metrics.observeChanges([deleted('f'), deleted('ghost')]);
    text = await metrics.exposition();
    expect(sample(text, AGE, dir)).toBeUndefined();
    expect(sample(text, 'mcp_cp_resources', '{ready="True"}')).toBe(1);
  });
});
