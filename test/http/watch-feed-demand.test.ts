// The change feed reads the changelog only while a watch stream is open: with none, writes of every
// kind (creates, updates, status writes, deletes) and its fallback timer cause no changelog read at all.
// A stream opened later (from a list, or resumed from a resourceVersion written while nobody watched)
// still gets every change exactly once, in order. Counted through the store port the feed and hub read.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { createApp } from '../../src/http/app.js';
import { presentServer } from '../../src/http/present.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { ChangeFeed } from '../../src/http/watch-feed.js';
import { WatchHub } from '../../src/http/watch-hub.js';
import { Intake } from '../../src/intake/index.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { readyStatus } from '../store/conformance/fixtures.js';
import { ADMIN_TOKEN, remoteManifest, waitFor } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { WatchClient } from './watch-client.js';

/** The store, with every changesSince call counted (the feed's and the hub's reads of the changelog). */
function countingChangelogReads(store: SqliteResourceStore): { store: SqliteResourceStore; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      if (key === 'changesSince') return (...args: unknown[]) => (reads++, (value as (...a: unknown[]) => unknown).apply(target, args));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { store: proxy, reads: () => reads };
}

describe('watch: the change feed without watchers', () => {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  let store: SqliteResourceStore;
  let gateway: SqliteGatewayStore;
  let feed: ChangeFeed;
  let hub: WatchHub;
  let intake: Intake;
  let server: Server;
  let url: string;
  let reads: () => number;
  const admin = adminPrincipal('default');
  const apply = (name: string, description: string) =>
    intake.apply({ manifest: remoteManifest({ name, description }), dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal: admin });
  /** Writes of every kind, each left to settle (a woken feed reads once the writer yields), and the fallback timer run. */
  async function writeEverything(round: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await apply(`${round}-${i}`, 'first');
      await apply(`${round}-${i}`, 'second');
      await store.setStatus(`default:mcp-server:${round}-${i}`, readyStatus(2, i % 2 === 0 ? 'True' : 'False'));
      if (i === 4) await store.remove(`default:mcp-server:${round}-${i}`);
      await flushPromises();
    }
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      await flushPromises();
    }
  }

  beforeEach(async () => {
    const real = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    const counted = countingChangelogReads(real);
    store = real;
    reads = counted.reads;
    gateway = new SqliteGatewayStore({ path: ':memory:' });
    const policy = new RoleAccessPolicy();
    intake = new Intake({ store, tenant: 'default', policy, enqueue: () => {} });
    feed = new ChangeFeed({ store: counted.store, clock, logger: silentLogger, pollIntervalMs: 1_000 });
    hub = new WatchHub({ feed, store: counted.store, clock, tenant: 'default', present: (r) => presentServer(r, { publicUrl: 'http://x' }), logger: silentLogger });
    const app = createApp({
      intake,
      store,
      gateway,
      policy,
      authenticator: new StaticTokenAuthenticator(ADMIN_TOKEN, admin),
      tenant: 'default',
      publicUrl: 'http://x',
      readiness: { notReadyReason: async () => undefined },
      logger: silentLogger,
      watch: hub,
    });
    // As main.ts starts them.
    await feed.start();
    hub.start();
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    hub.stop();
    feed.stop();
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    await store.close();
    await gateway.close();
  });

  it('reads no changelog row while nobody watches, and every change once a stream opens', async () => {
    await writeEverything('idle');
    expect(await store.currentResourceVersion()).toBe(16); // 5 creates, 5 updates, 5 status writes, 1 delete
    expect(reads()).toBe(0);

    const watcher = await WatchClient.open(url);
    await watcher.waitFor((e) => e.type === 'BOOKMARK' && e.object.initialEventsEnd === true, { what: 'the end of the list' });
    await apply('live', 'watched');
    await watcher.waitFor((e) => e.type === 'ADDED' && e.object.name === 'live', { what: 'the live change' });
    expect(reads()).toBeGreaterThan(0);
    const lastSeen = Number(watcher.events[watcher.events.length - 1]!.id);
    await watcher.close();
    await waitFor(() => hub.clientCount === 0, { what: 'the stream closed' });
    await flushPromises();

    // Nobody watches again: no read, whatever is written.
    const before = reads();
    await writeEverything('again');
    expect(reads()).toBe(before);

    // A stream resumed from before those writes replays each of them once, then goes on live.
    const resumed = await WatchClient.open(url, { resourceVersion: lastSeen });
    const current = await store.currentResourceVersion();
    await resumed.waitFor((e) => Number(e.id) === current, { what: 'the replay to reach the newest change' });
    await apply('later', 'after the resume');
    await resumed.waitFor((e) => e.type === 'ADDED' && e.object.name === 'later', { what: 'the next live change' });
    const ids = resumed.events.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: current + 1 - lastSeen }, (_, i) => lastSeen + 1 + i));
    await resumed.close();
  });

  it('a listener whose start could not read the resourceVersion waits for the next try, then gets every change', async () => {
    const failing = new ChangeFeed({
      store: new Proxy(store, {
        get(target, key) {
          const value = Reflect.get(target, key, target) as unknown;
          if (key === 'currentResourceVersion' && failures > 0) return () => (failures--, Promise.reject(new Error('store down')));
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
      clock,
      logger: silentLogger,
      pollIntervalMs: 1_000,
    });
    let failures = 1;
    await failing.start();
    const seen: string[] = [];
    let followed = false;
    failing.listen((changes) => void seen.push(...changes.map((c) => c.fqn)));
    void failing.following().then(() => (followed = true));
    await flushPromises();
    expect(followed).toBe(false);
    clock.advance(1_000);
    await waitFor(() => followed, { what: 'the second try' });
    await apply('after', 'the retry');
    await waitFor(() => seen.includes('default:mcp-server:after'), { what: 'the change after the retry' });
    failing.stop();
  });
});
