// --store, --lease-duration and --advertise-url, and what PostgreSQL mode demands of a replica: the shared
// keys and admin token from the environment (exit 2 naming the variable), and a secret key that opens
// the database's canary.
import { randomBytes } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { serveCommand } from '../../src/cli/serve.js';
import { checkSecretKeyCanary, SecretKeyMismatchError } from '../../src/cluster/key-check.js';
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const SECRET = randomBytes(32).toString('base64');
const SIGNING = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PG_URL = 'postgres://cp:s3cr3t-pw@db.internal:5432/cp';
const SHARED_ENV = { MCP_CP_SECRET_KEY: SECRET, MCP_CP_ADMIN_TOKEN: 'admin-token-0123456789abcdef', MCP_CP_SIGNING_KEY: SIGNING };

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseServeConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`parseServeConfig(${argv.join(' ')}) did not fail`);
}

/** Runs the real `mcpctl serve` entry with argv and env; answers its exit code and what it wrote to stderr. */
async function serve(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const saved = { ...process.env };
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  for (const k of Object.keys(process.env)) if (k.startsWith('MCP_CP_')) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return { code: await serveCommand(argv), stderr };
  } finally {
    process.stderr.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('cluster flags', () => {
  it('defaults to the embedded store, a 15 s lease with controller-runtime\'s 10 s deadline and 2 s retry, and no advertised URL', () => {
    const c = parseServeConfig([], {});
    expect(c.store).toEqual({ kind: 'sqlite' });
    expect(c.lease).toEqual({ durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(c.advertiseUrl).toBeUndefined();
  });

  it('takes a PostgreSQL URL from MCP_CP_STORE or --store (the flag wins), and derives the lease timings from --lease-duration', () => {
    const c = parseServeConfig(['--lease-duration', '3s', '--advertise-url', 'http://10.0.0.7:8080/'], { ...SHARED_ENV, MCP_CP_STORE: PG_URL });
    expect(c.store).toEqual({ kind: 'postgres', url: PG_URL });
    expect(c.lease).toEqual({ durationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 });
    expect(c.advertiseUrl).toBe('http://10.0.0.7:8080');
    expect(parseServeConfig(['--store', 'sqlite:'], { MCP_CP_STORE: PG_URL }).store).toEqual({ kind: 'sqlite' });
  });

  it('refuses a bad store URL naming --store and the forms it takes, never showing the password', () => {
    for (const bad of ['mysql://root:s3cr3t-pw@db/cp', 'postgres://:s3cr3t-pw@/cp', 'postgres//cp:s3cr3t-pw@db', 'cp:s3cr3t-pw@db']) {
      const message = configError(['--store', bad], SHARED_ENV);
      expect(message).toMatch(/^--store: /);
      expect(message).toMatch(/postgres:\/\/user:password@host:port\/database/);
      expect(message).not.toContain('s3cr3t-pw');
    }
  });

  it('refuses a lease duration without a unit, outside 1s..10m, naming the flag', () => {
    expect(configError(['--lease-duration', '15'])).toBe('--lease-duration: "15" needs a unit; write e.g. 15s (units: ms, s, m, h).');
    expect(configError(['--lease-duration', '500ms'])).toBe('--lease-duration: "500ms" must be from 1s to 10m.');
    expect(configError(['--lease-duration', '11m'])).toBe('--lease-duration: "11m" must be from 1s to 10m.');
    expect(configError(['--advertise-url', 'ftp://x'])).toBe('--advertise-url: "ftp://x" is not an absolute http(s) URL.');
  });

  it('in PostgreSQL mode, names each shared value a replica lacks: the secret key, the admin token, the signing key', () => {
    const pgArgs = ['--store', PG_URL];
    expect(configError(pgArgs, { ...SHARED_ENV, MCP_CP_SECRET_KEY: '' })).toMatch(/PostgreSQL mode needs MCP_CP_SECRET_KEY/);
    expect(configError(pgArgs, { ...SHARED_ENV, MCP_CP_ADMIN_TOKEN: undefined })).toMatch(/PostgreSQL mode needs MCP_CP_ADMIN_TOKEN/);
    expect(configError(pgArgs, { ...SHARED_ENV, MCP_CP_SIGNING_KEY: undefined })).toMatch(/PostgreSQL mode needs MCP_CP_SIGNING_KEY \(or --signing-key-file\)/);
    // The admin token may come from the flag, the signing key from its file.
    const c = parseServeConfig([...pgArgs, '--admin-token', 'x'.repeat(20), '--signing-key-file', '/keys/signing.pem', '--advertise-url', 'http://10.0.0.7:8080'], { MCP_CP_SECRET_KEY: SECRET });
    expect(c.store.kind).toBe('postgres');
    // The embedded store generates its own, as before.
    expect(parseServeConfig([], {}).secretKey).toBeUndefined();
  });

  it('mcpctl serve exits 2 on them, with the message and without the password', async () => {
    const badUrl = await serve(['--store', 'mysql://root:s3cr3t-pw@db/cp'], {});
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^mcpctl serve: --store: /);
    expect(badUrl.stderr).not.toContain('s3cr3t-pw');
    const noKey = await serve([], { MCP_CP_STORE: PG_URL, MCP_CP_ADMIN_TOKEN: 'x'.repeat(20) });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/MCP_CP_SECRET_KEY/);
    expect(noKey.stderr).not.toContain('s3cr3t-pw');
  });
});

const { describe: describePg } = requirePostgres();

describePg('the secret key canary', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let db: pg.Pool;
  beforeEach(async () => {
    db = connect((await (await testPostgres()).freshSchema()).url);
    await migrate(db);
  });
  afterEach(() => db.end());

  it('is sealed by the first replica; the same key opens it, another key is refused naming MCP_CP_SECRET_KEY', async () => {
    const key = randomBytes(32);
    expect(await checkSecretKeyCanary(db, new AesGcmSecretCodec(key))).toBe('created');
    expect(await checkSecretKeyCanary(db, new AesGcmSecretCodec(Buffer.from(key)))).toBe('matched');
    const other = checkSecretKeyCanary(db, new AesGcmSecretCodec(randomBytes(32)));
    await expect(other).rejects.toBeInstanceOf(SecretKeyMismatchError);
    await expect(other).rejects.toThrow(/MCP_CP_SECRET_KEY does not open the secrets stored in this PostgreSQL database/);
  });

  it('replicas starting together agree on one canary', async () => {
    const key = randomBytes(32);
    const results = await Promise.all([1, 2, 3, 4].map(() => checkSecretKeyCanary(db, new AesGcmSecretCodec(key))));
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect((await db.query('SELECT count(*)::int AS n FROM secret_key_canary')).rows[0].n).toBe(1);
  });
});
