// Secrets at rest: AES-256-GCM in both SQLite files with a key from MCP_CP_SECRET_KEY or
// <data-dir>/secret.key; keyed (HMAC) spec and gateway-config hashes; the masked round trip.
import Database from 'better-sqlite3';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { gatewayEntryHash } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { normaliseManifest, stableStringify, validateManifest } from '../../src/manifest/index.js';
import { AesGcmSecretCodec, decodeSecretKey, deriveKey, SecretKeyError } from '../../src/store/secret-codec.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { initialStatus } from '../../src/domain/resource.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const SECRET = 'canary-at-rest-5d1c9e77b2';
const API = '/api/svc/v1/mcp-servers';

function rawBytesContain(dataDir: string, needle: string): string[] {
  const found: string[] = [];
  for (const f of ['control-plane.db', 'control-plane.db-wal', 'gateway.db', 'gateway.db-wal']) {
    const path = join(dataDir, f);
    if (existsSync(path) && readFileSync(path).includes(Buffer.from(needle))) found.push(f);
  }
  return found;
}

describe('the codec', () => {
  const key = randomBytes(32);
  const codec = new AesGcmSecretCodec(key);

  it('round-trips, with a fresh IV each time, and never shows the plaintext', () => {
    const a = codec.seal(SECRET);
    const b = codec.seal(SECRET);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^aes256gcm:v1:[A-Za-z0-9+/]+=*$/);
    expect(a).not.toContain(SECRET);
    expect(codec.open(a)).toBe(SECRET);
    expect(codec.open(codec.seal(''))).toBe('');
    expect(codec.open(codec.seal('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('refuses a changed byte and another key; answers a value stored before encryption as is', () => {
    const sealed = codec.seal(SECRET);
    const raw = Buffer.from(sealed.slice('aes256gcm:v1:'.length), 'base64');
    raw[raw.length - 20] = raw[raw.length - 20]! ^ 1;
    expect(() => codec.open(`aes256gcm:v1:${raw.toString('base64')}`)).toThrow(SecretKeyError);
    expect(() => new AesGcmSecretCodec(randomBytes(32)).open(sealed)).toThrow(/does not decrypt with this key/);
    expect(() => codec.open('aes256gcm:v1:AAAA')).toThrow(/truncated/);
    expect(codec.isSealed('legacy')).toBe(false);
    expect(codec.open('legacy')).toBe('legacy');
  });

  it.each([
    ['hex', randomBytes(32).toString('hex')],
    ['base64', randomBytes(32).toString('base64')],
    ['base64url without padding', randomBytes(32).toString('base64url')],
  ])('reads a key as %s', (_label, text) => {
    expect(decodeSecretKey(`${text}\n`, 'x')).toHaveLength(32);
  });

  it.each(['', 'short', randomBytes(16).toString('base64'), randomBytes(33).toString('hex'), 'not base64 at all!'])(
    'refuses MCP_CP_SECRET_KEY=%j with an error naming the variable',
    (value) => {
      if (value === '') {
        expect(parseServeConfig(['--no-manifests'], { MCP_CP_SECRET_KEY: value }).secretKey).toBeUndefined();
        return;
      }
      expect(() => parseServeConfig(['--no-manifests'], { MCP_CP_SECRET_KEY: value })).toThrow(ConfigError);
      expect(() => parseServeConfig(['--no-manifests'], { MCP_CP_SECRET_KEY: value })).toThrow(/^The environment variable MCP_CP_SECRET_KEY must hold a 32-byte key/);
    },
  );
});

describe('secrets at rest in the real control plane', () => {
  let upstream: RunningMcpServer;
  let dataDir: string;
  beforeAll(async () => {
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 1, requireHeader: { name: 'authorization', value: `Bearer ${SECRET}` } });
  });
  afterAll(async () => upstream.close());
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcp-at-rest-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const withSecret = () =>
    remoteManifest({ url: upstream.url, auth_data: { type: 'header', headers: { Authorization: `Bearer ${SECRET}` } }, additional_headers: { 'X-Extra': `x-${SECRET}` } });
  const start = (env: NodeJS.ProcessEnv = {}) => startTestControlPlane({ dataDir, env, args: ['--resync-interval', '0'] });
  const waitReady = (cp: TestControlPlane) =>
    waitFor(async () => {
      const r = await cp.api(`${API}/name/github-tools`);
      return r.json.data?.status.conditions.find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    }, { what: 'Ready' });

  it('generates secret.key (0600), seals both files, reuses the key on restart, and refuses another key', async () => {
    let cp = await start();
    try {
      expect((await cp.api(API, { method: 'PUT', body: { manifest: withSecret() } })).status).toBe(200);
      await waitReady(cp);
      expect((await cp.gateway.get('default:mcp-server:github-tools'))?.headers.Authorization).toBe(`Bearer ${SECRET}`);
      expect(rawBytesContain(dataDir, SECRET)).toEqual([]);
      const gw = new Database(join(dataDir, 'gateway.db'), { readonly: true });
      const headers = JSON.parse((gw.prepare('SELECT headers FROM gateway_entries').get() as { headers: string }).headers);
      gw.close();
      expect(Object.values(headers).every((v) => String(v).startsWith('aes256gcm:v1:'))).toBe(true);
    } finally {
      await cp.stop();
    }
    const keyFile = join(dataDir, 'secret.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(decodeSecretKey(readFileSync(keyFile, 'utf8'), keyFile)).toHaveLength(32);
    expect(rawBytesContain(dataDir, SECRET)).toEqual([]);

    cp = await start();
    try {
      expect(((await cp.store.get('default:mcp-server:github-tools'))?.manifest as { auth_data?: unknown } | undefined)?.auth_data).toMatchObject({ headers: { Authorization: `Bearer ${SECRET}` } });
      await waitReady(cp);
    } finally {
      await cp.stop();
    }
    await expect(start({ MCP_CP_SECRET_KEY: randomBytes(32).toString('base64') })).rejects.toThrow(/does not decrypt with this key/);
  });

  it('MCP_CP_SECRET_KEY is used instead of a key file', async () => {
    const key = randomBytes(32).toString('hex');
    const cp = await start({ MCP_CP_SECRET_KEY: key });
    try {
      expect((await cp.api(API, { method: 'PUT', body: { manifest: withSecret() } })).status).toBe(200);
      expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
      const db = new Database(join(dataDir, 'control-plane.db'), { readonly: true });
      const row = db.prepare('SELECT secrets FROM resources').get() as { secrets: string };
      db.close();
      const codec = new AesGcmSecretCodec(Buffer.from(key, 'hex'));
      expect(Object.values(JSON.parse(row.secrets) as Record<string, string>).map((v) => codec.open(v)).sort()).toEqual([`Bearer ${SECRET}`, `x-${SECRET}`]);
    } finally {
      await cp.stop();
    }
  });

  it('seals secrets an older version stored in clear, and vacuums the clear text away', async () => {
    const legacy = new SqliteResourceStore({ views: resourceViews, path: join(dataDir, 'control-plane.db') });
    const v = validateManifest(withSecret());
    if (!v.ok) throw new Error('fixture');
    const m = normaliseManifest(v.manifest);
    await legacy.create({
      id: 'legacy-1', tenant: 'default', name: 'github-tools', fqn: 'default:mcp-server:github-tools', manifest: m, specHash: 'x',
      source: { kind: 'api' }, metadata: {}, accountId: 'default', status: initialStatus(),
      createdBy: { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Administrator' },
    });
    await legacy.close();
    const legacyGateway = new SqliteGatewayStore({ path: join(dataDir, 'gateway.db') });
    await legacyGateway.apply({
      fqn: 'default:mcp-server:old', tenant: 'default', name: 'old', resourceId: 'r', accountId: 'default', upstreamUrl: upstream.url, transport: null,
      headers: { Authorization: `Bearer ${SECRET}` }, passthroughAuth: false, tls: { rejectUnauthorized: true }, disabledTools: [], toolOverrides: {}, collaborators: [], generation: 1,
    });
    await legacyGateway.close();
    expect(rawBytesContain(dataDir, SECRET).length).toBeGreaterThan(0);

    const cp = await start();
    try {
      expect(rawBytesContain(dataDir, SECRET)).toEqual([]);
      expect(((await cp.store.get('default:mcp-server:github-tools'))?.manifest as { additional_headers?: unknown } | undefined)?.additional_headers).toEqual({ 'X-Extra': `x-${SECRET}` });
      await waitReady(cp);
    } finally {
      await cp.stop();
    }
    expect(rawBytesContain(dataDir, SECRET)).toEqual([]);
  });

  it('hashes are keyed: same spec, same hash; a rotated secret, another; neither is a plain sha256', async () => {
    const cp = await start();
    try {
      const first = await cp.api(API, { method: 'PUT', body: { manifest: withSecret() } });
      expect(first.json.action).toBe('CREATE');
      const db = new Database(join(dataDir, 'control-plane.db'), { readonly: true });
      const hashOf = () => (db.prepare('SELECT spec_hash FROM resources').get() as { spec_hash: string }).spec_hash;
      const stored = hashOf();
      const v = validateManifest(withSecret());
      if (!v.ok) throw new Error('fixture');
      const canonical = stableStringify(normaliseManifest(v.manifest));
      expect(stored).not.toBe(createHash('sha256').update(canonical).digest('hex'));
      const key = deriveKey(decodeSecretKey(readFileSync(join(dataDir, 'secret.key'), 'utf8'), 'k'), 'content-hash');
      expect(stored).toBe(createHmac('sha256', key).update(canonical).digest('hex'));

      const same = await cp.api(API, { method: 'PUT', body: { manifest: { ...withSecret(), tags: {} } } });
      expect(same.json.action).toBe('UNCHANGED');
      expect(hashOf()).toBe(stored);
      const rotated = await cp.api(API, {
        method: 'PUT',
        body: { manifest: { ...withSecret(), auth_data: { type: 'header', headers: { Authorization: 'Bearer rotated-value-1' } } } },
      });
      expect(rotated.json.action).toBe('UPDATE');
      expect(rotated.json.diff).toEqual([{ op: 'replace', path: '/auth_data/headers/Authorization', secret: true }]);
      expect(hashOf()).not.toBe(stored);
      db.close();

      await waitFor(async () => (await cp.gateway.get('default:mcp-server:github-tools'))?.headers.Authorization === 'Bearer rotated-value-1');
      const entry = (await cp.gateway.get('default:mcp-server:github-tools'))!;
      expect(entry.configHash).not.toBe(gatewayEntryHash(entry));
      expect(entry.configHash).toBe(gatewayEntryHash(entry, key));
      const view = await cp.api('/api/svc/v1/gateway/servers');
      expect(view.json.data[0].configHash).toBe(entry.configHash);
    } finally {
      await cp.stop();
    }
  });

  it('the masked round trip (GET, edit, PUT) keeps the secret', async () => {
    const cp = await start();
    try {
      await cp.api(API, { method: 'PUT', body: { manifest: withSecret() } });
      await waitReady(cp);
      const got = await cp.api(`${API}/name/github-tools`);
      expect(got.text).not.toContain(SECRET);
      const edited = { ...got.json.data.manifest, description: 'edited after GET' };
      expect(edited.auth_data.headers.Authorization).toBe('********');
      const put = await cp.api(API, { method: 'PUT', body: { manifest: edited } });
      expect(put.status).toBe(200);
      expect(put.json.action).toBe('UPDATE');
      expect(put.json.diff).toEqual([{ op: 'replace', path: '/description', from: 'GitHub tools for the platform team', to: 'edited after GET' }]);
      expect(((await cp.store.get('default:mcp-server:github-tools'))?.manifest as { auth_data?: unknown } | undefined)?.auth_data).toMatchObject({ headers: { Authorization: `Bearer ${SECRET}` } });
      const unchanged = await cp.api(API, { method: 'PUT', body: { manifest: edited } });
      expect(unchanged.json.action).toBe('UNCHANGED');
      await waitFor(async () => (await cp.api(`${API}/name/github-tools`)).json.data.status.observedGeneration === 2);
      await waitReady(cp); // the upstream, which requires the real header, still answers
      expect((await cp.gateway.get('default:mcp-server:github-tools'))?.headers.Authorization).toBe(`Bearer ${SECRET}`);
    } finally {
      await cp.stop();
    }
  });
});
