// Discovery failures through the real server: timeouts, a server that goes away and comes back, a
// hanging server next to a healthy one, and a refresh that cannot finish in time.
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer, type StartMcpServerOptions } from '../support/mcp-servers.js';
import { condition, eventsOf, getServer, putServer, refresh, waitForReady } from '../support/servers-api.js';

const upstreams: RunningMcpServer[] = [];
async function upstream(opts: StartMcpServerOptions): Promise<RunningMcpServer> {
  const server = await startMcpServer(opts);
  upstreams.push(server);
  return server;
}
const planes: TestControlPlane[] = [];
async function controlPlane(args: string[]): Promise<TestControlPlane> {
  const cp = await startTestControlPlane({ args: ['--resync-interval', '0', ...args] });
  planes.push(cp);
  return cp;
}
afterEach(async () => {
  await Promise.all(planes.splice(0).map((cp) => cp.dispose()));
  await Promise.all(upstreams.splice(0).map((s) => s.close()));
});

it('reports a server slower than --discovery-timeout as Timeout, and retries it', async () => {
  const cp = await controlPlane(['--discovery-timeout', '300ms', '--discovery-retry-base', '100ms', '--discovery-retry-max', '100ms']);
  // It never answers: only the budget can end its discovery.
  const slow = await upstream({ transport: 'streamable-http', tools: 1, hang: true });
  await putServer(cp, remoteManifest({ name: 'slow', url: slow.url }));
  const failed = await waitForReady(cp, 'slow', 'False', { reason: 'Timeout' });
  expect(condition(failed, 'Ready')!.message).toMatch(/did not complete discovery within the 300 ms budget/);
  expect(condition(failed, 'Discovered')).toMatchObject({ status: 'False', reason: 'Timeout' });
  expect(condition(failed, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingWithBackoff' });
  expect(failed.authStatus.status).toBe('unknown');
  // Retried with backoff: the server keeps being asked.
  const seen = slow.requests.length;
  await waitFor(() => slow.requests.length > seen, { what: 'a retry' });
  const events = await eventsOf(cp, failed.id);
  expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'Timeout' })]));
});

it('turns Ready False when a server stops and True again by itself when it comes back', async () => {
  const cp = await controlPlane(['--discovery-interval', '100ms', '--discovery-retry-base', '50ms', '--discovery-retry-max', '200ms']);
  const first = await upstream({ transport: 'streamable-http', tools: 2 });
  const port = first.port;
  await putServer(cp, remoteManifest({ name: 'flaky', url: first.url }));
  const ready = await waitForReady(cp, 'flaky', 'True');

  await first.close();
  // A discovery in flight while the server stops sees its connection reset (ECONNRESET); the next ones
  // are refused, and retried until one is.
  const down = await waitFor(
    async () => {
      const server = await getServer(cp, 'flaky');
      const c = condition(server, 'Ready');
      return c?.status === 'False' && c.reason === 'Unreachable' && /ECONNREFUSED/.test(c.message) ? server : undefined;
    },
    { what: 'flaky Ready=False (Unreachable, ECONNREFUSED)' },
  );
  expect(condition(down, 'Ready')!.message).toMatch(/ECONNREFUSED/);
  // The last known tools stay, and the gateway keeps the transport it knew.
  expect(down.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
  expect((await cp.gateway.get(ready.fqn))?.transport).toBe('streamable-http');

  // Not Ready means not served: the gateway answers 503 with the reason at once instead of hanging.
  const mcpUrl = `${cp.url}/mcp/flaky`;
  const mcpInit = {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  };
  await waitFor(async () => (await cp.gateway.get(ready.fqn))?.unavailable?.reason === 'Unreachable', { what: 'gateway entry marked unavailable' });
  const refused = await fetch(mcpUrl, mcpInit);
  expect(refused.status).toBe(503);
  expect(await refused.text()).toContain('Unreachable');

  const second = await upstream({ transport: 'streamable-http', tools: 3, port });
  const back = await waitForReady(cp, 'flaky', 'True');
  expect(back.tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002', 'tool-0003']);
  expect(second.requests.length).toBeGreaterThan(0);
  await waitFor(async () => (await cp.gateway.get(ready.fqn)) && (await cp.gateway.get(ready.fqn))!.unavailable === undefined, { what: 'served again' });
  const served = await fetch(mcpUrl, mcpInit);
  expect(served.status).toBe(200);
  await served.body?.cancel();
  const reasons = (await eventsOf(cp, ready.id)).map((e) => `${e.type}/${e.reason}`);
  const wentDown = reasons.indexOf('Warning/Unreachable');
  expect(wentDown).toBeGreaterThan(-1);
  expect(reasons.slice(wentDown + 1)).toContain('Normal/Ready');
});

it('does not let a hanging server delay another registered at the same time, nor the PUT', async () => {
  // One reconcile worker: a discovery that held it would hold every other server too. The hanging server
  // never answers and its budget outlasts the test, so its discovery is in flight throughout.
  const cp = await controlPlane(['--discovery-timeout', '10m', '--workers', '1']);
  const hanging = await upstream({ transport: 'streamable-http', tools: 1, hang: true });
  const healthy = await upstream({ transport: 'streamable-http', tools: 1 });
  await putServer(cp, remoteManifest({ name: 'hanging', url: hanging.url }));
  await waitFor(() => hanging.requests.length > 0, { what: 'the hanging server to be contacted' });
  // The PUT is answered while that discovery is still in flight...
  await putServer(cp, remoteManifest({ name: 'healthy', url: healthy.url }));
  expect(condition(await getServer(cp, 'hanging'), 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Discovering' });
  // ...and the other server is discovered while it still is.
  await waitForReady(cp, 'healthy', 'True');
  const stillHanging = await getServer(cp, 'hanging');
  expect(condition(stillHanging, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Discovering' });
  expect(hanging.requests.length).toBeGreaterThan(0);
});

it('answers a refresh that cannot finish in time with 504 and the reason, and discovers anyway', async () => {
  // One discovery slot, held by servers that never answer for 2 s each (8 s in all): the refreshed server
  // waits its turn for longer than the refresh waits (3 s), however slowly the PUTs went.
  const cp = await controlPlane(['--discovery-timeout', '2s', '--discovery-concurrency', '1', '--discovery-retry-base', '10s']);
  const hanging = await upstream({ transport: 'streamable-http', tools: 1, hang: true });
  for (const n of [1, 2, 3, 4]) await putServer(cp, remoteManifest({ name: `hanging-${n}`, url: hanging.url }));
  const healthy = await upstream({ transport: 'streamable-http', tools: 1 });
  const { json } = await putServer(cp, remoteManifest({ name: 'queued', url: healthy.url }));

  const res = await refresh(cp, json.data.id);
  expect(res.status).toBe(504);
  expect(res.json.error.code).toBe('Timeout');
  expect(res.json.error.message).toMatch(/did not finish within 3000 ms: it is waiting for a free discovery slot, behind \d+ other discover/);
  expect(res.json.error.message).toMatch(/--discovery-concurrency is 1/);
  // The refresh gave up waiting; the discovery did not: once the slot is free (the hanging server goes
  // away, so the discoveries ahead fail at once), the server is discovered.
  await hanging.close();
  await waitForReady(cp, 'queued', 'True');
});
