// Two validators: ETag is the resourceVersion (every write, status included, moves it); Generation-ETag
// names the spec's generation, which only spec changes move. If-Match takes either, so "PUT, then PUT
// again with If-Match" works without a GET between them while the reconciler writes status.
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const API = '/api/svc/v1/mcp-servers';
const FQN = 'default:mcp-server:preconditioned';

describe('If-Match on the generation', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
  });

  const put = (description: string, ifMatch?: string) =>
    cp.api(API, {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'preconditioned', description }) },
      ...(ifMatch !== undefined ? { headers: { 'if-match': ifMatch } } : {}),
    });

  /** Waits until a status write after `resourceVersion` landed (the reconcile of the write). */
  const statusWritten = (resourceVersion: number) =>
    waitFor(async () => ((await cp.store.get(FQN))?.resourceVersion ?? 0) > resourceVersion, { what: 'the status write after the PUT' });

  it('accepts a second PUT with the generation ETag of the first answer after the status write; refuses a stale one', async () => {
    const first = await put('first');
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe(`"${first.json.data.resourceVersion}"`);
    expect(first.headers.get('generation-etag')).toBe('"gen-1"');
    await statusWritten(first.json.data.resourceVersion);

    // The resourceVersion ETag is stale now: the reconciler wrote status.
    const byVersion = await put('second', first.headers.get('etag')!);
    expect(byVersion.status).toBe(412);

    const second = await put('second', first.headers.get('generation-etag')!);
    expect(second.status).toBe(200);
    expect(second.json.data.manifest.description).toBe('second');
    expect(second.headers.get('generation-etag')).toBe('"gen-2"');
    await statusWritten(second.json.data.resourceVersion);

    const stale = await put('third', first.headers.get('generation-etag')!);
    expect(stale.status).toBe(412);
    expect(stale.json.error.message).toContain('generation');
    expect(stale.json.error.message).toContain('"gen-2"');
    expect((await cp.store.get(FQN))!.manifest.description).toBe('second');
  });

  it('answers both validators on GET, and a weak or unquoted generation ETag works too', async () => {
    const got = await cp.api(`${API}/name/preconditioned`);
    const generation = got.json.data.generation as number;
    expect(got.headers.get('generation-etag')).toBe(`"gen-${generation}"`);
    expect(got.headers.get('etag')).toBe(`"${got.json.data.resourceVersion}"`);
    expect((await put('fourth', `W/"gen-${generation}"`)).status).toBe(200);
    expect((await put('fifth', `gen-${generation + 1}`)).status).toBe(200);
  });

  it('refuses a generation precondition for a server that does not exist', async () => {
    const res = await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'not-there' }) }, headers: { 'if-match': '"gen-1"' } });
    expect(res.status).toBe(412);
    expect((await cp.store.get('default:mcp-server:not-there'))).toBeUndefined();
  });

  it('honours the generation precondition on DELETE', async () => {
    const got = await cp.api(`${API}/name/preconditioned`);
    const generation = got.json.data.generation as number;
    expect((await cp.api(`${API}/name/preconditioned`, { method: 'DELETE', headers: { 'if-match': `"gen-${generation - 1}"` } })).status).toBe(412);
    expect((await cp.api(`${API}/name/preconditioned`, { method: 'DELETE', headers: { 'if-match': `"gen-${generation}"` } })).status).toBe(200);
  });
});
