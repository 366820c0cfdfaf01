// CallerTokens on a manual clock: the claims, the cache per (subject, audience), leases renewed before
// expiry and stopped when released, the bounded cache; and where the signing key comes from.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { CallerTokens } from '../../src/auth/caller-tokens.js';
import { decodeSigningKey, loadSigningKeyFile, SigningKeyError } from '../../src/auth/signing-key.js';
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/control-plane.js';

const ISSUER = 'https://cp.example.test';
const AUD = 'https://mcp.example.test/mcp';
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

async function minter(clock: FakeClock, extra: { maxCached?: number } = {}) {
  return CallerTokens.create({ key: p256(), issuer: () => ISSUER, clock, lifetimeMs: 300_000, renewBeforeMs: 60_000, ...extra });
}

describe('CallerTokens', () => {
  it('signs ES256 with iss, sub, aud, iat, exp (5 min) and a jti, verifiable with the published key alone', async () => {
    const clock = new FakeClock(START);
    const tokens = await minter(clock);
    const token = await tokens.token('user:alice@example.com', AUD);
    expect(tokens.jwks.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(tokens.jwks), {
      issuer: ISSUER,
      audience: AUD,
      algorithms: ['ES256'],
      currentDate: new Date(START),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'JWT', kid: tokens.jwks.keys[0]!.kid });
    expect(payload).toEqual({ iss: ISSUER, sub: 'user:alice@example.com', aud: AUD, iat: START / 1000, exp: START / 1000 + 300, jti: expect.any(String) });
    // Another key does not verify it.
    const other = await minter(clock);
    await expect(jwtVerify(token, createLocalJWKSet(other.jwks), { currentDate: new Date(START) })).rejects.toThrow();
  });

  it('reuses a token per (subject, audience) until it has less than a minute left', async () => {
    const clock = new FakeClock(START);
    const tokens = await minter(clock);
    const [a, b] = await Promise.all([tokens.token('alice', AUD), tokens.token('alice', AUD)]);
    expect(a).toBe(b);
    expect(tokens.signed).toBe(1);
    expect(await tokens.token('bob', AUD)).not.toBe(a);
    expect(await tokens.token('alice', `${AUD}/other`)).not.toBe(a);
    expect(tokens.signed).toBe(3);

    clock.advance(240_000 - 1);
    expect(await tokens.token('alice', AUD)).toBe(a);
    clock.advance(1);
    const renewed = await tokens.token('alice', AUD);
    expect(renewed).not.toBe(a);
    expect(decodeJwt(renewed).iat).toBe(START / 1000 + 240);
  });

  it('keeps a lease fresh until it is released', async () => {
    const clock = new FakeClock(START);
    const tokens = await minter(clock);
    const lease = await tokens.lease('alice', AUD);
    const seen: string[] = [];
    lease.onRenewed = (t) => seen.push(t);
    const first = lease.token;
    expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([240_000]);

    clock.advance(240_000);
    await waitFor(() => seen.length === 1, { what: 'the renewed token' });
    expect(lease.token).toBe(seen[0]);
    expect(lease.token).not.toBe(first);
    expect(decodeJwt(lease.token).exp).toBe(START / 1000 + 540);
    expect(clock.pendingTimers().map((t) => t.inMs)).toEqual([240_000]);

    lease.release();
    expect(clock.pendingTimers()).toEqual([]);
    clock.advance(600_000);
    expect(seen).toHaveLength(1);
  });

  it('holds a bounded number of tokens', async () => {
    const clock = new FakeClock(START);
    const tokens = await minter(clock, { maxCached: 2 });
    const a = await tokens.token('a', AUD);
    await tokens.token('b', AUD);
    await tokens.token('c', AUD); // a goes
    expect(await tokens.token('c', AUD)).toBeDefined();
    expect(tokens.signed).toBe(3);
    expect(await tokens.token('a', AUD)).not.toBe(a);
    expect(tokens.signed).toBe(4);
  });
});

describe('the signing key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-signing-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated into <data-dir>/signing-key.pem (0600) on first start and read from there afterwards', () => {
    const first = loadSigningKeyFile(dir);
    expect(first).toMatchObject({ generated: true, source: join(dir, 'signing-key.pem') });
    expect(statSync(join(dir, 'signing-key.pem')).mode & 0o777).toBe(0o600);
    const again = loadSigningKeyFile(dir);
    expect(again.generated).toBe(false);
    expect(again.key.export({ format: 'jwk' })).toEqual(first.key.export({ format: 'jwk' }));
  });

  it('comes from --signing-key-file or MCP_CP_SIGNING_KEY, for replicas that share it', () => {
    const pem = p256().export({ format: 'pem', type: 'pkcs8' }) as string;
    const file = join(dir, 'shared.pem');
    writeFileSync(file, pem);
    const config = parseServeConfig(['--signing-key-file', file], {});
    expect(config.signingKeyFile).toBe(file);
    expect(loadSigningKeyFile(dir, config.signingKeyFile).key.export({ format: 'jwk' })).toEqual(decodeSigningKey(pem, 'x').export({ format: 'jwk' }));
    expect(() => loadSigningKeyFile(dir, join(dir, 'missing.pem'))).toThrow(/--signing-key-file: .*missing\.pem does not exist/);

    const fromEnv = parseServeConfig([], { MCP_CP_SIGNING_KEY: pem });
    expect(fromEnv.signingKey?.export({ format: 'jwk' })).toEqual(decodeSigningKey(pem, 'x').export({ format: 'jwk' }));
    expect(parseServeConfig([], { MCP_CP_SIGNING_KEY_FILE: file }).signingKeyFile).toBe(file);
  });

  it('must be an EC P-256 private key, and says how to make one', () => {
    expect(() => parseServeConfig([], { MCP_CP_SIGNING_KEY: 'not a key' })).toThrow(ConfigError);
    expect(() => parseServeConfig([], { MCP_CP_SIGNING_KEY: 'not a key' })).toThrow(/MCP_CP_SIGNING_KEY does not hold a PEM private key; make one with: openssl genpkey/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(() => decodeSigningKey(p384, 'k.pem')).toThrow(new SigningKeyError('k.pem holds an EC key on secp384r1; tokens are signed with ES256, which needs an EC P-256 (prime256v1) key.'));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const file = join(dir, 'rsa.pem');
    writeFileSync(file, rsa);
    expect(() => loadSigningKeyFile(dir, file)).toThrow(`${file} holds a rsa key; tokens are signed with ES256`);
    expect(readFileSync(file, 'utf8')).toBe(rsa);
  });
});
