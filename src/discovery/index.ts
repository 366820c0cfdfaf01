// Discovery: what the reconciler learns of one registered server (its transport, info, capabilities and
// tools), through the upstream connection layer (src/upstream).
export { discover, type DiscoverDeps } from './discover.js';
export { applyToolSettings, closestToolNames, type AppliedToolSettings } from './tool-settings.js';
export { authMethod } from './auth-status.js';
export { shareDiscoveryResult } from './shared-results.js';
export type {
  AuthConfigured,
  DiscoveryFailure,
  DiscoveryFailureReason,
  DiscoveryResult,
  DiscoverySuccess,
  DiscoveryTarget,
} from './types.js';
