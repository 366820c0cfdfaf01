// End to end (the real control plane, real MCP servers, the fake clock): the manager's own rediscoveries
// follow the spec. A URL changed while a rediscovery of the old one runs is discovered; a server whose
// reconcile fails (its secret file is gone) or that became virtual is no longer asked with the old
// settings (old URL, old secret).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { condition, getServer, putServer, waitForReady } from '../support/servers-api.js';

const FQN = 'default:mcp-server:steady';

/** An HTTP relay to `target` that holds every request while closed (so a test decides when a discovery ends). */
async function gatedRelay(target: string) {
  let open = true;
  let waiting: Array<() => void> = [];
  let held = 0;
  const server = http.createServer((req, res) => {
    const forward = () => {
      const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (open) return forward();
    held++;
    waiting.push(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}${new URL(target).pathname}`,
    held: () => held,
    close: () => {
      open = false;
    },
    open: () => {
      open = true;
      const list = waiting;
      waiting = [];
      for (const f of list) f();
    },
    dispose: () => new Promise<void>((r) => server.close(() => r())).then(() => undefined, () => undefined),
    destroyAll: () => server.closeAllConnections(),
  };
}

/** Waits until the key's discovery is idle and the reconcile queue is empty, a few times over (each may start the other). */
async function quiet(cp: TestControlPlane): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await waitFor(() => cp.discovery.activity(FQN).phase === 'idle', { what: 'discovery idle' });
    await cp.controller.waitForIdle();
    await flushPromises();
  }
}

/** Fires the clock's timers one by one (rediscoveries, retries) until `untilMs` of fake time passed, quiet after each. */
async function letTimePass(cp: TestControlPlane, clock: FakeClock, untilMs: number): Promise<void> {
  const end = clock.now() + untilMs;
  for (let i = 0; i < 100; i++) {
    const next = clock.pendingTimers()[0];
    if (!next || next.at > end) break;
    clock.advance(Math.max(0, next.at - clock.now()));
    await quiet(cp);
  }
}

describe('the manager reruns what the spec says now', () => {
  let cp: TestControlPlane | undefined;
  const servers: RunningMcpServer[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    await cp?.dispose();
    cp = undefined;
    for (const c of cleanups.splice(0)) await c();
    for (const s of servers.splice(0)) await s.close();
  });

  test('a URL changed while the rediscovery of the old one runs is discovered, and only it is rediscovered after', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const a = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    const b = await startMcpServer({ transport: 'streamable-http', tools: 5 });
    servers.push(a, b);
    const relay = await gatedRelay(a.url);
    cleanups.push(() => relay.dispose());
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--discovery-interval', '1m'], clock });
    await putServer(cp, remoteManifest({ name: 'steady', url: relay.url }));
    await waitForReady(cp, 'steady', 'True');
    await quiet(cp);

    // The manager's own rediscovery of A starts and is held at the relay.
    relay.close();
    const before = relay.held();
    while (relay.held() === before) {
      const t = clock.pendingTimers()[0]!;
      clock.advance(Math.max(0, t.at - clock.now()));
      await flushPromises();
      if (cp.discovery.activity(FQN).phase === 'running') await waitFor(() => relay.held() > before, { what: 'the rediscovery of A held' });
    }
    // The spec moves to B while it runs; its reconcile completes meanwhile.
    await putServer(cp, remoteManifest({ name: 'steady', url: b.url }));
    await cp.controller.waitForIdle();
    relay.open();
    await quiet(cp);

    const server = await waitForReady(cp, 'steady', 'True');
    expect(server.tools).toHaveLength(5);
    expect(b.requests.filter((r) => r.rpcMethod === 'tools/list').length).toBeGreaterThanOrEqual(1);
    const listsToA = () => a.requests.filter((r) => r.rpcMethod === 'tools/list').length;
    const listsToB = () => b.requests.filter((r) => r.rpcMethod === 'tools/list').length;
    const [aBefore, bBefore] = [listsToA(), listsToB()];
    await letTimePass(cp, clock, 5 * 60_000);
    expect(listsToA()).toBe(aBefore);
    expect(listsToB()).toBeGreaterThanOrEqual(bBefore + 4);
  });

  describe('a server no longer discovered with its old settings', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'rerun-latest-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    async function settledWithSecret(clock: FakeClock) {
      const secrets = join(dir, 'secrets');
      mkdirSync(secrets, { recursive: true });
      writeFileSync(join(secrets, 'token'), 'old-secret-value\n');
      const upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
      servers.push(upstream);
      cp = await startTestControlPlane({ args: ['--secrets-dir', secrets, '--resync-interval', '0', '--discovery-interval', '1m'], clock });
      await putServer(cp, remoteManifest({ name: 'steady', url: upstream.url, auth_data: { type: 'header', headers: { Authorization: 'Bearer ${file:token}' } } }));
      await waitForReady(cp, 'steady', 'True');
      await quiet(cp);
      const withOldSecret = () => upstream.requests.filter((r) => r.rpcMethod === 'tools/list' && String(r.headers.authorization ?? '').includes('old-secret-value')).length;
      // The manager rediscovers it with the secret meanwhile (what must stop below).
      const settled = withOldSecret();
      await letTimePass(cp, clock, 2 * 60_000);
      expect(withOldSecret()).toBeGreaterThan(settled);
      return { upstream, secrets, withOldSecret };
    }

    test('its secret file is gone: the reconcile fails SecretNotFound and the old secret is sent no more', async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const { secrets, withOldSecret } = await settledWithSecret(clock);
      rmSync(join(secrets, 'token'));
      await cp!.controller.enqueueAll();
      await quiet(cp!);
      const s = await getServer(cp!, 'steady');
      expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
      const before = withOldSecret();
      await letTimePass(cp!, clock, 10 * 60_000);
      expect(withOldSecret()).toBe(before);
    });

    test('it became virtual: its old upstream is asked no more', async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const { upstream, withOldSecret } = await settledWithSecret(clock);
      await putServer(cp!, remoteManifest({ name: 'src2', url: upstream.url }));
      await waitForReady(cp!, 'src2', 'True');
      await putServer(cp!, { type: 'mcp-server/virtual', name: 'steady', description: 'now virtual', servers: [{ name: 'src2' }], collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }] });
      await waitForReady(cp!, 'steady', 'True');
      await quiet(cp!);
      const before = withOldSecret();
      await letTimePass(cp!, clock, 10 * 60_000);
      expect(withOldSecret()).toBe(before);
    });
  });
});
