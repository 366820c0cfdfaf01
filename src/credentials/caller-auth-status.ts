// authStatus for the calling subject: a per-user server (per_user header values, OAuth authorization_code)
// is described by what that caller has set up, never by anyone else's credentials. Other servers keep the
// status their discovery wrote (the control plane's own credentials).
import type { AuthStatus, McpServerResource } from '../domain/resource.js';
import { isStdioManifest, isVirtualManifest, type AuthData } from '../domain/manifest.js';
import type { CredentialStore } from '../store/credential-store.js';
import { credentialBinding, perUserKind } from './binding.js';
import { authorizeUrl, credentialsUrl } from './caller-credentials.js';
import { placeholderNames } from './placeholders.js';

export interface CallerAuthStatusDeps {
  store: Pick<CredentialStore, 'getCredential'>;
  publicUrl: string;
  now: number;
}

/** The server's URL and auth block when it takes per-user credentials; undefined otherwise. */
export function perUserAuthOf(r: McpServerResource): { url: string; auth: AuthData } | undefined {
  const m = r.manifest;
  if (isStdioManifest(m) || isVirtualManifest(m)) return undefined;
  const auth = (m as { auth_data?: AuthData }).auth_data;
  return perUserKind(auth) ? { url: (m as { url: string }).url, auth: auth! } : undefined;
}

/** The names a caller has set, of those the server's per_user header templates ask for, and those missing. */
export async function headerNamesOf(r: McpServerResource, subject: string, store: Pick<CredentialStore, 'getCredential'>): Promise<{ names: string[]; missing: string[] }> {
  const perUser = perUserAuthOf(r);
  if (perUser?.auth.type !== 'header') return { names: [], missing: [] };
  const wanted = placeholderNames(perUser.auth.headers);
  const stored = await store.getCredential(r.fqn, subject, 'header');
  const set = stored && stored.binding === credentialBinding(perUser.url, perUser.auth) ? Object.keys(stored.secrets) : [];
  return { names: wanted.filter((n) => set.includes(n)), missing: wanted.filter((n) => !set.includes(n)) };
}

/** The caller's authStatus for a per-user server; undefined for any other server (its stored status stands). */
export async function callerAuthStatus(r: McpServerResource, subject: string, deps: CallerAuthStatusDeps): Promise<AuthStatus | undefined> {
  const perUser = perUserAuthOf(r);
  if (!perUser) return undefined;
  if (perUser.auth.type === 'header') {
    const { missing } = await headerNamesOf(r, subject, deps.store);
    if (missing.length === 0) return { status: 'authenticated', method: 'header', message: 'Your own header values for this server are set.' };
    return {
      status: 'authentication_required',
      method: 'header',
      message: `Set your own values for ${missing.join(', ')}: PUT ${credentialsUrl(deps.publicUrl, r.id)} with {"values": {…}}.`,
    };
  }
  const start = authorizeUrl(deps.publicUrl, r.id);
  const stored = await deps.store.getCredential(r.fqn, subject, 'oauth');
  const valid = stored && stored.binding === credentialBinding(perUser.url, perUser.auth) ? stored : undefined;
  if (!valid || !valid.secrets.access_token) {
    const lost = typeof valid?.data.lost === 'string' ? valid.data.lost : undefined;
    const message = lost
      ? `Your token for this server expired and could not be refreshed (${lost}); connect your account again.`
      : 'You have not connected your account to this server; connect it (POST the authorizeUrl, or Connect on the status page).';
    return { status: 'authentication_required', method: 'oauth', message, authorizeUrl: start };
  }
  const expiresAt = typeof valid.data.expiresAt === 'number' ? valid.data.expiresAt : undefined;
  if (expiresAt !== undefined && expiresAt <= deps.now && !valid.secrets.refresh_token) {
    return { status: 'authentication_required', method: 'oauth', message: 'Your token for this server expired and there is no refresh token; connect your account again.', authorizeUrl: start };
  }
  return { status: 'authenticated', method: 'oauth', message: 'Your account is connected to this server; the gateway sends your own token.' };
}
