// After a restart, a takeover or a change-feed gap every key is enqueued once (level-triggered); those whose
// stored states show they are not converged go first, so at 10,000 servers a changed one does not wait
// behind thousands of converged ones. The full pass's cursor of the periodic resync does not move.
import { Controller } from '../../src/reconcile/controller.js';
import { ResyncPlanner } from '../../src/reconcile/resync-plan.js';
import { WorkQueue } from '../../src/reconcile/workqueue.js';
import type { EntrySyncState, ResourceSyncState } from '../../src/store/index.js';
import type { Logger } from '../../src/domain/logger.js';
import { FakeClock } from '../support/fake-clock.js';

const key = (i: number) => `default:mcp-server:s${String(i).padStart(4, '0')}`;
const inSync = (n: number): { resources: ResourceSyncState[]; entries: EntrySyncState[] } => ({
  resources: Array.from({ length: n }, (_, i) => ({ fqn: key(i), generation: 2, observedGeneration: 2 })),
  entries: Array.from({ length: n }, (_, i) => ({ fqn: key(i), generation: 2 })),
});

function run(listDiffering: (() => Promise<readonly string[]>) | undefined, logger?: Logger) {
  const clock = new FakeClock(0);
  const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
  const reconciled: string[] = [];
  const keys = Array.from({ length: 50 }, (_, i) => key(i));
  let all!: () => void;
  const done = new Promise<void>((resolve) => (all = resolve));
  const controller = new Controller({
    name: 'test',
    workers: 1,
    resyncIntervalMs: 0,
    listKeys: () => keys,
    ...(listDiffering ? { listDiffering } : {}),
    queue,
    clock,
    ...(logger ? { logger } : {}),
    reconcile: async (k) => {
      reconciled.push(k);
      if (reconciled.length === keys.length) all();
      return {};
    },
  });
  return { controller, reconciled, done };
}

describe('enqueueAll', () => {
  it('adds the keys that differ first, then every other key once, in name order', async () => {
    const states = inSync(50);
    states.resources[47] = { ...states.resources[47]!, generation: 3 }; // written, not applied
    states.resources[31] = { ...states.resources[31]!, observedGeneration: 1 }; // status of an older generation
    states.entries.splice(12, 1); // its entry is missing
    const planner = new ResyncPlanner(async () => states, { rounds: 5, minSlice: 1 });
    const { controller, reconciled, done } = run(() => planner.differing());
    await controller.enqueueAll();
    controller.start();
    await done;
    await controller.stop();
    expect(reconciled.slice(0, 3)).toEqual([key(12), key(31), key(47)]);
    expect(reconciled.slice(3)).toEqual(Array.from({ length: 50 }, (_, i) => key(i)).filter((k) => ![key(12), key(31), key(47)].includes(k)));

    // differing() leaves the periodic resync's full pass where it was: the first slice starts at the first key.
    expect((await planner.plan()).spread[0]).toBe(key(0));
  });

  it('enqueues every key in name order when the states cannot be read, and says so', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_fields, message) => void warnings.push(message),
      error: () => undefined,
      child: () => logger,
    };
    const { controller, reconciled, done } = run(async () => {
      throw new Error('store closed');
    }, logger);
    await controller.enqueueAll();
    controller.start();
    await done;
    await controller.stop();
    expect(reconciled).toEqual(Array.from({ length: 50 }, (_, i) => key(i)));
    expect(warnings).toContain('could not read which keys differ; every key is enqueued in name order');
  });
});
