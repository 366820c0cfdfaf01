// The collection's PUT is routed before the routers of the collection's subpaths (revisions, credentials,
// OAuth): it answers as before at the collection (with or without a trailing slash, any letter case), and
// every other method and subpath still reaches its own router.
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { SERVERS } from '../support/servers-api.js';

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--discovery-interval', '10m'] });
});
afterAll(async () => {
  await cp.dispose();
});

it('PUT of the collection creates, at its path with a trailing slash too and in another letter case', async () => {
  for (const [path, name] of [
    [SERVERS, 'route-plain'],
    [`${SERVERS}/`, 'route-slash'],
    [SERVERS.toUpperCase().replace('/API/', '/api/'), 'route-case'],
  ] as const) {
    const res = await cp.api(path, { method: 'PUT', body: { manifest: remoteManifest({ name, url: 'http://127.0.0.1:9/mcp' }) } });
    expect(res.status).toBe(200);
    expect(res.json.action).toBe('CREATE');
    expect(res.json.data.name).toBe(name);
  }
});

it('its refusals are the same: a body that is not JSON (415), an invalid one (400 naming the field)', async () => {
  const text = await cp.api(SERVERS, { method: 'PUT', rawBody: 'name: x', headers: { 'content-type': 'text/plain' } });
  expect(text.status).toBe(415);
  const invalid = await cp.api(SERVERS, { method: 'PUT', body: { manifest: { ...remoteManifest({ name: 'bad', url: 'http://127.0.0.1:9/mcp' }), url: 42 } } });
  expect(invalid.status).toBe(400);
  expect(invalid.text).toContain('/manifest/url');
});

it('the subpaths still reach their routers: revisions, credentials, a server by id, and PUT on a subpath', async () => {
  const created = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'route-sub', url: 'http://127.0.0.1:9/mcp' }) } });
  const id = created.json.data.id as string;
  const revisions = await cp.api(`${SERVERS}/${id}/revisions`);
  expect(revisions.status).toBe(200);
  expect(revisions.json.data[0].generation).toBe(1);
  expect((await cp.api(`${SERVERS}/${id}`)).json.data.name).toBe('route-sub');
  // The credentials router answers its PUT (this server takes no per-user values: a 4xx of that router, not a 404 route miss).
  const credentials = await cp.api(`${SERVERS}/name/route-sub/credentials`, { method: 'PUT', body: { values: { X: 'y' } } });
  expect(credentials.status).toBeGreaterThanOrEqual(400);
  expect(credentials.status).not.toBe(404);
  // A PUT of one server is no route of the API.
  expect((await cp.api(`${SERVERS}/${id}`, { method: 'PUT', body: {} })).status).toBe(404);
  // The collection's GET is still the list.
  const list = await cp.api(SERVERS);
  expect(list.status).toBe(200);
  expect(list.json.data.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['route-plain', 'route-slash', 'route-case', 'route-sub']));
});
