// Token exchange for the gateway: in place of the caller's own credential (which the control plane
// accepts, and which must never leave it), an upstream that authenticates callers gets a short-lived
// JWT the control plane signs for that caller and that upstream alone:
//   header  { alg: ES256, typ: JWT, kid }
//   claims  { iss: <public URL>, sub: <caller subject>, aud: <upstream URL>, iat, exp: iat + 5 min, jti }
// The public key is served at /.well-known/jwks.json (kid = its RFC 7638 thumbprint), so an upstream
// verifies the signature, the issuer, that the audience is its own URL, and the expiry. The token is
// no credential of the control plane: it is accepted nowhere under /api or /mcp.
//
// ES256: an asymmetric key, so upstreams can verify and never mint (a shared HMAC key would let one
// upstream forge tokens for another); small keys and signatures, fast signing, and supported by every
// JWT library and API gateway (EdDSA is not, everywhere yet).
//
// Signing costs ~0.1 ms, so a token is cached per (subject, audience) and reused until it has
// `renewBeforeMs` left; a session holds a lease, which renews its token then, so the relay path only
// ever reads a string.
import { randomUUID, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose';
import { systemClock, type Clock, type TimerHandle } from '../domain/clock.js';

export interface JsonWebKeySet {
  keys: JWK[];
}

export interface CallerTokensOptions {
  /** EC P-256 private key (signing-key.ts). */
  key: KeyObject;
  /** The iss claim: the control plane's public URL (read at each mint: it is known once listening). */
  issuer: () => string;
  clock?: Clock;
  /** exp - iat. Default 5 min. */
  lifetimeMs?: number;
  /** A cached token with less than this left is not handed out again; a lease renews its token then. Default 1 min. */
  renewBeforeMs?: number;
  /** (subject, audience) pairs cached at most; the oldest go first. Default 10,000. */
  maxCached?: number;
}

/** A token kept fresh for one holder (a gateway session) until released. */
export interface CallerTokenLease {
  /** Valid for at least renewBeforeMs more, as long as the lease is held. */
  readonly token: string;
  /** Told each renewed token (after `token` changed). */
  onRenewed: ((token: string) => void) | undefined;
  /** Stops renewing. Idempotent. */
  release(): void;
}

interface Minted {
  token: string;
  /** When it should no longer be handed out (epoch ms). */
  renewAt: number;
}

const DEFAULT_LIFETIME_MS = 5 * 60_000;
const DEFAULT_RENEW_BEFORE_MS = 60_000;
/** When a renewal failed: try again this soon. */
const RETRY_MS = 1000;

export class CallerTokens {
  /** The public half of the signing key, for GET /.well-known/jwks.json. */
  readonly jwks: JsonWebKeySet;
  private readonly clock: Clock;
  private readonly lifetimeMs: number;
  private readonly renewBeforeMs: number;
  private readonly maxCached: number;
  private readonly cache = new Map<string, { minted: Promise<Minted>; renewAt: number }>();
  /** Tokens signed so far (the cache's misses), counted once signed. */
  signed = 0;

  /** jose computes the key id asynchronously, hence a factory. */
  static async create(options: CallerTokensOptions): Promise<CallerTokens> {
    const publicJwk = await exportJWK(createPublicKey(options.key));
    const kid = await calculateJwkThumbprint(publicJwk);
    return new CallerTokens(options, { ...publicJwk, kid, alg: 'ES256', use: 'sig' });
  }

  private constructor(
    private readonly options: CallerTokensOptions,
    private readonly publicJwk: JWK & { kid: string },
  ) {
    this.jwks = { keys: [publicJwk] };
    this.clock = options.clock ?? systemClock;
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_LIFETIME_MS;
    this.renewBeforeMs = Math.min(options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS, this.lifetimeMs / 2);
    this.maxCached = options.maxCached ?? 10_000;
  }

  /** A token for `subject` at `audience` with at least renewBeforeMs to live: the cached one, or a new one. */
  token(subject: string, audience: string): Promise<string> {
    return this.current(subject, audience).then((m) => m.token);
  }

  /** A token that stays fresh while the lease is held. */
  async lease(subject: string, audience: string): Promise<CallerTokenLease> {
    const first = await this.current(subject, audience);
    let timer: TimerHandle | undefined;
    let released = false;
    const lease: CallerTokenLease = {
      token: first.token,
      onRenewed: undefined,
      release: () => {
        released = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        timer = undefined;
      },
    };
    const schedule = (at: number): void => {
      timer = this.clock.setTimeout(renew, Math.max(0, at - this.clock.now()));
    };
    const renew = (): void => {
      timer = undefined;
      this.current(subject, audience).then(
        (minted) => {
          if (released) return;
          (lease as { token: string }).token = minted.token;
          lease.onRenewed?.(minted.token);
          schedule(minted.renewAt);
        },
        () => {
          if (!released) schedule(this.clock.now() + RETRY_MS);
        },
      );
    };
    schedule(first.renewAt);
    return lease;
  }

  private current(subject: string, audience: string): Promise<Minted> {
    const key = `${subject}\n${audience}`;
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && now < cached.renewAt) return cached.minted;
    if (cached) this.cache.delete(key);
    else if (this.cache.size >= this.maxCached) this.evict(now);
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.max(1, Math.round(this.lifetimeMs / 1000));
    const renewAt = exp * 1000 - this.renewBeforeMs;
    const minted = this.mint(subject, audience, iat, exp).then((token) => ({ token, renewAt }));
    const entry = { minted, renewAt };
    this.cache.set(key, entry);
    // A failed signing is not cached.
    minted.catch(() => this.cache.get(key) === entry && this.cache.delete(key));
    return minted;
  }

  /** Drops the stale entries, and the oldest ones if that is not enough. */
  private evict(now: number): void {
    for (const [key, entry] of this.cache) if (now >= entry.renewAt) this.cache.delete(key);
    for (const key of this.cache.keys()) {
      if (this.cache.size < this.maxCached) break;
      this.cache.delete(key);
    }
  }

  private mint(subject: string, audience: string, iat: number, exp: number): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.publicJwk.kid })
      .setIssuer(this.options.issuer())
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.options.key)
      .then((token) => {
        this.signed++;
        return token;
      });
  }
}
