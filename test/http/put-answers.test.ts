// The answers of PUT /api/svc/v1/mcp-servers are put together as text, an unchanged write's from the
// stored view and spec: they must be exactly what presenting the resource would answer.
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const PUT = '/api/svc/v1/mcp-servers';
const SECRET = 'canary-secret-5be21d90';

describe('PUT answers', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    // No upstream listens on port 9: discovery fails, which is fine for answers.
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  const manifest = (overrides: Record<string, unknown> = {}) =>
    remoteManifest({
      name: 'answers',
      url: 'http://127.0.0.1:9/mcp',
      auth_data: { type: 'header', headers: { Authorization: `Bearer ${SECRET}` } },
      tags: { team: 'a', env: 'test' },
      ...overrides,
    });

  it('answers an unchanged write with the stored resource as GET answers it, key order included', async () => {
    const created = await cp.api(PUT, { method: 'PUT', body: { manifest: manifest() } });
    expect(created.status).toBe(200);
    // Once its discovery failed, nothing writes the resource again during these tests (retries back off).
    await waitFor(
      async () =>
        (await cp.api(`${PUT}/name/answers`)).json.data.status.conditions.some((c: { type: string; status: string }) => c.type === 'Discovered' && c.status === 'False'),
      { what: 'the discovery to fail' },
    );
    const same = await cp.api(PUT, { method: 'PUT', body: { manifest: manifest(), metadata: undefined } });
    expect(same.status).toBe(200);
    const get = await cp.api(`${PUT}/name/answers`);
    expect(same.json.action).toBe('UNCHANGED');
    expect(same.headers.get('etag')).toBe(get.headers.get('etag'));
    expect(same.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // The same bytes as GET's data, and the masked manifest as existingManifest.
    expect(same.text).toBe(
      `{"data":${JSON.stringify(get.json.data)},"action":"UNCHANGED","dryRun":false,` +
        `"existingManifest":${JSON.stringify(get.json.data.manifest)},"diff":[]}`,
    );
    expect(same.json.data.proxyUrl).toBe(`${cp.url}/mcp/answers`);
    expect(same.text).not.toContain(SECRET);
  });

  it('answers a dryRun update with the stored manifest masked and the plan', async () => {
    const get = await cp.api(`${PUT}/name/answers`);
    const dry = await cp.api(PUT, { method: 'PUT', body: { manifest: manifest({ description: 'changed' }), dryRun: true } });
    expect(dry.status).toBe(200);
    expect(Object.keys(dry.json)).toEqual(['data', 'action', 'dryRun', 'existingManifest', 'diff']);
    expect(dry.json).toMatchObject({ action: 'UPDATE', dryRun: true, diff: [{ op: 'replace', path: '/description', to: 'changed' }] });
    expect(dry.json.existingManifest).toEqual(get.json.data.manifest);
    expect(JSON.stringify(dry.json.existingManifest)).toBe(JSON.stringify(get.json.data.manifest));
    expect(dry.json.data.manifest.description).toBe('changed');
    expect(dry.text).not.toContain(SECRET);
  });

  it('answers a write of masked secrets (read without the stored texts) the same way', async () => {
    const get = await cp.api(`${PUT}/name/answers`);
    const masked = await cp.api(PUT, { method: 'PUT', body: { manifest: get.json.data.manifest } });
    expect(masked.status).toBe(200);
    expect(masked.json.action).toBe('UNCHANGED');
    expect(masked.text).toBe(
      `{"data":${JSON.stringify(get.json.data)},"action":"UNCHANGED","dryRun":false,` +
        `"existingManifest":${JSON.stringify(get.json.data.manifest)},"diff":[]}`,
    );
  });
});
