// --advertise-url is an origin (the other replicas are sent to absolute paths on it), and in PostgreSQL mode
// a loopback or wildcard listen address is never advertised by default: the replica refuses to start
// (ConfigError: mcpctl exits 2) saying what to set.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError, parseServeConfig } from '../../src/config.js';

const PG_ENV = {
  MCP_CP_STORE: 'postgres://cp:pw@db.internal:5432/cp',
  MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
  MCP_CP_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseServeConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('no ConfigError');
}

describe('--advertise-url', () => {
  it('refuses a path, query or credentials, naming the flag; a trailing slash is fine', () => {
    expect(errorOf(['--advertise-url', 'http://10.0.0.7:8080/cp'])).toMatch(/^--advertise-url: "http:\/\/10\.0\.0\.7:8080\/cp" must be an origin .*no path/);
    expect(errorOf(['--advertise-url', 'http://10.0.0.7:8080/?x=1'])).toMatch(/^--advertise-url: .* must be an origin/);
    expect(errorOf(['--advertise-url', 'http://u:p@10.0.0.7:8080'])).toMatch(/^--advertise-url: .* must be an origin/);
    expect(parseServeConfig(['--advertise-url', 'https://cp-1.internal:8443/'], {}).advertiseUrl).toBe('https://cp-1.internal:8443');
  });

  it('PostgreSQL mode: a loopback or wildcard --host needs it given explicitly; the message says what to set', () => {
    const loopback = errorOf([], PG_ENV);
    expect(loopback).toMatch(/^--advertise-url: with a postgres:\/\/ store .*\(--host 127\.0\.0\.1\) is loopback/);
    expect(loopback).toMatch(/Set --advertise-url \(or MCP_CP_ADVERTISE_URL\)/);
    expect(loopback).not.toContain('pw@');
    expect(errorOf(['--host', '0.0.0.0'], PG_ENV)).toMatch(/--host 0\.0\.0\.0\) is every interface/);
    expect(errorOf(['--host', '::'], PG_ENV)).toMatch(/^--advertise-url: /);
    // Given explicitly, loopback is the operator's choice (all replicas on one machine).
    expect(parseServeConfig(['--advertise-url', 'http://127.0.0.1:8081'], PG_ENV).advertiseUrl).toBe('http://127.0.0.1:8081');
    expect(parseServeConfig([], { ...PG_ENV, MCP_CP_ADVERTISE_URL: 'http://10.0.0.7:8080' }).advertiseUrl).toBe('http://10.0.0.7:8080');
    // A routable listen address is advertised as before; the embedded store needs none.
    expect(parseServeConfig(['--host', '10.0.0.7'], PG_ENV).advertiseUrl).toBeUndefined();
    expect(parseServeConfig([], {}).advertiseUrl).toBeUndefined();
  });
});
