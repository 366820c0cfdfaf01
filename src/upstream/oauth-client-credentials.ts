// OAuth 2.0 client credentials grant (RFC 6749 §4.4) for oauth2 auth_data with
// grant_type: client_credentials. Tokens are cached until shortly before they expire.
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../domain/clock.js';
import { Budget } from './budget.js';
import { describeEgressDenial, egressDenial, type EgressPolicy } from './egress.js';
import { hostPort, networkFailure, safeUrl } from './failure.js';
import { excerpt, sanitize } from './redaction.js';
import { DEFAULT_UPSTREAM_LIMITS, readTextCapped, responseTooLarge } from './response-limits.js';
import { createServerFetch } from './server-fetch.js';
import type { FetchLike, TlsOptions } from './types.js';

export type OAuthErrorKind =
  | 'InvalidConfig'
  | 'InvalidClient'
  | 'TokenRequestRejected'
  | 'InvalidTokenResponse'
  | 'Unreachable'
  | 'TLSError'
  | 'Timeout'
  | 'EgressDenied'
  | 'ResponseTooLarge';

/** A token could not be obtained. The message names the endpoint and client_id, never the secret. */
export class OAuthError extends Error {
  constructor(
    message: string,
    readonly kind: OAuthErrorKind,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

export interface ClientCredentialsConfig {
  tokenUrl: string;
  clientId: string;
  /** Secret. */
  clientSecret: string;
  scopes?: string[];
  tls: TlsOptions;
  /** Which token of the response is the bearer: the manifest's jwt_source. Default access_token. */
  jwtSource?: 'access_token' | 'id_token';
}

export interface OAuthToken {
  accessToken: string;
  /** Epoch ms, when the endpoint said (expires_in). */
  expiresAt?: number;
}

export interface OAuthClientCredentialsOptions {
  /** Used for every token request instead of a per-endpoint fetch built from cfg.tls. */
  fetch?: FetchLike;
  clock?: Clock;
  /** Refresh this long before expiry (at most half the token's lifetime). Default 30 s. */
  refreshSkewMs?: number;
  /** Budget of one token request. Default 10 s. */
  timeoutMs?: number;
  /** How long a token without expires_in is reused. Default 5 min. */
  defaultTtlMs?: number;
  /** The egress policy of the per-endpoint fetch (ignored with `fetch`). Default: the link-local ranges denied. */
  egress?: EgressPolicy;
  /** The most bytes of one token answer read (--upstream-max-response-bytes). */
  maxResponseBytes?: number;
}

type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

interface CachedToken {
  token: OAuthToken;
  refreshAt: number;
}

export class OAuthClientCredentials {
  private readonly fetch: FetchLike | undefined;
  private readonly clock: Clock;
  private readonly refreshSkewMs: number;
  private readonly timeoutMs: number;
  private readonly defaultTtlMs: number;
  private readonly egress: EgressPolicy | undefined;
  private readonly maxResponseBytes: number;
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<OAuthToken>>();
  /** The client authentication method an endpoint accepted, per (tokenUrl, clientId). */
  private readonly methods = new Map<string, ClientAuthMethod>();

  constructor(opts: OAuthClientCredentialsOptions = {}) {
    this.fetch = opts.fetch;
    this.clock = opts.clock ?? systemClock;
    this.refreshSkewMs = opts.refreshSkewMs ?? 30_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.defaultTtlMs = opts.defaultTtlMs ?? 300_000;
    this.egress = opts.egress;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_UPSTREAM_LIMITS.maxResponseBytes;
  }

  /** A valid token: from the cache, or from one request shared by concurrent callers. Throws OAuthError. */
  getToken(cfg: ClientCredentialsConfig): Promise<OAuthToken> {
    const key = cacheKey(cfg);
    const cached = this.cache.get(key);
    if (cached && this.clock.now() < cached.refreshAt) return Promise.resolve(cached.token);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const request = this.requestToken(cfg)
      .then((result) => {
        this.cache.set(key, result);
        return result.token;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, request);
    return request;
  }

  /** Forgets the cached token, e.g. after the MCP server rejected it. */
  invalidate(cfg: ClientCredentialsConfig): void {
    this.cache.delete(cacheKey(cfg));
  }

  private async requestToken(cfg: ClientCredentialsConfig): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(cfg.tokenUrl);
    } catch {
      throw new OAuthError('The OAuth token_url is not a valid absolute URL; fix auth_data.token_url.', 'InvalidConfig');
    }
    if (!cfg.clientId || !cfg.clientSecret) {
      throw new OAuthError('The client credentials grant needs auth_data.client_id and auth_data.client_secret.', 'InvalidConfig');
    }
    const methodKey = `${cfg.tokenUrl}\n${cfg.clientId}`;
    const known = this.methods.get(methodKey);
    const ownedFetch = this.fetch ? undefined : createServerFetch(cfg.tls, this.egress ? { egress: this.egress } : {});
    const fetch = this.fetch ?? ownedFetch!;
    try {
      // client_secret_basic is the one every server must support (RFC 6749 §2.3.1); some only take post.
      let response = await this.post(fetch, url, cfg, known ?? 'client_secret_basic');
      if (!response.ok && !known && rejectsClientAuth(response)) {
        const viaPost = await this.post(fetch, url, cfg, 'client_secret_post');
        // When post is refused only for client authentication too, basic's answer says as much.
        if (viaPost.ok || !rejectsClientAuth(viaPost)) response = viaPost;
      }
      if (!response.ok) throw rejection(url, cfg, response);
      this.methods.set(methodKey, response.method);
      return this.toCached(url, cfg, response.body);
    } finally {
      await ownedFetch?.close();
    }
  }

  private async post(fetch: FetchLike, url: URL, cfg: ClientCredentialsConfig, method: ClientAuthMethod): Promise<TokenResponse> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (cfg.scopes && cfg.scopes.length > 0) form.set('scope', cfg.scopes.join(' '));
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (method === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(cfg.clientId)}:${formEncode(cfg.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', cfg.clientId);
      form.set('client_secret', cfg.clientSecret);
    }
    const budget = new Budget(this.timeoutMs);
    try {
      const response = await fetch(url, { method: 'POST', headers, body: form.toString(), signal: budget.signal, redirect: 'error' });
      const text = await readTextCapped(response, this.maxResponseBytes);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { ok: response.ok, status: response.status, body, method };
    } catch (error) {
      const tooLarge = responseTooLarge(error);
      if (tooLarge) {
        throw new OAuthError(
          `The OAuth token endpoint ${safeUrl(url)} answered more than ${tooLarge.limitBytes} bytes; the control plane reads at most that (${tooLarge.flag}); check auth_data.token_url.`,
          'ResponseTooLarge',
        );
      }
      const denied = egressDenial(error);
      if (denied) {
        throw new OAuthError(`The OAuth token endpoint ${safeUrl(url)} may not be reached: ${describeEgressDenial(denied)}.`, 'EgressDenied');
      }
      if (budget.expired) {
        throw new OAuthError(`The OAuth token endpoint at ${hostPort(url)} did not answer within ${this.timeoutMs} ms; check auth_data.token_url.`, 'Timeout');
      }
      const net = networkFailure(error);
      if (net?.kind === 'tls') {
        throw new OAuthError(
          `The TLS certificate of the OAuth token endpoint ${hostPort(url)} could not be verified (${net.code}); set tls_settings.ca_cert, or reject_unauthorized: false only if you accept an unverified connection.`,
          'TLSError',
        );
      }
      throw new OAuthError(
        `Cannot reach the OAuth token endpoint at ${hostPort(url)}${net?.kind === 'unreachable' ? ` (${net.code})` : net?.kind === 'bad-port' ? ' (blocked port)' : ''}; check auth_data.token_url.`,
        'Unreachable',
      );
    } finally {
      budget.dispose();
    }
  }

  private toCached(url: URL, cfg: ClientCredentialsConfig, body: unknown): CachedToken {
    const source = cfg.jwtSource ?? 'access_token';
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const accessToken = fields[source];
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new OAuthError(
        `The OAuth token endpoint ${safeUrl(url)} answered without a ${source}; check auth_data.jwt_source and the endpoint.`,
        'InvalidTokenResponse',
      );
    }
    const now = this.clock.now();
    const expiresIn = Number(fields.expires_in);
    if (Number.isFinite(expiresIn) && expiresIn > 0) {
      const lifetimeMs = expiresIn * 1000;
      const expiresAt = now + lifetimeMs;
      return { token: { accessToken, expiresAt }, refreshAt: expiresAt - Math.min(this.refreshSkewMs, lifetimeMs / 2) };
    }
    return { token: { accessToken }, refreshAt: now + this.defaultTtlMs };
  }
}

interface TokenResponse {
  ok: boolean;
  status: number;
  body: unknown;
  method: ClientAuthMethod;
}

/** The server did not accept how the client authenticated (so the other method may work). */
function rejectsClientAuth(response: TokenResponse): boolean {
  const error = oauthErrorCode(response.body);
  return response.status === 401 || error === 'invalid_client' || error === 'unauthorized_client' || (response.status === 400 && error === 'invalid_request');
}

function oauthErrorCode(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}

function rejection(url: URL, cfg: ClientCredentialsConfig, response: TokenResponse): OAuthError {
  const code = oauthErrorCode(response.body);
  const rawDescription = (response.body as { error_description?: unknown } | undefined)?.error_description;
  // The endpoint's own words, as a bounded excerpt (never a body dump).
  const described = typeof rawDescription === 'string' ? excerpt(rawDescription, [cfg.clientSecret], 160) : '';
  const description = described ? `: ${described}` : '';
  const codeText = code ? excerpt(code, [cfg.clientSecret], 60) : '';
  const detail = `HTTP ${response.status}${codeText ? ` ${codeText}` : ''}${description}`;
  if (rejectsClientAuth(response)) {
    return new OAuthError(
      `The OAuth token endpoint ${safeUrl(url)} rejected client_id "${sanitize(cfg.clientId, [cfg.clientSecret], 80)}" (${detail}); check auth_data.client_id and client_secret.`,
      'InvalidClient',
      response.status,
    );
  }
  return new OAuthError(
    `The OAuth token endpoint ${safeUrl(url)} refused the client credentials grant (${detail}); check auth_data.scopes and that the client may use this grant.`,
    'TokenRequestRejected',
    response.status,
  );
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 requires inside the Basic header. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function cacheKey(cfg: ClientCredentialsConfig): string {
  const secretHash = createHash('sha256').update(cfg.clientSecret).digest('hex');
  const scopes = [...(cfg.scopes ?? [])].sort().join(' ');
  return JSON.stringify([cfg.tokenUrl, cfg.clientId, scopes, cfg.jwtSource ?? 'access_token', secretHash]);
}
