// A rediscovery that finds what the last reported discovery found asks for no reconcile and writes nothing;
// one that finds a change is reconciled and written as before. The manager runs the unchanged server's next
// rediscovery itself, when due. Unit (the DiscoveryManager on a fake clock) and end to end (the real control
// plane, a real MCP server, the fake clock).
import type { DiscoveryResult } from '../../src/discovery/index.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { startMcpServer } from '../support/mcp-servers.js';
import { putServer, waitForReady } from '../support/servers-api.js';

const INTERVAL = 60_000;
const KEY = 'default:mcp-server:a';

function ok(tools: string[]): DiscoveryResult {
  return {
    ok: true,
    transport: 'streamable-http',
    serverInfo: { name: 's', version: '1' },
    capabilities: { tools: {} },
    tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })),
    authStatus: { status: 'authentication_not_required', method: null, message: '' },
  };
}

function setup(options: { mustReport?: (key: string) => boolean } = {}) {
  const clock = new FakeClock(1_700_000_000_000);
  const enqueued: string[] = [];
  let answer: DiscoveryResult = ok(['a', 'b']);
  let runs = 0;
  const manager = new DiscoveryManager({ clock, concurrency: 4, intervalMs: INTERVAL, enqueue: (k) => enqueued.push(k), logger: silentLogger, ...options });
  const job = async (): Promise<DiscoveryOutcome> => {
    runs++;
    // A fresh object each time, as a real discovery answers.
    return { result: structuredClone(answer) };
  };
  /** What the reconciler does with the latest record: writes status from it and says so. */
  const reconcile = () => {
    const { record } = manager.state(KEY, 'h');
    if (record) manager.reported(KEY, record);
  };
  /** Moves the clock to the record's due time: only the manager itself may start a discovery then. */
  const untilDue = async () => {
    clock.advance(manager.state(KEY, 'h').record!.dueAt - clock.now());
    await flushPromises();
  };
  return {
    clock,
    manager,
    enqueued,
    runs: () => runs,
    setAnswer: (a: DiscoveryResult) => (answer = a),
    first: async () => {
      manager.ensure(KEY, 'h', job, 1);
      await flushPromises();
      reconcile();
    },
    reconcile,
    untilDue,
  };
}

describe('DiscoveryManager: an unchanged rediscovery', () => {
  it('asks for no reconcile, and the manager runs the next one itself when due', async () => {
    const t = setup();
    await t.first();
    expect(t.enqueued).toEqual([KEY]);
    // Once a reconcile reported the record, the manager starts its rediscoveries: nothing else calls ensure().
    for (let i = 2; i <= 5; i++) {
      await t.untilDue();
      expect(t.runs()).toBe(i);
    }
    // No reconcile asked for: the status written from the first already says it.
    expect(t.enqueued).toEqual([KEY]);
    expect(t.manager.state(KEY, 'h').record).toMatchObject({ seq: 5, reported: true, failures: 0 });
  });

  it('a changed tool list is reconciled', async () => {
    const t = setup();
    await t.first();
    await t.untilDue();
    expect(t.enqueued).toHaveLength(1);
    t.setAnswer(ok(['a', 'b', 'c']));
    await t.untilDue();
    expect(t.runs()).toBe(3);
    expect(t.enqueued).toHaveLength(2);
    expect(t.manager.state(KEY, 'h').record!.outcome.result).toMatchObject({ tools: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    // Not reported yet: the manager starts no other until a reconcile wrote status from it.
    await t.untilDue();
    expect(t.runs()).toBe(3);
    t.reconcile();
    await t.untilDue();
    expect(t.runs()).toBe(4);
    expect(t.enqueued).toHaveLength(2);
  });

  it('is reconciled when the previous record was never reported, when a refresh waits, or when mustReport says so', async () => {
    const unreported = setup();
    unreported.manager.ensure(KEY, 'h', async () => ({ result: ok(['a']) }), 1);
    await flushPromises();
    // Not reported (the reconcile failed, say): the same result is reconciled again.
    unreported.manager.ensure(KEY, 'h', async () => ({ result: ok(['a']) }), 2);
    await flushPromises();
    expect(unreported.enqueued).toEqual([KEY, KEY]);

    const waiting = setup();
    await waiting.first();
    const refreshed = waiting.manager.refresh(KEY);
    // The refresh enqueued the key; its reconcile starts the forced discovery, which finds the same.
    waiting.manager.ensure(KEY, 'h', async () => ({ result: ok(['a', 'b']) }), 1);
    await flushPromises();
    expect(waiting.enqueued).toEqual([KEY, KEY, KEY]);
    waiting.reconcile();
    await expect(refreshed).resolves.toBe('reported');

    let failing = false;
    const health = setup({ mustReport: () => failing });
    await health.first();
    failing = true;
    await health.untilDue();
    expect(health.enqueued).toEqual([KEY, KEY]);
  });

  it('forget() cancels the rediscovery the manager would have run', async () => {
    const t = setup();
    await t.first();
    await t.untilDue();
    const due = t.manager.state(KEY, 'h').record!.dueAt;
    t.manager.forget(KEY);
    t.clock.advance(due - t.clock.now() + INTERVAL * 2);
    await flushPromises();
    expect(t.runs()).toBe(2);
    expect(t.clock.pendingTimers()).toHaveLength(0);
  });
});

describe('the control plane: a settled server rediscovered', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function reconciles(cp: TestControlPlane): Promise<number> {
    const metric = await cp.metricsRegistry.getSingleMetric('mcp_cp_reconcile_total')!.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  }

  /** Waits until no reconcile and no discovery of fqn is running or queued. */
  async function settle(cp: TestControlPlane, fqn: string): Promise<void> {
    for (;;) {
      await waitFor(() => cp.discovery.activity(fqn).phase === 'idle', { what: `discovery of ${fqn} idle` });
      await cp.controller.waitForIdle();
      await flushPromises();
      if (cp.discovery.activity(fqn).phase === 'idle') return;
    }
  }

  it('writes nothing and reconciles nothing while the tools stay the same, and writes the change when one comes', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    cleanups.push(() => upstream.close());
    const cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--discovery-interval', '1m'], clock });
    cleanups.push(() => cp.dispose());
    const fqn = 'default:mcp-server:steady';
    await putServer(cp, remoteManifest({ name: 'steady', url: upstream.url }));
    await waitForReady(cp, 'steady', 'True');
    await settle(cp, fqn);
    const lists = () => upstream.requests.filter((r) => r.rpcMethod === 'tools/list').length;

    /** Moves the clock timer by timer until the server's next rediscovery ran, and waits for what follows it. */
    const rediscover = async () => {
      const before = lists();
      for (let step = 0; lists() === before; step++) {
        const next = clock.pendingTimers()[0];
        if (!next || step > 100) throw new Error('no rediscovery is scheduled');
        clock.advance(Math.max(0, next.at - clock.now()));
        await settle(cp, fqn);
      }
      await settle(cp, fqn);
    };
    // The manager starts every rediscovery, and none that finds the same is reconciled.
    const reconcilesBefore = await reconciles(cp);
    const versionBefore = (await cp.store.get(fqn))!.resourceVersion;
    const listsBefore = lists();
    for (let i = 0; i < 3; i++) await rediscover();
    expect(lists()).toBe(listsBefore + 3);
    expect(await reconciles(cp)).toBe(reconcilesBefore);
    expect((await cp.store.get(fqn))!.resourceVersion).toBe(versionBefore);

    // A reconcile for another reason (a resync) leaves the next rediscovery to the manager: no requeue of its own.
    await cp.controller.enqueueAll();
    await settle(cp, fqn);
    expect(await reconciles(cp)).toBe(reconcilesBefore + 1);
    for (let i = 0; i < 2; i++) await rediscover();
    expect(await reconciles(cp)).toBe(reconcilesBefore + 1);
    expect((await cp.store.get(fqn))!.resourceVersion).toBe(versionBefore);

    upstream.setTools(3);
    await rediscover();
    await waitFor(async () => (await cp.store.get(fqn))!.status.tools.length === 3, { what: 'the third tool in status' });
    expect(await reconciles(cp)).toBeGreaterThan(reconcilesBefore);
    expect((await cp.store.get(fqn))!.resourceVersion).toBeGreaterThan(versionBefore);
  });
});
