// Tokens one replica gives another for work it asks of it (a refresh carried out by the leader, a request
// of an MCP session the other replica holds): a JWT (HS256, jose) under a key derived from the shared
// secret key (MCP_CP_SECRET_KEY, the same on every replica in PostgreSQL mode), naming the work and its one
// target, addressed to one replica (aud: its id), valid for a minute, with a unique id (jti). The caller's
// own credential never leaves the replica it was sent to: that replica authorises the caller, and asks the
// other only for the named piece of work, on behalf of the principal it admitted (when the work needs one).
//
// Each token is accepted once: verify() remembers the jti of every token it accepted until that token
// expires, and refuses a token seen before. At most MAX_REMEMBERED are remembered; when that many
// unexpired tokens were accepted within one lifetime, further tokens are refused until some expire
// (memory stays bounded; the asking replica answers that the other is unavailable).
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Principal } from '../domain/principal.js';
import { deriveKey } from '../store/secret-codec.js';

const ISSUER = 'mcp-control-plane/cluster';
const LIFETIME_S = 60;
/** The most accepted token ids remembered at once (about 100 bytes each). */
export const MAX_REMEMBERED = 100_000;

export interface InternalClaims {
  /** What is asked: "refresh", "mcp-session". */
  action: string;
  /** What it is asked for: the FQN, the session id. */
  target: string;
  /** The replica that asks. */
  from: string;
  /** Whom the asking replica admitted, for work done on a caller's behalf. */
  principal?: Principal;
}

export class InternalTokens {
  private readonly key: Uint8Array;
  private readonly clock: Clock;
  private readonly maxRemembered: number;
  /** jti → expiry (s) of the tokens accepted and not yet expired, oldest expiry first. */
  private readonly seen = new Map<string, number>();

  constructor(secretKey: Uint8Array, clock: Clock = systemClock, options: { maxRemembered?: number } = {}) {
    this.key = deriveKey(secretKey, 'cluster-internal-token');
    this.clock = clock;
    this.maxRemembered = options.maxRemembered ?? MAX_REMEMBERED;
  }

  /** A token for replica `to` to do `claims.action` on `claims.target`. */
  async sign(to: string, claims: InternalClaims): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ act: claims.action, tgt: claims.target, ...(claims.principal ? { pri: claims.principal } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(claims.from)
      .setAudience(to)
      .setIssuedAt(now)
      .setExpirationTime(now + LIFETIME_S)
      .setJti(randomUUID())
      .sign(this.key);
  }

  /** The claims of a token addressed to `self`, or undefined for any other (bad signature, expired, another replica's, seen before). */
  async verify(token: string, self: string): Promise<InternalClaims | undefined> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: self,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['jti', 'exp'],
      }));
    } catch {
      return undefined;
    }
    if (typeof payload.act !== 'string' || typeof payload.tgt !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') return undefined;
    if (payload.pri !== undefined && !isPrincipal(payload.pri)) return undefined;
    if (!this.remember(payload.jti, payload.exp!)) return undefined;
    return { action: payload.act, target: payload.tgt, from: payload.sub, ...(payload.pri !== undefined ? { principal: payload.pri as Principal } : {}) };
  }

  /** Records an accepted jti; false when it was seen before or the memory is full of unexpired ids. */
  private remember(jti: string, exp: number): boolean {
    const now = this.clock.now() / 1000;
    // Every token is valid for the same lifetime, so insertion order is expiry order.
    for (const [id, expiry] of this.seen) {
      if (expiry > now) break;
      this.seen.delete(id);
    }
    if (this.seen.has(jti) || this.seen.size >= this.maxRemembered) return false;
    this.seen.set(jti, exp);
    return true;
  }
}

function isPrincipal(value: unknown): value is Principal {
  const p = value as Partial<Principal> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.subject === 'object' &&
    p.subject !== null &&
    typeof p.subject.subjectId === 'string' &&
    (p.role === 'admin' || p.role === 'editor' || p.role === 'viewer') &&
    Array.isArray(p.teams) &&
    p.teams.every((t) => typeof t === 'string') &&
    Array.isArray(p.accounts) &&
    p.accounts.every((a) => typeof a === 'string')
  );
}
