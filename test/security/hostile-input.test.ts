// Hostile input through the real server and the file source: every case is refused with a 4xx (or an
// error on the file), quickly, with no change to stored state and no polluted prototype.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runValidate } from '../../src/cli/validate.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { workspace } from '../cli/cli-support.js';

const API = '/api/svc/v1/mcp-servers';

/** Every row of both databases that intake or the reconciler could write. */
export function snapshot(dataDir: string): string {
  const cp = new Database(join(dataDir, 'control-plane.db'), { readonly: true });
  const gw = new Database(join(dataDir, 'gateway.db'), { readonly: true });
  try {
    return JSON.stringify({
      resources: cp.prepare('SELECT * FROM resources ORDER BY fqn').all(),
      changelog: cp.prepare('SELECT * FROM changelog ORDER BY resource_version').all(),
      events: cp.prepare('SELECT * FROM events ORDER BY id').all(),
      counters: cp.prepare('SELECT * FROM counters').all(),
      gateway: gw.prepare('SELECT * FROM gateway_entries ORDER BY fqn').all(),
    });
  } finally {
    cp.close();
    gw.close();
  }
}

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
  return v;
};

/** YAML that expands to 9^9 strings if aliases were followed without a bound. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${new Array(9).fill(`*${prev}`).join(',')}]`);
  }
  lines.push('type: mcp-server/remote', 'name: laughs', 'description: *i', 'url: http://127.0.0.1:9/mcp', 'collaborators: []');
  return `${lines.join('\n')}\n`;
}

describe('hostile input through the real server', () => {
  let cp: TestControlPlane;
  let manifests: string;
  beforeAll(async () => {
    manifests = mkdtempSync(join(tmpdir(), 'mcp-hostile-'));
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'], manifests: [manifests] });
    expect((await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'existing' }) } })).status).toBe(200);
    await settle();
  });

  /** Waits until every stored server's first discovery has failed (127.0.0.1:9) and the workers are idle. */
  async function settle() {
    await waitFor(
      async () =>
        (await cp.api(`${API}?limit=1000`)).json.data.every((d: { status: { conditions: { type: string; status: string }[] } }) =>
          d.status.conditions.some((c) => c.type === 'Ready' && c.status === 'False'),
        ),
      { what: 'every server settled' },
    );
    await cp.controller.waitForIdle();
  }
  afterAll(async () => {
    await cp.dispose();
    rmSync(manifests, { recursive: true, force: true });
  });

  /** Sends a refused request and checks that nothing was stored. */
  async function refused(init: Parameters<TestControlPlane['api']>[1], status: number, path = API) {
    const before = snapshot(cp.dataDir);
    const r = await cp.api(path, init);
    expect([r.status, r.json?.error?.code]).toEqual([status, expect.any(String)]);
    expect(snapshot(cp.dataDir)).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'role')).toBe(false);
    return r;
  }

  it('a body over 1 MiB is 413', async () => {
    const big = remoteManifest({ name: 'existing', description: 'x'.repeat(1024 * 1024) });
    const r = await refused({ method: 'PUT', body: { manifest: big } }, 413);
    expect(r.json.error.message).toBe('The request body is larger than 1 MiB.');
  });

  it('JSON nested deeper than 64 levels is 400 before validation, however deep; brackets inside strings do not count', async () => {
    for (const depth of [65, 1000, 200_000]) {
      const rawBody = `{"manifest":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      const r = await refused({ method: 'PUT', rawBody, headers: { 'content-type': 'application/json' } }, 400);
      expect(r.json.error.message).toBe('The request body is nested deeper than 64 levels.');
    }
    const atLimit = await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'deep-meta' }), metadata: { x: nested(62) } } });
    expect(atLimit.status).toBe(200);
    const brackets = await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'brackets', description: `${'[{'.repeat(400)}"\\` }) } });
    expect(brackets.status).toBe(200);
    expect(brackets.json.data.manifest.description).toBe(`${'[{'.repeat(400)}"\\`);
    await settle();
  });

  it.each([
    ['__proto__ at the top', '{"__proto__":{"polluted":true},"manifest":{}}', '/__proto__'],
    ['__proto__ in metadata', `{"manifest":${JSON.stringify(remoteManifest({ name: 'existing' }))},"metadata":{"__proto__":{"role":"admin"}}}`, '/metadata/__proto__'],
    ['constructor.prototype in the manifest', `{"manifest":${JSON.stringify(remoteManifest({ name: 'existing' })).replace(/}$/, ',"tags":{"constructor":{"prototype":{"polluted":true}}}}')}}`, '/manifest/tags/constructor'],
    ['prototype in a header map', `{"manifest":${JSON.stringify(remoteManifest({ name: 'existing', additional_headers: { prototype: 'x' } }))}}`, '/manifest/additional_headers/prototype'],
  ])('%s is 400 and pollutes nothing', async (_label, rawBody, path) => {
    const r = await refused({ method: 'PUT', rawBody, headers: { 'content-type': 'application/json' } }, 400);
    expect(r.json.error.details).toContainEqual({ path, message: expect.stringContaining('is not allowed') });
  });

  it.each([
    ['malformed JSON', { rawBody: '{"manifest":', headers: { 'content-type': 'application/json' } }, 400],
    ['not JSON', { rawBody: 'type: x', headers: { 'content-type': 'application/yaml' } }, 415],
    ['a string body', { rawBody: '"manifest"', headers: { 'content-type': 'application/json' } }, 400],
    ['an array body', { body: [remoteManifest()] }, 400],
    ['a description over its schema bound', { body: { manifest: remoteManifest({ name: 'existing', description: 'x'.repeat(1001) }) } }, 400],
    ['too many collaborators', { body: { manifest: remoteManifest({ name: 'existing', collaborators: Array.from({ length: 101 }, (_, i) => ({ subject: `user:u${i}@x`, role_id: 'mcp-server-user' })) }) } }, 400],
    ['a name that is not a DNS label', { body: { manifest: remoteManifest({ name: '../../etc/passwd' }) } }, 400],
    ['an unknown field', { body: { manifest: remoteManifest({ name: 'existing', extra: 1 }) } }, 400],
    ['invalid UTF-8 charset', { rawBody: '{}', headers: { 'content-type': 'application/json; charset=latin-9' } }, 415],
  ])('%s is refused', async (_label, init, status) => {
    await refused({ method: 'PUT', ...init }, status);
  });

  it('a billion-laughs file is an error on the file, not an out-of-memory; the server keeps answering', async () => {
    const before = snapshot(cp.dataDir);
    writeFileSync(join(manifests, 'laughs.yaml'), billionLaughs());
    const file = await waitFor(async () => {
      const s = await cp.api('/api/svc/v1/sources');
      return s.json.data[0].files.find((f: { path: string; errors: unknown[] }) => f.path === 'laughs.yaml' && f.errors.length > 0);
    }, { what: 'the file refused' });
    expect(file.errors[0].message).toContain('too many alias expansions');
    expect((await cp.api('/healthz')).status).toBe(200);
    expect((await cp.api(`${API}/name/laughs`)).status).toBe(404);
    expect(snapshot(cp.dataDir)).toBe(before);
  });

  it('a watched file over 1 MiB is refused with an error on the file', async () => {
    const before = snapshot(cp.dataDir);
    const yaml = `type: mcp-server/remote\nname: huge\ndescription: d\nurl: http://127.0.0.1:9/mcp\ncollaborators: []\n# ${'x'.repeat(1024 * 1024)}\n`;
    writeFileSync(join(manifests, 'huge.yaml'), yaml);
    const file = await waitFor(async () => {
      const s = await cp.api('/api/svc/v1/sources');
      return s.json.data[0].files.find((f: { path: string; errors: unknown[] }) => f.path === 'huge.yaml' && f.errors.length > 0);
    }, { what: 'the file refused' });
    expect(file.errors[0].message).toMatch(/at most 1 MiB|larger than 1 MiB/);
    expect((await cp.api(`${API}/name/huge`)).status).toBe(404);
    expect(snapshot(cp.dataDir)).toBe(before);
  });

  it('a file with __proto__, constructor or a merge key is refused and pollutes nothing', async () => {
    const before = snapshot(cp.dataDir);
    writeFileSync(
      join(manifests, 'proto.yaml'),
      'base: &b { polluted: true }\ntype: mcp-server/remote\nname: proto\ndescription: d\nurl: http://127.0.0.1:9/mcp\ncollaborators: []\ntags:\n  <<: *b\n  __proto__: { polluted: "yes" }\n',
    );
    await waitFor(async () => {
      const s = await cp.api('/api/svc/v1/sources');
      return s.json.data[0].files.find((f: { path: string; errors: unknown[] }) => f.path === 'proto.yaml' && f.errors.length > 0);
    }, { what: 'the file refused' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(snapshot(cp.dataDir)).toBe(before);
  });
});

describe('hostile input to mcpctl validate', () => {
  it('a billion-laughs file is an error with its position, without expanding it', async () => {
    const ws = workspace();
    try {
      ws.write('laughs.yaml', billionLaughs());
      // Expanded, the file would not fit in memory: an answer at all means the alias bound cut it off.
      const r = await ws.run(runValidate, ['-f', 'laughs.yaml']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/laughs\.yaml:\d+:\d+: .*too many alias expansions/);
    } finally {
      ws.dispose();
    }
  });
});
