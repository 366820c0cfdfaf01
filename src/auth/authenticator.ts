// Bearer tokens → principals. Tokens are compared by their sha256 digest in constant time.
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../domain/principal.js';

export interface Authenticator {
  authenticate(token: string): Principal | undefined;
  /** The principal a token of this subject stands for now; undefined when no token names it. */
  principalOf(subjectId: string): Principal | undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

export function sha256Hex(value: string): string {
  // One-shot: no Hash object per call (every gateway request hashes its caller's token).
  return hash('sha256', value, 'hex');
}

/** The break-glass admin token from the command line, the environment or <data-dir>/admin-token. */
export class StaticTokenAuthenticator implements Authenticator {
  private readonly digest: Buffer;

  constructor(
    token: string,
    private readonly principal: Principal,
  ) {
    this.digest = createHash('sha256').update(token).digest();
  }

  authenticate(token: string): Principal | undefined {
    // Both digests are 32 bytes: timingSafeEqual needs no length check.
    return timingSafeEqual(hash('sha256', token, 'buffer'), this.digest) ? this.principal : undefined;
  }

  principalOf(subjectId: string): Principal | undefined {
    return this.principal.subject.subjectId === subjectId ? this.principal : undefined;
  }
}

/** Asks each authenticator in turn. */
export class ChainAuthenticator implements Authenticator {
  constructor(private readonly chain: readonly Authenticator[]) {}

  authenticate(token: string): Principal | undefined {
    for (const a of this.chain) {
      const p = a.authenticate(token);
      if (p) return p;
    }
    return undefined;
  }

  principalOf(subjectId: string): Principal | undefined {
    for (const a of this.chain) {
      const p = a.principalOf(subjectId);
      if (p) return p;
    }
    return undefined;
  }
}
