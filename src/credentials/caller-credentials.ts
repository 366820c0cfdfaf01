// What the data plane sends a per-user upstream for one caller: the entry with that caller's own header
// values filled in (auth_data header, per_user) or their OAuth access token (authorization_code), read from
// the credential store; or, when the caller has not set them up, a refusal naming where they do so.
// Nothing is sent upstream for a refused caller.
import type { SecretResolver } from '../domain/secret-reference.js';
import { plainHeaders, userHeaderTemplates, type GatewayEntry } from '../gateway/gateway-entry.js';
import type { AuthData } from '../domain/manifest.js';
import type { CredentialStore, StoredCredential } from '../store/credential-store.js';
import { fillPlaceholders } from './placeholders.js';

/** A caller without the credentials the server takes: the data plane answers 401 with this. */
export interface CredentialsRefusal {
  message: string;
  /** The JSON-RPC error's data: where to set them up, and what is missing. */
  data: { connectUrl: string; method: 'header' | 'oauth'; missing?: string[] };
}

/** A caller's OAuth access token for a server, refreshed when due (oauth-tokens.ts). */
export interface CallerOAuthTokens {
  /** The token to send, or why there is none (the caller must connect, again). */
  accessToken(entry: GatewayEntry, subject: string): Promise<{ token: string } | { reason: string }>;
  /** The upstream refused `token` (401): refresh it once; answers the new token, or why there is none. */
  refreshAfterRejection(entry: GatewayEntry, subject: string, token: string): Promise<{ token: string } | { reason: string }>;
}

export interface CallerCredentialsOptions {
  store: Pick<CredentialStore, 'getCredential'>;
  /** The control plane's public URL (the connect URLs are on it). */
  publicUrl: () => string;
  /** Resolves a value that is a secret reference (an admin's `${env:…}`). */
  secrets: SecretResolver;
  oauth?: CallerOAuthTokens;
}

export type CallerEntry = { entry: GatewayEntry; token?: string } | { refusal: CredentialsRefusal };

export function credentialsUrl(publicUrl: string, resourceId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/svc/v1/mcp-servers/${encodeURIComponent(resourceId)}/credentials`;
}

export function authorizeUrl(publicUrl: string, resourceId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/svc/v1/mcp-servers/${encodeURIComponent(resourceId)}/oauth/authorize`;
}

/** `headers` over `base`, names compared ignoring case (the caller's win). */
function overlay(base: Record<string, string>, headers: Record<string, string>): Record<string, string> {
  const names = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
  return { ...Object.fromEntries(Object.entries(base).filter(([n]) => !names.has(n.toLowerCase()))), ...headers };
}

export class CallerCredentials {
  constructor(private readonly options: CallerCredentialsOptions) {}

  /** The entry as this caller's upstream requests carry it; an entry without perUser is answered as it is. */
  async entryFor(entry: GatewayEntry, subject: string): Promise<CallerEntry> {
    const perUser = entry.perUser;
    if (!perUser) return { entry };
    if (perUser.kind === 'header') {
      const stored = await this.options.store.getCredential(entry.fqn, subject, 'header');
      const values = stored && stored.binding === perUser.binding ? stored.secrets : {};
      const templates = userHeaderTemplates(entry);
      const resolved: Record<string, string> = {};
      for (const [name, value] of Object.entries(values)) {
        const value_ = this.resolve(value);
        if (value_ !== undefined) resolved[name] = value_;
      }
      const filled = fillPlaceholders(templates, resolved);
      if ('missing' in filled) {
        const url = credentialsUrl(this.options.publicUrl(), entry.resourceId);
        return {
          refusal: {
            message:
              `MCP server "${entry.name}" takes your own values for ${filled.missing.join(', ')}, and you have not set them: ` +
              `PUT ${url} with {"values": {${filled.missing.map((n) => `"${n}": "…"`).join(', ')}}}, then start a new session.`,
            data: { connectUrl: url, method: 'header', missing: filled.missing },
          },
        };
      }
      return { entry: { ...entry, headers: overlay(plainHeaders(entry.headers), filled.headers) } };
    }
    const oauth = this.options.oauth;
    const got = oauth ? await oauth.accessToken(entry, subject) : { reason: 'this gateway cannot use OAuth tokens' };
    if ('reason' in got) return { refusal: this.connectRefusal(entry, got.reason) };
    return { entry: this.withToken(entry, got.token), token: got.token };
  }

  /** The entry with `token` as its bearer token (an OAuth server's). */
  withToken(entry: GatewayEntry, token: string): GatewayEntry {
    return { ...entry, headers: overlay(plainHeaders(entry.headers), { Authorization: `Bearer ${token}` }) };
  }

  /** An upstream refused the caller's credentials: for a token, one refresh, then the entry with the new token; else the refusal. */
  async afterRejection(entry: GatewayEntry, subject: string, token: string): Promise<CallerEntry> {
    if (entry.perUser?.kind === 'header') {
      const url = credentialsUrl(this.options.publicUrl(), entry.resourceId);
      return {
        refusal: {
          message: `MCP server "${entry.name}" refused your own values (HTTP 401/403); check them and set them again: PUT ${url}.`,
          data: { connectUrl: url, method: 'header', missing: [] },
        },
      };
    }
    const oauth = this.options.oauth;
    if (!oauth || entry.perUser?.kind !== 'oauth') return { refusal: this.connectRefusal(entry, 'the server refused your credentials') };
    const got = await oauth.refreshAfterRejection(entry, subject, token);
    if ('reason' in got) return { refusal: this.connectRefusal(entry, got.reason) };
    return { entry: this.withToken(entry, got.token), token: got.token };
  }

  private connectRefusal(entry: GatewayEntry, reason: string): CredentialsRefusal {
    const url = authorizeUrl(this.options.publicUrl(), entry.resourceId);
    return {
      message: `MCP server "${entry.name}" needs you to connect your own account (${reason}): POST ${url} and open the authorizationUrl it answers in a browser, or use Connect on the status page; then start a new session.`,
      data: { connectUrl: url, method: 'oauth' },
    };
  }

  /** undefined for a reference that does not resolve now: that value counts as not set. */
  private resolve(value: string): string | undefined {
    try {
      return this.options.secrets.resolve(value);
    } catch {
      return undefined;
    }
  }
}

/**
 * The headers a stored credential stands for outside the gateway (a discovery with a user's credentials):
 * the per_user header templates filled, or the OAuth access token while it has not expired; undefined
 * when it stands for none.
 */
export function perUserHeadersOf(m: { auth_data?: AuthData }, credential: StoredCredential, secrets: SecretResolver, now: number): Record<string, string> | undefined {
  const auth = m.auth_data;
  if (auth?.type === 'header' && credential.kind === 'header') {
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(credential.secrets)) {
      try {
        values[name] = secrets.resolve(value);
      } catch {
        // A reference that does not resolve counts as not set.
      }
    }
    const filled = fillPlaceholders(auth.headers, values);
    return 'headers' in filled ? filled.headers : undefined;
  }
  if (auth?.type === 'oauth2' && credential.kind === 'oauth') {
    const token = credential.secrets.access_token;
    const expiresAt = typeof credential.data.expiresAt === 'number' ? credential.data.expiresAt : undefined;
    return token && (expiresAt === undefined || expiresAt > now) ? { Authorization: `Bearer ${token}` } : undefined;
  }
  return undefined;
}
