// The contract between the reconciler and the MCP client: what to reach, and what came back.
import type { AuthStatus } from '../domain/resource.js';
import type { FailureReason, TlsOptions, Transport, UpstreamProxyTarget, UpstreamTool } from '../upstream/types.js';

/** How the manifest authenticates to the server; decides authStatus, never the request headers. */
export type AuthConfigured = 'none' | 'header' | 'oauth2' | 'passthrough';

export interface DiscoveryTarget {
  url: string;
  /** Already resolved: auth_data headers (or an OAuth bearer) merged over additional_headers. Values are secrets. */
  headers: Record<string, string>;
  tls: TlsOptions;
  /** Tried first when given; the other transport is tried when this one is answered as the wrong transport. */
  preferredTransport?: Transport;
  /**
   * Only this transport is tried, never the other (the manifest preset it with `transport`); wins over
   * preferredTransport.
   */
  fixedTransport?: Transport;
  /** The longest one MCP request may take (the manifest's timeouts.request_ms); the budget still bounds it. */
  requestTimeoutMs?: number;
  /**
   * An HTTP proxy to reach the server through (the manifest's upstream_proxy), with the headers sent to the
   * proxy on CONNECT. Header values are secrets.
   */
  proxy?: UpstreamProxyTarget;
  /** The budget for the whole discovery: connect, fallback, every tools/list page, and closing. */
  timeoutMs: number;
  authConfigured: AuthConfigured;
}

/**
 * Why a discovery failed: the upstream layer's failure reasons, and mcp-server/openapi's (src/openapi): its
 * document could not be fetched, is not valid OpenAPI 3, or cannot be served as tools.
 */
export type DiscoveryFailureReason =
  | FailureReason
  | 'SpecFetchFailed'
  | 'InvalidOpenApiDocument'
  | 'CircularReference'
  | 'TooManyOperations'
  | 'ToolSchemaTooLarge'
  | 'ToolNameConflict'
  | 'OAuthMetadataUnavailable';

export interface DiscoverySuccess {
  ok: true;
  /** `stdio`: an mcp-server/stdio process run by the control plane (src/stdio); `openapi`: tools made from an OpenAPI document (src/openapi). */
  transport: Transport | 'stdio' | 'openapi';
  /** Where the tools were found, when not over an MCP transport (status says "Found N tools <source>"). */
  source?: string;
  serverInfo: { name: string; version: string };
  capabilities: Record<string, unknown>;
  instructions?: string;
  tools: UpstreamTool[];
  authStatus: AuthStatus;
}

export interface DiscoveryFailure {
  ok: false;
  reason: DiscoveryFailureReason;
  /** One sentence an operator can act on. Never carries a header value or token. */
  message: string;
  authStatus: AuthStatus;
  /** The HTTP status that decided the failure, when there was one. */
  httpStatus?: number;
}

export type DiscoveryResult = DiscoverySuccess | DiscoveryFailure;
