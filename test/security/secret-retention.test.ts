// Masked secrets sent back keep the stored values (GET → edit → PUT). They must not be redirected: a
// non-admin who never saw a secret cannot point it at a host of their choosing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteMcpServerManifest } from '../../src/domain/manifest.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { waitFor } from '../support/wait-for.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const CANARY = 'canary-retention-5c1e';
const EDITOR = 'editor-token-0123456789abcdef';

describe('masked secrets and their destination', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-retention-'));
    writeTokensFile(join(dir, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:eve@example.com', role: 'editor' }]);
    cp = await startTestControlPlane({ args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () => (await cp.store.get('default:mcp-server:retained'))!.manifest as RemoteMcpServerManifest;

  beforeEach(async () => {
    // An admin registers the server with a secret, and makes the editor one of its managers.
    const put = await cp.api(API, {
      method: 'PUT',
      body: {
        manifest: remoteManifest({
          name: 'retained',
          url: 'http://127.0.0.1:9/mcp',
          additional_headers: { 'X-Api-Key': CANARY },
          collaborators: [{ subject: 'user:eve@example.com', role_id: 'mcp-server-manager' }],
        }),
      },
    });
    expect(put.status).toBe(200);
  });

  async function editorSends(change: Record<string, unknown>) {
    const got = await cp.api(`${API}/name/retained`, { token: EDITOR });
    expect(got.status).toBe(200);
    expect(got.json.data.manifest.additional_headers['X-Api-Key']).toBe('********');
    return cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: { ...got.json.data.manifest, ...change } } });
  }

  it('keeps masked secrets for an edit that does not move them', async () => {
    const res = await editorSends({ description: 'edited by eve' });
    expect(res.status).toBe(200);
    expect((await stored()).additional_headers['X-Api-Key']).toBe(CANARY);
  });

  it.each([
    ['url', { url: 'http://127.0.0.1:10/evil' }],
    ['upstream_proxy', { upstream_proxy: { url: 'http://127.0.0.1:11' } }],
  ])('refuses to send masked secrets to a new %s, and changes nothing', async (_what, change) => {
    // The reconciles of the edit beforeEach made are done: the discovery's failure is in status (a PUT is answered before).
    const before = await waitFor(async () => {
      const r = (await cp.store.get('default:mcp-server:retained'))!;
      const ready = r.status.conditions.find((c) => c.type === 'Ready');
      return ready?.observedGeneration === r.generation && ready.status !== 'Unknown' ? r : undefined;
    }, { what: 'the reconcile of the stored generation' });
    const res = await editorSends(change);
    expect(res.status).toBe(403);
    expect(res.json.error.message).toContain('/additional_headers/X-Api-Key');
    expect(res.text).not.toContain(CANARY);
    expect((await cp.store.get('default:mcp-server:retained'))!.resourceVersion).toBe(before.resourceVersion);
  });

  it('lets the editor move the server when they send the secret values themselves', async () => {
    const res = await editorSends({ url: 'http://127.0.0.1:10/mcp', additional_headers: { 'X-Api-Key': 'a-new-value-eve-knows' } });
    expect(res.status).toBe(200);
    expect((await stored()).url).toBe('http://127.0.0.1:10/mcp');
    expect((await stored()).additional_headers['X-Api-Key']).toBe('a-new-value-eve-knows');
  });

  it('lets a tenant admin move a server with its masked secrets', async () => {
    const got = await cp.api(`${API}/name/retained`);
    const res = await cp.api(API, { method: 'PUT', body: { manifest: { ...got.json.data.manifest, url: 'http://127.0.0.1:12/mcp' } } });
    expect(res.status).toBe(200);
    expect((await stored()).additional_headers['X-Api-Key']).toBe(CANARY);
  });
});
