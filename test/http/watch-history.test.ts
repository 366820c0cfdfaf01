// 410 Gone once the changelog no longer holds the requested resourceVersion: a real store with a short
// retention, the real app, the real hub.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { createApp } from '../../src/http/app.js';
import { presentServer } from '../../src/http/present.js';
import { ChangeFeed } from '../../src/http/watch-feed.js';
import { WatchHub } from '../../src/http/watch-hub.js';
import { Intake } from '../../src/intake/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { ADMIN_TOKEN, remoteManifest } from '../support/control-plane.js';
import { WatchClient } from './watch-client.js';

describe('watch: history', () => {
  it('answers 410 with what to do for a resourceVersion the changelog no longer holds, and replays from any it does', async () => {
    const store = new SqliteResourceStore({ views: resourceViews, path: ':memory:', changelogMinEntries: 20, changelogMinAgeMs: 0 });
    const gateway = new SqliteGatewayStore({ path: ':memory:' });
    const policy = new RoleAccessPolicy();
    const intake = new Intake({ store, tenant: 'default', policy, enqueue: () => {} });
    const feed = new ChangeFeed({ store, logger: silentLogger, pollIntervalMs: 10 });
    const hub = new WatchHub({ feed, store, tenant: 'default', present: (r) => presentServer(r, { publicUrl: 'http://x' }), logger: silentLogger });
    const app = createApp({
      intake,
      store,
      gateway,
      policy,
      authenticator: new StaticTokenAuthenticator(ADMIN_TOKEN, adminPrincipal('default')),
      tenant: 'default',
      publicUrl: 'http://x',
      readiness: { notReadyReason: async () => undefined },
      logger: silentLogger,
      watch: hub,
    });
    await feed.start();
    hub.start();
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const admin = adminPrincipal('default');
      // The store prunes its changelog every 500 writes, keeping the newest 20 here.
      for (let i = 0; i < 520; i++) {
        await intake.apply({ manifest: remoteManifest({ name: `s${i % 7}`, description: `d${i}` }), dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal: admin });
      }
      const oldest = await store.oldestRetainedResourceVersion();
      expect(oldest).toBeGreaterThan(2);

      const expired = await WatchClient.open(url, { resourceVersion: 1 });
      expect(expired.status).toBe(410);
      const error = JSON.parse(expired.body!).error;
      expect(error.code).toBe('Expired');
      expect(error.message).toMatch(/resourceVersion 1 is older than the changes this server keeps/);
      expect(error.message).toMatch(/List the servers .* and watch again without resourceVersion/);
      expect((await WatchClient.open(url, { lastEventId: String(oldest - 2) })).status).toBe(410);

      const edge = await WatchClient.open(url, { resourceVersion: oldest - 1 });
      expect(edge.status).toBe(200);
      const current = await store.currentResourceVersion();
      await edge.waitFor((e) => Number(e.id) === current);
      expect(edge.events.map((e) => Number(e.id))).toEqual(Array.from({ length: current - oldest + 1 }, (_, i) => oldest + i));
      await edge.close();
    } finally {
      hub.stop();
      feed.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await store.close();
      await gateway.close();
    }
  });
});
