// Refresh and events by name (what `mcpctl refresh NAME` and `describe NAME` call), with the same
// answers and the same access rules as the routes by id.
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { putServer, SERVERS, waitForReady } from '../support/servers-api.js';

let cp: TestControlPlane;
let upstream: RunningMcpServer;
beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--discovery-interval', '10m'] });
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await cp.dispose();
  await upstream.close();
});

it('POST …/name/{name}/refresh discovers again and answers the resource with the new status', async () => {
  const created = await putServer(cp, remoteManifest({ name: 'by-name', url: upstream.url }));
  await waitForReady(cp, 'by-name', 'True');
  const lists = () => upstream.requests.filter((r) => r.rpcMethod === 'tools/list').length;
  const before = lists();
  upstream.setTools(3);
  const res = await cp.api(`${SERVERS}/name/by-name/refresh`, { method: 'POST' });
  expect(res.status).toBe(200);
  expect(lists()).toBeGreaterThan(before);
  expect(res.json.data.id).toBe(created.json.data.id);
  expect(res.json.data.tools).toHaveLength(3);
  expect(res.headers.get('etag')).toBe(`"${res.json.data.resourceVersion}"`);
});

it('GET …/name/{name}/events answers what …/{id}/events does', async () => {
  const created = await putServer(cp, remoteManifest({ name: 'by-name-events', url: upstream.url }));
  await waitForReady(cp, 'by-name-events', 'True');
  const byName = await cp.api(`${SERVERS}/name/by-name-events/events`);
  const byId = await cp.api(`${SERVERS}/${created.json.data.id}/events`);
  expect(byName.status).toBe(200);
  expect(byName.json.data.length).toBeGreaterThan(0);
  expect(byName.json).toEqual(byId.json);
});

it('an unknown name is a 404 naming it, on both routes', async () => {
  for (const [method, path] of [
    ['POST', `${SERVERS}/name/no-such/refresh`],
    ['GET', `${SERVERS}/name/no-such/events`],
  ] as const) {
    const res = await cp.api(path, { method });
    expect(res.status).toBe(404);
    expect(res.json.error.message).toContain('"no-such"');
  }
});
