// Cases the fuzz test found, kept as plain tests.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const yaml = (name: string) =>
  `type: mcp-server/remote\nname: ${name}\ndescription: d\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`;

describe('a refused file keeps its servers, even when another file of the same batch wants one', () => {
  let cp: TestControlPlane;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fuzz-regress-'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const files = async () => (await cp.api('/api/svc/v1/sources')).json.data[0].files as { path: string; contentHash: string; errors: { message: string }[] }[];
  const desired = () => {
    const db = new Database(join(cp.dataDir, 'control-plane.db'), { readonly: true });
    try {
      return JSON.stringify(db.prepare('SELECT fqn, spec, source, generation FROM resources ORDER BY fqn').all());
    } finally {
      db.close();
    }
  };

  it('a.yaml is refused at apply (its new name is the API\'s): b.yaml may not take the name a.yaml holds', async () => {
    writeFileSync(join(dir, 'a.yaml'), yaml('held'));
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/held')).status === 200, { what: 'held from a.yaml' });
    expect((await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name: 'api-owned' }) } })).status).toBe(200);
    const before = desired();

    // One batch: a.yaml now declares a name the API manages (refused when applied), b.yaml the name a.yaml held.
    writeFileSync(join(dir, 'a.yaml'), yaml('api-owned'));
    writeFileSync(join(dir, 'b.yaml'), yaml('held'));
    const [a, b] = await waitFor(async () => {
      const f = await files();
      const a = f.find((x) => x.path === 'a.yaml' && x.errors.length > 0);
      const b = f.find((x) => x.path === 'b.yaml');
      return a && b ? [a, b] : undefined;
    }, { what: 'both files synced' });
    expect(a.errors[0]!.message).toContain('is already managed by the API');
    expect(b.errors.map((e) => e.message)).toEqual(['MCP server "held" stays declared in a.yaml, which has errors; fix a.yaml first, then declare it here']);
    expect(desired()).toBe(before);
    expect((await cp.api('/api/svc/v1/mcp-servers/name/held')).json.data.source).toMatchObject({ kind: 'file', path: 'a.yaml' });

    // Once a.yaml is fixed (it declares something else), b.yaml takes the name.
    writeFileSync(join(dir, 'a.yaml'), yaml('other'));
    writeFileSync(join(dir, 'b.yaml'), `${yaml('held')}# again\n`);
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/held')).json.data?.source.path === 'b.yaml', { what: 'held moved to b.yaml' });
  });
});
