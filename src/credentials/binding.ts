// What a per-user credential is bound to: the parts of a server's manifest that make it valid. A stored
// credential made for another binding is dropped (the reconciler, when the gateway entry changes), so a
// token or an API key never goes to another server, authorization server, client or set of scopes than the
// one its owner gave it for.
import { createHash } from 'node:crypto';
import type { AuthData } from '../domain/manifest.js';
import { stableStringify } from '../manifest/stable-stringify.js';
import { placeholderNames } from './placeholders.js';

/** How a server takes each caller's own credentials: none (undefined), header values, or OAuth tokens. */
export type PerUserKind = 'header' | 'oauth';

export function perUserKind(auth: AuthData | undefined): PerUserKind | undefined {
  if (auth?.type === 'header' && auth.auth_level === 'per_user') return 'header';
  if (auth?.type === 'oauth2' && auth.grant_type === 'authorization_code') return 'oauth';
  return undefined;
}

/** The binding of a server's per-user credentials (no secret goes into it); undefined when it takes none. */
export function credentialBinding(url: string, auth: AuthData | undefined): string | undefined {
  const kind = perUserKind(auth);
  if (!kind) return undefined;
  const parts =
    auth!.type === 'header'
      ? { kind, url, names: placeholderNames(auth!.headers) }
      : auth!.type === 'oauth2'
        ? {
            kind,
            url,
            authorizationUrl: auth!.authorization_url ?? null,
            tokenUrl: auth!.token_url ?? null,
            registrationUrl: auth!.registration_url ?? null,
            clientId: auth!.client_id ?? null,
            scopes: [...(auth!.scopes ?? [])].sort(),
          }
        : {};
  return createHash('sha256').update(stableStringify(parts)).digest('hex').slice(0, 32);
}
