// mcp-server/stdio in the reference shape: auth_data { type: env, env, auth_level } applied through PUT
// and from a watched file, the deprecated top-level env rewritten into it, per_user refused by name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const SCRIPT = join(import.meta.dirname, '..', 'support', 'stdio-server.mjs');
const NODE = process.execPath;
const PUT = '/api/svc/v1/mcp-servers';

function stdioManifest(name: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'mcp-server/stdio',
    name,
    description: 'Local tools',
    command: NODE,
    args: [SCRIPT],
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    ...extra,
  };
}

async function envKeysThroughGateway(cp: TestControlPlane, name: string): Promise<string[]> {
  const client = new Client({ name: 'stdio-auth-data-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  try {
    const result = await client.callTool({ name: 'env_keys', arguments: {} });
    return JSON.parse((result.content as { text: string }[])[0]!.text) as string[];
  } finally {
    await client.close();
  }
}

async function waitReady(cp: TestControlPlane, name: string) {
  return waitFor(
    async () => {
      const got = await cp.api(`${PUT}/name/${name}`);
      const ready = (got.json?.data?.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      return ready?.status === 'True' ? got.json.data : undefined;
    },
    { what: `${name} Ready` },
  );
}

describe('mcp-server/stdio auth_data', () => {
  let cp: TestControlPlane;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-stdio-auth-'));
    cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', NODE], manifests: [dir] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies auth_data.env through PUT: the process gets the variables, answers show them masked', async () => {
    const put = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: stdioManifest('env-by-put', { auth_data: { type: 'env', env: { API_TOKEN: 'put-secret-1' } } }) },
    });
    expect(put.status).toBe(200);
    expect(put.json.action).toBe('CREATE');
    expect(put.text).not.toContain('put-secret-1');
    expect(put.json.data.manifest.auth_data).toEqual({ type: 'env', env: { API_TOKEN: '********' }, auth_level: 'global' });
    await waitReady(cp, 'env-by-put');
    expect(await envKeysThroughGateway(cp, 'env-by-put')).toContain('API_TOKEN');
  });

  it('rewrites the deprecated top-level env into auth_data; both spellings are one spec', async () => {
    const alias = await cp.api(PUT, { method: 'PUT', body: { manifest: stdioManifest('env-alias', { env: { LEGACY_VAR: 'legacy-secret' } }) } });
    expect(alias.status).toBe(200);
    expect(alias.json.data.manifest.env).toBeUndefined();
    expect(alias.json.data.manifest.auth_data).toEqual({ type: 'env', env: { LEGACY_VAR: '********' }, auth_level: 'global' });
    const same = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: stdioManifest('env-alias', { auth_data: { type: 'env', env: { LEGACY_VAR: 'legacy-secret' }, auth_level: 'global' } }) },
    });
    expect(same.status).toBe(200);
    expect(same.json.action).toBe('UNCHANGED');
    expect(same.json.data.generation).toBe(1);
    await waitReady(cp, 'env-alias');
    expect(await envKeysThroughGateway(cp, 'env-alias')).toContain('LEGACY_VAR');
  });

  it('applies auth_data.env from a watched file', async () => {
    writeFileSync(
      join(dir, 'stdio.yaml'),
      [
        'type: mcp-server/stdio',
        'name: env-from-file',
        'description: Local tools from a file',
        `command: ${JSON.stringify(NODE)}`,
        `args: [${JSON.stringify(SCRIPT)}]`,
        'auth_data:',
        '  type: env',
        '  env: { FILE_VAR: file-secret }',
        '  auth_level: global',
        'collaborators: [{ subject: "team:everyone", role_id: mcp-server-user }]',
        '',
      ].join('\n'),
    );
    const data = await waitReady(cp, 'env-from-file');
    expect(data.manifest.auth_data).toEqual({ type: 'env', env: { FILE_VAR: '********' }, auth_level: 'global' });
    expect(await envKeysThroughGateway(cp, 'env-from-file')).toContain('FILE_VAR');
  });

  it('refuses auth_level per_user, saying per-user credentials are not available', async () => {
    const put = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: stdioManifest('env-per-user', { auth_data: { type: 'env', env: { A: 'b' }, auth_level: 'per_user' } }) },
    });
    expect(put.status).toBe(400);
    expect(put.json.error.details).toEqual([
      expect.objectContaining({ path: '/manifest/auth_data/auth_level', message: expect.stringContaining('no per-user credentials') }),
    ]);
    expect((await cp.api(`${PUT}/name/env-per-user`)).status).toBe(404);
  });

  it('refuses env and auth_data together, naming env', async () => {
    const put = await cp.api(PUT, {
      method: 'PUT',
      body: { manifest: stdioManifest('env-both', { env: { A: 'b' }, auth_data: { type: 'env', env: { C: 'd' } } }) },
    });
    expect(put.status).toBe(400);
    expect(put.json.error.details).toEqual([expect.objectContaining({ path: '/manifest/env', message: expect.stringContaining('deprecated spelling of auth_data.env') })]);
  });
});
