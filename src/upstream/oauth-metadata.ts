// What an MCP server asks of an OAuth client: its protected-resource metadata (RFC 9728) and its
// authorization server's metadata (RFC 8414, or OpenID Connect discovery), found as the MCP
// authorization spec says: the `resource_metadata` of the server's WWW-Authenticate challenge, else
// the well-known URLs beside the server URL; without protected-resource metadata, the server's
// origin is taken as the authorization server (the 2025-03-26 revision of the spec).
//
// The SDK's discovery functions (client/auth.js) build the well-known URLs and parse the documents;
// they fetch through the fetch built here, so every request goes through the egress policy (a
// metadata URL in a denied range is refused before a packet is sent, redirects included), is bounded
// by one time budget, and reads at most MAX_METADATA_BYTES of a document.
//
// Contract: never throws; answers within `timeoutMs` (plus closing sockets); sends no credentials;
// closes what it opened. `found` carries the endpoints as published; `absent` means the server
// publishes no OAuth metadata (it takes some other credential); `failed` names why the metadata that
// the server points at could not be used.
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { checkResourceAllowed, resourceUrlFromServerUrl } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import type { AuthorizationServerMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { Budget } from './budget.js';
import { describeEgressDenial, egressDenial, type EgressPolicy } from './egress.js';
import { hostPort, isAbort, networkFailure, safeUrl } from './failure.js';
import { excerpt, sanitize } from './redaction.js';
import { readBytesCapped, ResponseTooLargeError } from './response-limits.js';
import { createServerFetch } from './server-fetch.js';
import type { FetchLike } from './types.js';
import { ConditionReason } from '../domain/condition-reasons.js';

/** The most of one metadata document read; real ones are a few KiB. */
export const MAX_METADATA_BYTES = 64 * 1024;

export interface OAuthMetadataRequest {
  /** The MCP server's URL: the protected resource. */
  serverUrl: string;
  /** The WWW-Authenticate header of the server's 401, when it sent one; its resource_metadata is used first. */
  wwwAuthenticate?: string;
  /** The budget for every request made here. */
  timeoutMs: number;
}

export interface OAuthMetadataDeps {
  /** The egress policy of the fetch built here. Default: the link-local ranges denied. */
  egress?: EgressPolicy;
}

export interface OAuthServerMetadata {
  /** The protected resource a token is for (RFC 8707 `resource`): the metadata's, else the server URL. */
  resource: string;
  /** Where the protected-resource metadata came from; absent when the server publishes none. */
  resourceMetadataUrl?: string;
  /** The authorization server's issuer. */
  authorizationServer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** Dynamic client registration (RFC 7591), when offered. */
  registrationEndpoint?: string;
  /** The resource's scopes_supported, else the authorization server's. */
  scopesSupported?: string[];
  /** The scope the 401 challenge asked for, when it named one. */
  challengeScope?: string;
  codeChallengeMethods: string[];
  /** The authorization server supports PKCE with S256, as MCP clients require. */
  pkce: boolean;
  /** Token revocation (RFC 7009), when offered. */
  revocationEndpoint?: string;
  /** How clients may authenticate at the token endpoint (absent: the server did not say). */
  tokenEndpointAuthMethods?: string[];
}

export type OAuthMetadataFailureReason = 'EgressDenied' | 'Unreachable' | 'Timeout' | 'TLSError' | 'InvalidMetadata' | 'ResourceMismatch';

export type OAuthMetadataResult =
  | { kind: 'found'; metadata: OAuthServerMetadata }
  | { kind: 'absent'; message: string }
  | { kind: 'failed'; reason: OAuthMetadataFailureReason; message: string };

/** A document longer than the cap; reading stopped there. */
class MetadataTooLargeError extends Error {
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`the document at ${url} is larger than ${maxBytes} bytes`);
    this.name = 'MetadataTooLargeError';
  }
}

/** A document that is not what it claims to be; the message says what is wrong. */
class InvalidMetadataError extends Error {}

interface Observed {
  /** Network errors (refused, egress, TLS) the fetch threw; the SDK swallows them (as CORS failures). */
  networkErrors: unknown[];
  /** The last URL answered 2xx. */
  lastOkUrl?: string;
}

export async function discoverOAuthMetadata(request: OAuthMetadataRequest, deps: OAuthMetadataDeps = {}): Promise<OAuthMetadataResult> {
  let serverUrl: URL;
  try {
    serverUrl = new URL(request.serverUrl);
  } catch {
    return { kind: 'failed', reason: 'InvalidMetadata', message: 'The server URL is not a valid absolute URL.' };
  }
  // Certificates are verified against the public roots.
  const owned = createServerFetch({ rejectUnauthorized: true }, deps.egress ? { egress: deps.egress } : {});
  const budget = new Budget(request.timeoutMs);
  const observed: Observed = { networkErrors: [] };
  const fetch = cappedFetch(owned, MAX_METADATA_BYTES, budget.signal, observed);
  const challenge = request.wwwAuthenticate ? challengeParams(request.wwwAuthenticate) : {};
  try {
    return await budget.run(discoverFor(serverUrl, challenge, fetch, observed));
  } catch (error) {
    return failedOf(error, observed, budget, request.timeoutMs);
  } finally {
    budget.dispose();
    await owned.close();
  }
}

async function discoverFor(
  serverUrl: URL,
  challenge: { resourceMetadataUrl?: URL; scope?: string },
  fetch: FetchLike,
  observed: Observed,
): Promise<OAuthMetadataResult> {
  const hint = challenge.resourceMetadataUrl;
  if (hint && hint.protocol !== 'http:' && hint.protocol !== 'https:') {
    throw new InvalidMetadataError(`The server's WWW-Authenticate names resource metadata at a ${hint.protocol} URL; only http and https are fetched.`);
  }
  let resourceMetadata: OAuthProtectedResourceMetadata | undefined;
  let resourceMetadataUrl: string | undefined;
  try {
    resourceMetadata = await discoverOAuthProtectedResourceMetadata(serverUrl, hint ? { resourceMetadataUrl: hint } : {}, fetch);
    resourceMetadataUrl = observed.lastOkUrl;
  } catch (error) {
    throwUnlessNotPublished(error, observed);
    if (hint) {
      throw new InvalidMetadataError(
        `The server's WWW-Authenticate names resource metadata at ${safeUrl(hint)}, but none is served there${parenthesised(excerpt(messageOf(error), []))}.`,
      );
    }
  }

  if (resourceMetadata) {
    const resource = resourceMetadata.resource;
    if (!checkResourceAllowed({ requestedResource: resourceUrlFromServerUrl(serverUrl), configuredResource: resource })) {
      return {
        kind: 'failed',
        reason: 'ResourceMismatch',
        message: `The protected resource metadata at ${resourceMetadataUrl ?? safeUrl(serverUrl)} is for ${sanitize(resource, [], 200)}, not for ${safeUrl(serverUrl)}; RFC 9728 forbids using it. Check the server URL.`,
      };
    }
  }
  const asText = resourceMetadata?.authorization_servers?.[0] ?? new URL('/', serverUrl).href;
  const asUrl = URL.canParse(asText) ? new URL(asText) : undefined;
  if (!asUrl || (asUrl.protocol !== 'http:' && asUrl.protocol !== 'https:')) {
    throw new InvalidMetadataError(`The protected resource metadata names the authorization server "${sanitize(asText, [], 200)}", which is not an http(s) URL.`);
  }
  observed.networkErrors = [];
  const asMetadata = await discoverAuthorizationServerMetadata(asUrl, { fetchFn: fetch });
  if (!asMetadata) {
    if (observed.networkErrors.length > 0) throw observed.networkErrors[observed.networkErrors.length - 1];
    if (!resourceMetadata) {
      return { kind: 'absent', message: `${safeUrl(serverUrl)} publishes no OAuth protected resource or authorization server metadata.` };
    }
    throw new InvalidMetadataError(
      `The authorization server ${safeUrl(asUrl)} named by the protected resource metadata publishes no metadata (RFC 8414 or OpenID Connect discovery).`,
    );
  }
  if (trimSlash(asMetadata.issuer) !== trimSlash(asUrl.href)) {
    throw new InvalidMetadataError(
      `The metadata of the authorization server ${safeUrl(asUrl)} names the issuer ${sanitize(asMetadata.issuer, [], 200)}; RFC 8414 requires the two to be the same.`,
    );
  }
  return { kind: 'found', metadata: metadataOf(serverUrl, resourceMetadata, resourceMetadataUrl, asMetadata, challenge.scope) };
}

function metadataOf(
  serverUrl: URL,
  resource: OAuthProtectedResourceMetadata | undefined,
  resourceMetadataUrl: string | undefined,
  as: AuthorizationServerMetadata,
  challengeScope: string | undefined,
): OAuthServerMetadata {
  const methods = [...(as.code_challenge_methods_supported ?? [])];
  const scopes = resource?.scopes_supported ?? as.scopes_supported;
  return {
    resource: resource?.resource ?? resourceUrlFromServerUrl(serverUrl).href,
    ...(resource && resourceMetadataUrl ? { resourceMetadataUrl } : {}),
    authorizationServer: as.issuer,
    authorizationEndpoint: as.authorization_endpoint,
    tokenEndpoint: as.token_endpoint,
    ...(as.registration_endpoint ? { registrationEndpoint: as.registration_endpoint } : {}),
    ...(scopes ? { scopesSupported: [...scopes] } : {}),
    ...(challengeScope ? { challengeScope } : {}),
    codeChallengeMethods: methods,
    pkce: methods.includes('S256'),
    ...(typeof (as as { revocation_endpoint?: unknown }).revocation_endpoint === 'string' ? { revocationEndpoint: (as as { revocation_endpoint: string }).revocation_endpoint } : {}),
    ...(as.token_endpoint_auth_methods_supported ? { tokenEndpointAuthMethods: [...as.token_endpoint_auth_methods_supported] } : {}),
  };
}

/** resource_metadata and scope of a Bearer challenge (the SDK's parser reads them off a Response). */
function challengeParams(wwwAuthenticate: string): { resourceMetadataUrl?: URL; scope?: string } {
  try {
    const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(new Response(null, { status: 401, headers: { 'www-authenticate': wwwAuthenticate } }));
    return { ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(scope ? { scope } : {}) };
  } catch {
    return {};
  }
}

/**
 * A failure to load protected-resource metadata that means "not published here" (the SDK throws for a
 * 404 or another non-2xx) passes; a network failure, a document too large or one that does not parse is
 * rethrown.
 */
function throwUnlessNotPublished(error: unknown, observed: Observed): void {
  if (observed.networkErrors.length > 0) throw observed.networkErrors[observed.networkErrors.length - 1];
  if (error instanceof MetadataTooLargeError || error instanceof InvalidMetadataError || isParseError(error) || isAbort(error)) throw error;
  if (!/does not implement|^HTTP \d{3} /.test(messageOf(error))) throw error;
}

function isParseError(error: unknown): boolean {
  // By shape, not instanceof: a JSON SyntaxError may come from another realm than this module's.
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; issues?: unknown };
  return e.name === 'SyntaxError' || Array.isArray(e.issues);
}

function failedOf(error: unknown, observed: Observed, budget: Budget, timeoutMs: number): OAuthMetadataResult {
  const cause = observed.networkErrors.length > 0 && !(error instanceof InvalidMetadataError) ? (observed.networkErrors.at(-1) ?? error) : error;
  const denied = egressDenial(cause) ?? egressDenial(error);
  if (denied) {
    return { kind: 'failed', reason: ConditionReason.EgressDenied, message: `The OAuth metadata may not be fetched: ${describeEgressDenial(denied)}.` };
  }
  if (budget.expired) {
    return { kind: 'failed', reason: ConditionReason.Timeout, message: `The OAuth metadata did not arrive within ${timeoutMs} ms.` };
  }
  if (error instanceof MetadataTooLargeError) {
    return { kind: 'failed', reason: 'InvalidMetadata', message: `The OAuth metadata is too large: ${error.message}.` };
  }
  if (error instanceof InvalidMetadataError) return { kind: 'failed', reason: 'InvalidMetadata', message: error.message };
  if (isParseError(error)) {
    return { kind: 'failed', reason: 'InvalidMetadata', message: `The OAuth metadata is not valid: ${parseProblem(error)}.` };
  }
  const net = networkFailure(cause);
  const where = urlOfError(cause);
  if (net?.kind === 'tls') {
    return { kind: 'failed', reason: ConditionReason.TLSError, message: `The TLS certificate of the OAuth metadata host${where} could not be verified (${net.code}).` };
  }
  return {
    kind: 'failed',
    reason: ConditionReason.Unreachable,
    message: `The OAuth metadata could not be fetched${where}${net?.kind === 'unreachable' ? ` (${net.code})` : parenthesised(excerpt(messageOf(cause), []))}.`,
  };
}

function parseProblem(error: unknown): string {
  const issues = (error as { issues?: { path?: unknown[]; message?: string }[] }).issues;
  if (Array.isArray(issues) && issues.length > 0) {
    return issues
      .slice(0, 3)
      .map((i) => excerpt(`${(i.path ?? []).join('.') || '(document)'}: ${i.message ?? 'invalid'}`, []) || 'invalid')
      .join('; ');
  }
  return `not JSON${parenthesised(excerpt(messageOf(error), []))}`;
}

/** " (text)", or nothing when nothing of the text may be shown. */
function parenthesised(text: string): string {
  return text ? ` (${text})` : '';
}

const urlOfRequest = new WeakMap<object, string>();

function urlOfError(error: unknown): string {
  const url = typeof error === 'object' && error !== null ? urlOfRequest.get(error) : undefined;
  return url ? ` at ${url}` : '';
}

/**
 * The fetch the SDK's discovery calls: cancelled with the budget, network errors recorded (the SDK takes
 * a TypeError for a CORS refusal and moves on), and the body of a 2xx read here, at most maxBytes of it.
 */
function cappedFetch(base: FetchLike, maxBytes: number, signal: AbortSignal, observed: Observed): FetchLike {
  return async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    let response: Response;
    try {
      response = await base(url, { ...init, signal });
    } catch (error) {
      if (!isAbort(error) && typeof error === 'object' && error !== null) {
        observed.networkErrors.push(error);
        urlOfRequest.set(error, `${hostPort(url)}`);
      }
      throw error;
    }
    if (response.status < 200 || response.status >= 300) return response;
    const body = await readBytesCapped(response, maxBytes).catch((error: unknown) => {
      throw error instanceof ResponseTooLargeError ? new MetadataTooLargeError(safeUrl(url), maxBytes) : error;
    });
    observed.lastOkUrl = safeUrl(url);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function messageOf(e: unknown): string {
  const message = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(e);
}
