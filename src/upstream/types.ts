// The vocabulary of the upstream connection layer: how a request reaches an MCP server, and what a
// failure to reach it is called.
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

export type { FetchLike };

/** The two MCP HTTP transports: Streamable HTTP (spec 2025-03-26+) and the older HTTP+SSE. */
export type Transport = 'streamable-http' | 'sse';

export interface TlsOptions {
  /** false accepts any certificate for this server only; never changes process-wide TLS. */
  rejectUnauthorized: boolean;
  /** PEM bundle trusted for this server only; like curl --cacert it replaces the public roots for this server. */
  caCert?: string;
}

export interface UpstreamProxyTarget {
  url: string;
  headers: Record<string, string>;
}

/**
 * Why an upstream could not be used, as the failure classifier (failure.ts) names it.
 * EgressDenied: the egress policy refused the connection (see egress.ts); no packet was sent.
 * ResponseTooLarge: an answer passed a byte cap (response-limits.ts), or the server lists more tools than kept.
 */
export type FailureReason = 'Unreachable' | 'Timeout' | 'TLSError' | 'AuthenticationRequired' | 'ProtocolError' | 'EgressDenied' | 'ResponseTooLarge';

/** A tool as an upstream lists it (tools/list), copied out of the answer. */
export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
