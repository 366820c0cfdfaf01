// Tokens one replica gives another for work it asks of it (a refresh carried out by the leader): a JWT
// (HS256, jose) under a key derived from the shared secret key (MCP_CP_SECRET_KEY, the same on every
// replica in PostgreSQL mode), naming the work and its one target, addressed to one replica (aud: its
// id), valid for a minute. The caller's own credential never leaves the replica it was sent to: that
// replica authorises the caller, and asks the other only for the named piece of work.
import { jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import { deriveKey } from '../store/secret-codec.js';

const ISSUER = 'mcp-control-plane/cluster';
const LIFETIME_S = 60;

export interface InternalClaims {
  /** What is asked: "refresh". */
  action: string;
  /** What it is asked for: the FQN. */
  target: string;
  /** The replica that asks. */
  from: string;
}

export class InternalTokens {
  private readonly key: Uint8Array;
  private readonly clock: Clock;

  constructor(secretKey: Uint8Array, clock: Clock = systemClock) {
    this.key = deriveKey(secretKey, 'cluster-internal-token');
    this.clock = clock;
  }

  /** A token for replica `to` to do `claims.action` on `claims.target`. */
  async sign(to: string, claims: InternalClaims): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ act: claims.action, tgt: claims.target })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(claims.from)
      .setAudience(to)
      .setIssuedAt(now)
      .setExpirationTime(now + LIFETIME_S)
      .sign(this.key);
  }

  /** The claims of a token addressed to `self`, or undefined for any other (bad signature, expired, another replica's). */
  async verify(token: string, self: string): Promise<InternalClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: self,
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.act !== 'string' || typeof payload.tgt !== 'string' || typeof payload.sub !== 'string') return undefined;
      return { action: payload.act, target: payload.tgt, from: payload.sub };
    } catch {
      return undefined;
    }
  }
}
