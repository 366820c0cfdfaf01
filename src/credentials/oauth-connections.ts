// Per-user OAuth 2.1 authorization code, as the MCP authorization spec has a client do it, with the
// control plane as the client and each caller's tokens kept for them (sealed, per subject and server):
//
//   authorize: the server's metadata (RFC 9728 → RFC 8414 / OpenID, src/upstream/oauth-metadata.ts; the
//              manifest's authorization_url / token_url override it), the client (the manifest's, else one
//              registered dynamically, RFC 7591, per server and kept), PKCE S256, `resource` (RFC 8707) = the
//              server; a `state` bound to (caller, server), used once, expiring in 10 minutes.
//   callback:  the state taken (once), the code exchanged, the tokens stored for that caller and server.
//   tokens:    refreshed before expiry (and once after an upstream 401); a failed refresh drops them and
//              the caller's status says so.
//   disconnect: the tokens revoked where the server supports RFC 7009, and deleted.
//
// The SDK's client functions (client/auth.js) build and send every request, over a fetch that goes through
// the egress policy (every connection, redirects included), one time budget and a byte cap per answer.
// Nothing here logs or answers a token, a code, a verifier or a client secret.
import { createHash, randomBytes } from 'node:crypto';
import {
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  selectClientAuthMethod,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Clock } from '../domain/clock.js';
import { ConflictError, UpstreamFailedError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { OAUTH_CLIENT_SECRET_KEY, type GatewayEntry } from '../gateway/gateway-entry.js';
import { Budget } from '../upstream/budget.js';
import { describeEgressDenial, egressDenial, type EgressPolicy } from '../upstream/egress.js';
import { discoverOAuthMetadata, type OAuthServerMetadata } from '../upstream/oauth-metadata.js';
import { findOAuthMetadata } from './oauth-server-metadata.js';
import { excerpt } from '../upstream/redaction.js';
import { readBytesCapped } from '../upstream/response-limits.js';
import { createServerFetch } from '../upstream/server-fetch.js';
import type { FetchLike } from '../upstream/types.js';
import type { CredentialStore, StoredCredential } from '../store/credential-store.js';
import type { CallerOAuthTokens } from './caller-credentials.js';

/** How long a started authorization may take to come back. */
export const STATE_TTL_MS = 10 * 60_000;
/** A token this close to its expiry is refreshed before it is used. */
export const REFRESH_BEFORE_MS = 60_000;
/** The path of the public callback, on the public URL. */
export const CALLBACK_PATH = '/oauth/callback';

export interface OAuthConnectionsOptions {
  store: CredentialStore;
  clock: Clock;
  /** The control plane's public URL: the redirect URI is on it. */
  publicUrl: () => string;
  egress?: EgressPolicy;
  /** The budget of one step (discovery, registration, a token request). */
  timeoutMs: number;
  /** The most read of one answer of an authorization server. */
  maxResponseBytes: number;
  logger?: Logger;
}

/** What a callback comes to: the page to show. */
export type CallbackOutcome = { ok: true; server: string; fqn: string } | { ok: false; status: 400 | 502; message: string };

/** The non-secret data of a caller's OAuth credential (and of a state): where and how its tokens are refreshed. */
interface TokenContext {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  tokenEndpointAuthMethods?: string[];
  clientId: string;
  resource: string;
  redirectUri: string;
  scope?: string;
  jwtSource: 'access_token' | 'id_token';
  serverName: string;
  binding: string;
}

export class OAuthConnections implements CallerOAuthTokens {
  /** One refresh at a time per (server, caller): concurrent users of an expiring token share it. */
  private readonly refreshing = new Map<string, Promise<{ token: string } | { reason: string }>>();

  constructor(private readonly options: OAuthConnectionsOptions) {}

  redirectUri(): string {
    return `${this.options.publicUrl().replace(/\/+$/, '')}${CALLBACK_PATH}`;
  }

  /** Starts an authorization for `subject` at the server of `entry`: the URL to open in a browser. */
  async authorize(entry: GatewayEntry, subject: string): Promise<{ authorizationUrl: string }> {
    const perUser = entry.perUser;
    if (perUser?.kind !== 'oauth' || !perUser.oauth) throw new ConflictError(`MCP server "${entry.name}" does not take a connected account (its auth_data is not oauth2 authorization_code).`);
    const settings = perUser.oauth;
    const metadata = await this.metadataOf(entry);
    const redirectUri = this.redirectUri();
    const client = await this.clientFor(entry, metadata, redirectUri);
    const scope = settings.scopes?.join(' ') ?? metadata.challengeScope ?? metadata.scopesSupported?.join(' ');
    const state = randomBytes(32).toString('base64url');
    const sdkMetadata = sdkMetadataOf(metadata);
    let started;
    try {
      started = await startAuthorization(metadata.authorizationServer, {
        metadata: sdkMetadata,
        clientInformation: client,
        redirectUrl: redirectUri,
        ...(scope ? { scope } : {}),
        state,
        resource: metadata.resource,
      });
    } catch (error) {
      throw new UpstreamFailedError(`The authorization of MCP server "${entry.name}" cannot start: ${excerpt(messageOf(error), [])}.`);
    }
    const context: TokenContext = {
      issuer: metadata.authorizationServer,
      authorizationEndpoint: metadata.authorizationEndpoint,
      tokenEndpoint: metadata.tokenEndpoint,
      ...(metadata.revocationEndpoint ? { revocationEndpoint: metadata.revocationEndpoint } : {}),
      ...(metadata.tokenEndpointAuthMethods ? { tokenEndpointAuthMethods: metadata.tokenEndpointAuthMethods } : {}),
      clientId: client.client_id,
      resource: metadata.resource,
      redirectUri,
      ...(scope ? { scope } : {}),
      jwtSource: settings.jwtSource,
      serverName: entry.name,
      binding: perUser.binding,
    };
    const now = this.options.clock.now();
    await this.options.store.putState(
      {
        id: stateId(state),
        fqn: entry.fqn,
        subject,
        secrets: { code_verifier: started.codeVerifier, ...(client.client_secret ? { client_secret: client.client_secret } : {}) },
        data: { ...context },
        expiresAt: now + STATE_TTL_MS,
      },
      now,
    );
    return { authorizationUrl: started.authorizationUrl.href };
  }

  /**
   * The authorization server sent the browser back. The state is taken (so it is used once) before
   * anything else; an expired, forged or reused one, an error the server reports, or a failed exchange
   * stores nothing.
   */
  async callback(query: Record<string, unknown>, current: (fqn: string) => Promise<GatewayEntry | undefined>): Promise<CallbackOutcome> {
    const param = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    const stateText = param('state');
    if (!stateText || stateText.length > 512) return { ok: false, status: 400, message: 'The request has no valid state; start connecting again from the status page or the API.' };
    const state = await this.options.store.takeState(stateId(stateText));
    if (!state) return { ok: false, status: 400, message: 'This authorization is unknown or was used already; start connecting again.' };
    if (state.expiresAt <= this.options.clock.now()) return { ok: false, status: 400, message: 'This authorization expired (10 minutes); start connecting again.' };
    const context = state.data as unknown as TokenContext;
    const error = param('error');
    if (error) {
      const said = excerpt(param('error_description') ?? '', []);
      return { ok: false, status: 400, message: `The authorization server did not authorize the account (${excerpt(error, [])}${said ? `: ${said}` : ''}); nothing was stored.` };
    }
    const code = param('code');
    if (!code || code.length > 4096) return { ok: false, status: 400, message: 'The authorization server sent no code; nothing was stored.' };
    // The server must still be the one the authorization was started for.
    const entry = await current(state.fqn);
    if (!entry || entry.perUser?.kind !== 'oauth' || entry.perUser.binding !== context.binding) {
      return { ok: false, status: 400, message: `MCP server "${context.serverName}" changed or is gone since the authorization started; connect again.` };
    }
    const client = clientInfo(context.clientId, state.secrets.client_secret);
    let tokens: OAuthTokens;
    try {
      tokens = await this.withFetch((fetchFn) =>
        exchangeAuthorization(context.issuer, {
          metadata: contextMetadata(context),
          clientInformation: client,
          authorizationCode: code,
          codeVerifier: state.secrets.code_verifier!,
          redirectUri: context.redirectUri,
          resource: context.resource,
          fetchFn,
        }),
      );
    } catch (err) {
      this.options.logger?.info({ server: context.serverName, err: this.failure(err) }, 'an OAuth code exchange failed');
      return { ok: false, status: 502, message: `The authorization server did not exchange the code: ${this.failure(err)}. Nothing was stored; connect again.` };
    }
    const stored = this.credentialOf(state.fqn, state.subject, context, tokens, state.secrets.client_secret, undefined);
    if (!stored) return { ok: false, status: 502, message: `The authorization server answered no ${context.jwtSource}; nothing was stored.` };
    await this.options.store.putCredential(stored);
    return { ok: true, server: context.serverName, fqn: state.fqn };
  }

  /** Disconnects: revokes the tokens where the server supports it (RFC 7009), then deletes them. Answers whether there were any. */
  async disconnect(fqn: string, subject: string): Promise<boolean> {
    const stored = await this.options.store.getCredential(fqn, subject, 'oauth');
    if (!stored) return false;
    await this.revokeTokensOf(stored);
    return this.options.store.deleteCredential(fqn, subject, 'oauth');
  }

  /**
   * Revokes (RFC 7009, where the server supports it) the tokens of credentials already deleted here (their
   * server was deleted, or its auth block changed): one after another, each request under its own budget;
   * a failure is logged (without the token) and the next one goes on. Never throws.
   */
  async revokeDropped(dropped: readonly StoredCredential[]): Promise<void> {
    for (const credential of dropped) if (credential.kind === 'oauth') await this.revokeTokensOf(credential);
  }

  /** The refresh token first (revoking it ends the grant at most servers), then the access token. */
  private async revokeTokensOf(stored: StoredCredential): Promise<void> {
    const context = stored.data as unknown as TokenContext;
    if (!context.revocationEndpoint) return;
    for (const [hint, token] of [['refresh_token', stored.secrets.refresh_token], ['access_token', stored.secrets.access_token]] as const) {
      if (!token) continue;
      await this.revoke(context, stored.secrets.client_secret, token, hint).catch((err: unknown) =>
        this.options.logger?.info({ server: context.serverName, err: this.failure(err) }, 'revoking an OAuth token failed; it is deleted here all the same'),
      );
    }
  }

  async accessToken(entry: GatewayEntry, subject: string): Promise<{ token: string } | { reason: string }> {
    const stored = await this.options.store.getCredential(entry.fqn, subject, 'oauth');
    if (!stored || stored.binding !== entry.perUser?.binding) return { reason: 'you have not connected your account' };
    if (!stored.secrets.access_token) return { reason: `your token expired and could not be refreshed${typeof stored.data.lost === 'string' ? `: ${stored.data.lost}` : ''}` };
    const expiresAt = typeof stored.data.expiresAt === 'number' ? stored.data.expiresAt : undefined;
    if (expiresAt === undefined || expiresAt - this.options.clock.now() > REFRESH_BEFORE_MS) return { token: stored.secrets.access_token };
    return this.refresh(stored);
  }

  async refreshAfterRejection(entry: GatewayEntry, subject: string, token: string): Promise<{ token: string } | { reason: string }> {
    const stored = await this.options.store.getCredential(entry.fqn, subject, 'oauth');
    if (!stored || stored.binding !== entry.perUser?.binding || !stored.secrets.access_token) return this.accessToken(entry, subject);
    // Refreshed meanwhile by another session: that token is the one to try.
    if (stored.secrets.access_token !== token) return { token: stored.secrets.access_token };
    return this.refresh(stored);
  }

  private refresh(stored: StoredCredential): Promise<{ token: string } | { reason: string }> {
    const key = `${stored.fqn}\n${stored.subject}`;
    let running = this.refreshing.get(key);
    if (!running) {
      running = this.refreshNow(stored).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, running);
    }
    return running;
  }

  private async refreshNow(stored: StoredCredential): Promise<{ token: string } | { reason: string }> {
    const context = stored.data as unknown as TokenContext;
    const refreshToken = stored.secrets.refresh_token;
    const lose = async (reason: string) => {
      // The tokens go; the marker stays, so the caller's status says why they must connect again.
      await this.options.store.putCredential({ fqn: stored.fqn, subject: stored.subject, kind: 'oauth', secrets: {}, data: { ...context, lost: reason }, binding: stored.binding });
      return { reason: `your token expired and could not be refreshed: ${reason}` };
    };
    if (!refreshToken) return lose('the authorization server gave no refresh token');
    let tokens: OAuthTokens;
    try {
      tokens = await this.withFetch((fetchFn) =>
        refreshAuthorization(context.issuer, {
          metadata: contextMetadata(context),
          clientInformation: clientInfo(context.clientId, stored.secrets.client_secret),
          refreshToken,
          resource: context.resource,
          fetchFn,
        }),
      );
    } catch (err) {
      const reason = this.failure(err);
      this.options.logger?.info({ server: context.serverName, err: reason }, 'an OAuth refresh failed; the caller connects again');
      return lose(reason);
    }
    const next = this.credentialOf(stored.fqn, stored.subject, context, { ...tokens, refresh_token: tokens.refresh_token ?? refreshToken }, stored.secrets.client_secret, stored);
    if (!next) return lose(`the authorization server answered no ${context.jwtSource}`);
    await this.options.store.putCredential(next);
    return { token: next.secrets.access_token! };
  }

  /** The credential to store for a token answer; undefined when it lacks the token the manifest sends. */
  private credentialOf(fqn: string, subject: string, context: TokenContext, tokens: OAuthTokens, clientSecret: string | undefined, before: StoredCredential | undefined) {
    const token = context.jwtSource === 'id_token' ? tokens.id_token : tokens.access_token;
    if (!token) return undefined;
    const secrets: Record<string, string> = { access_token: token };
    if (tokens.refresh_token) secrets.refresh_token = tokens.refresh_token;
    if (clientSecret) secrets.client_secret = clientSecret;
    const expiresIn = typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : undefined;
    const data: Record<string, unknown> = { ...(before?.data ?? {}), ...context, ...(expiresIn !== undefined ? { expiresAt: this.options.clock.now() + expiresIn * 1000 } : {}) };
    delete data.lost;
    if (expiresIn === undefined) delete data.expiresAt;
    if (tokens.scope) data.grantedScope = tokens.scope;
    return { fqn, subject, kind: 'oauth' as const, secrets, data, binding: context.binding };
  }

  /** The server's metadata, the manifest's endpoints over what it publishes; 502 saying why when unusable. */
  private async metadataOf(entry: GatewayEntry): Promise<OAuthServerMetadata> {
    const settings = entry.perUser!.oauth!;
    const egress = this.options.egress ? { egress: this.options.egress } : {};
    const verdict = await findOAuthMetadata({ name: entry.name, url: entry.upstreamUrl }, settings, { timeoutMs: this.options.timeoutMs, ...egress });
    if (verdict.kind === 'unusable') throw new UpstreamFailedError(verdict.message);
    if (verdict.kind === 'use') return verdict.metadata;
    // The authorization server of the manifest's endpoints may publish its metadata (revocation, client authentication).
    const origin = new URL(settings.authorizationUrl!).origin;
    const beside = await discoverOAuthMetadata({ serverUrl: origin, timeoutMs: this.options.timeoutMs }, egress);
    const published = beside.kind === 'found' ? beside.metadata : undefined;
    return {
      ...(published ?? { codeChallengeMethods: ['S256'], pkce: true }),
      resource: new URL(entry.upstreamUrl).href,
      authorizationServer: published?.authorizationServer ?? origin,
      authorizationEndpoint: settings.authorizationUrl!,
      tokenEndpoint: settings.tokenUrl!,
    };
  }

  /** The manifest's client; else the server's registered one (RFC 7591), registered now when there is none for this redirect URI. */
  private async clientFor(entry: GatewayEntry, metadata: OAuthServerMetadata, redirectUri: string): Promise<OAuthClientInformationMixed> {
    const settings = entry.perUser!.oauth!;
    if (settings.clientId) return clientInfo(settings.clientId, entry.headers[OAUTH_CLIENT_SECRET_KEY]);
    const binding = entry.perUser!.binding;
    const kept = await this.options.store.getCredential(entry.fqn, '', 'client');
    if (kept && kept.binding === binding && kept.data.redirectUri === redirectUri && kept.data.issuer === metadata.authorizationServer && typeof kept.data.clientId === 'string') {
      return { ...clientInfo(kept.data.clientId, kept.secrets.client_secret), ...(typeof kept.data.authMethod === 'string' ? { token_endpoint_auth_method: kept.data.authMethod } : {}) };
    }
    if (!metadata.registrationEndpoint) {
      throw new UpstreamFailedError(`The authorization server of MCP server "${entry.name}" offers no dynamic client registration; set auth_data.client_id (and client_secret) in its manifest.`);
    }
    let registered;
    try {
      registered = await this.withFetch((fetchFn) =>
        registerClient(metadata.authorizationServer, {
          metadata: { ...sdkMetadataOf(metadata), registration_endpoint: metadata.registrationEndpoint },
          clientMetadata: {
            redirect_uris: [redirectUri],
            client_name: 'mcp-control-plane gateway',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
          fetchFn,
        }),
      );
    } catch (err) {
      throw new UpstreamFailedError(`Registering with the authorization server of MCP server "${entry.name}" failed: ${this.failure(err)}.`);
    }
    const authMethod = registered.token_endpoint_auth_method;
    await this.options.store.putCredential({
      fqn: entry.fqn,
      subject: '',
      kind: 'client',
      secrets: registered.client_secret ? { client_secret: registered.client_secret } : {},
      data: { clientId: registered.client_id, redirectUri, issuer: metadata.authorizationServer, ...(authMethod ? { authMethod } : {}) },
      binding,
    });
    return { ...clientInfo(registered.client_id, registered.client_secret), ...(authMethod ? { token_endpoint_auth_method: authMethod } : {}) };
  }

  /** RFC 7009: the token revoked at the server, the client authenticated as at the token endpoint. */
  private async revoke(context: TokenContext, clientSecret: string | undefined, token: string, hint: 'access_token' | 'refresh_token'): Promise<void> {
    const client = clientInfo(context.clientId, clientSecret);
    const method = selectClientAuthMethod(client, context.tokenEndpointAuthMethods ?? []);
    const headers = new Headers({ 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' });
    const body = new URLSearchParams({ token, token_type_hint: hint });
    if (method === 'client_secret_basic' && clientSecret) headers.set('Authorization', `Basic ${Buffer.from(`${encodeURIComponent(context.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`);
    else {
      body.set('client_id', context.clientId);
      if (method === 'client_secret_post' && clientSecret) body.set('client_secret', clientSecret);
    }
    await this.withFetch(async (fetchFn) => {
      const res = await fetchFn(context.revocationEndpoint!, { method: 'POST', headers, body });
      if (!res.ok) throw new Error(`the revocation endpoint answered HTTP ${res.status}`);
    });
  }

  /** Runs fn with a fetch through the egress policy, under one time budget, every answer read at most maxResponseBytes. */
  private async withFetch<T>(fn: (fetchFn: FetchLike) => Promise<T>): Promise<T> {
    const owned = createServerFetch({ rejectUnauthorized: true }, this.options.egress ? { egress: this.options.egress } : {});
    const budget = new Budget(this.options.timeoutMs);
    const maxBytes = this.options.maxResponseBytes;
    const fetchFn: FetchLike = async (url, init) => {
      const res = await owned(url, { ...init, signal: budget.signal });
      // The SDK follows a redirect only within the request's origin (each hop through the egress policy
      // again); one to another origin is refused here in words naming where it pointed.
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      const target = location && URL.canParse(location, String(url)) ? new URL(location, String(url)) : undefined;
      if (target && target.origin !== new URL(String(url)).origin) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`the authorization server redirected the request to ${target.host} (another origin, HTTP ${res.status}), which is not followed`);
      }
      const body = await readBytesCapped(res, maxBytes);
      return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    try {
      return await budget.run(fn(fetchFn));
    } finally {
      budget.dispose();
      await owned.close();
    }
  }

  /** What went wrong talking to an authorization server, in words that quote no secret. */
  private failure(err: unknown): string {
    const denied = egressDenial(err) ?? egressDenial((err as { cause?: unknown })?.cause);
    if (denied) return `the address may not be reached: ${describeEgressDenial(denied)}`;
    return excerpt(messageOf(err), []) || 'the answer was not valid';
  }
}

/** The id a state is stored under: its sha256 (the state itself is kept nowhere). */
function stateId(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

function clientInfo(clientId: string, clientSecret: string | undefined): OAuthClientInformationMixed {
  return { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) };
}

function sdkMetadataOf(m: OAuthServerMetadata): AuthorizationServerMetadata {
  return {
    issuer: m.authorizationServer,
    authorization_endpoint: m.authorizationEndpoint,
    token_endpoint: m.tokenEndpoint,
    response_types_supported: ['code'],
    code_challenge_methods_supported: m.codeChallengeMethods.length > 0 ? m.codeChallengeMethods : ['S256'],
    ...(m.tokenEndpointAuthMethods ? { token_endpoint_auth_methods_supported: m.tokenEndpointAuthMethods } : {}),
  } as AuthorizationServerMetadata;
}

function contextMetadata(c: TokenContext): AuthorizationServerMetadata {
  return {
    issuer: c.issuer,
    authorization_endpoint: c.authorizationEndpoint,
    token_endpoint: c.tokenEndpoint,
    response_types_supported: ['code'],
    ...(c.tokenEndpointAuthMethods ? { token_endpoint_auth_methods_supported: c.tokenEndpointAuthMethods } : {}),
  } as AuthorizationServerMetadata;
}

function messageOf(e: unknown): string {
  const message = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(e);
}
