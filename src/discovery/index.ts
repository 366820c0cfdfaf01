// The MCP client the reconciler uses to talk to one registered remote MCP server.
export { discover, MAX_TOOL_PAGES, type DiscoverDeps } from './discover.js';
export { DEFAULT_UPSTREAM_LIMITS, MAX_TOOLS, ResponseTooLargeError, type UpstreamLimits } from './response-limits.js';
export { createServerFetch, type ServerFetch } from './server-fetch.js';
export { applyToolSettings, closestToolNames, type AppliedToolSettings } from './tool-settings.js';
export {
  OAuthClientCredentials,
  OAuthError,
  type ClientCredentialsConfig,
  type OAuthClientCredentialsOptions,
  type OAuthErrorKind,
  type OAuthToken,
} from './oauth-client-credentials.js';
export { authMethod } from './auth-status.js';
export {
  discoverOAuthMetadata,
  MAX_METADATA_BYTES,
  type OAuthMetadataRequest,
  type OAuthMetadataResult,
  type OAuthServerMetadata,
} from './oauth-metadata.js';
export type {
  AuthConfigured,
  DiscoveryFailure,
  DiscoveryFailureReason,
  DiscoveryResult,
  DiscoverySuccess,
  DiscoveryTarget,
  FetchLike,
  TlsOptions,
  Transport,
  UpstreamTool,
} from './types.js';
