// The upstream connection layer: how the control plane reaches an MCP server it does not run (egress
// checks, TLS and proxies per server, byte caps on answers, OAuth client credentials and metadata, the
// time budget, the tools/list pager) and what a failure to reach one is called. Discovery, the stdio
// supervisor and the gateway data plane all reach upstreams through it.
export { Budget, BudgetExceededError } from './budget.js';
export { DEFAULT_UPSTREAM_LIMITS, MAX_TOOLS, ResponseTooLargeError, type UpstreamLimits } from './response-limits.js';
export { createServerFetch, type ServerFetch } from './server-fetch.js';
export {
  OAuthClientCredentials,
  OAuthError,
  type ClientCredentialsConfig,
  type OAuthClientCredentialsOptions,
  type OAuthErrorKind,
  type OAuthToken,
} from './oauth-client-credentials.js';
export {
  discoverOAuthMetadata,
  MAX_METADATA_BYTES,
  type OAuthMetadataRequest,
  type OAuthMetadataResult,
  type OAuthServerMetadata,
} from './oauth-metadata.js';
export { listAllTools, MAX_TOOL_PAGES, toUpstreamTool, ToolListError, type ToolsPage } from './tools-pager.js';
export type { FailureReason, FetchLike, TlsOptions, Transport, UpstreamProxyTarget, UpstreamTool } from './types.js';
