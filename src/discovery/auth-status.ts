// What discovery learned about authentication, in the shape the reference API reports as authStatus.
import type { AuthStatus } from '../domain/resource.js';
import type { AuthConfigured, DiscoveryFailureReason } from './types.js';
import { ConditionReason } from '../domain/condition-reasons.js';

export function authMethod(configured: AuthConfigured): AuthStatus['method'] {
  switch (configured) {
    case 'none':
      return null;
    case 'header':
      return 'auth-override';
    case 'oauth2':
      return 'oauth';
    case 'passthrough':
      return 'passthrough';
  }
}

/** The server answered initialize and tools/list with the configured credentials (or none). */
export function authStatusOnSuccess(configured: AuthConfigured): AuthStatus {
  const method = authMethod(configured);
  switch (configured) {
    case 'none':
      return { status: 'authentication_not_required', method, message: 'The server answered without credentials.' };
    case 'header':
      return { status: 'authenticated', method, message: 'The server accepted the configured auth_data headers.' };
    case 'oauth2':
      return { status: 'authenticated', method, message: 'The server accepted the OAuth access token.' };
    case 'passthrough':
      return {
        status: 'authentication_not_required',
        method,
        message: "The server answered discovery without a caller's token; callers' tokens are still forwarded.",
      };
  }
}

/** `challenge`: the server's WWW-Authenticate header, already redacted; the message quotes what it asked for. */
export function authStatusOnFailure(configured: AuthConfigured, reason: DiscoveryFailureReason, httpStatus?: number, challenge?: string): AuthStatus {
  const method = authMethod(configured);
  if (reason !== ConditionReason.AuthenticationRequired) {
    return { status: 'unknown', method, message: 'Authentication was not checked because the server could not be discovered.' };
  }
  const asked = challenge ? `, asking for ${challenge}` : '';
  const code = httpStatus ? ` (HTTP ${httpStatus}${asked})` : asked ? ` (${asked.slice(2)})` : '';
  switch (configured) {
    case 'none':
      return {
        status: 'authentication_required',
        method,
        message: `The server requires authentication${code}; add auth_data to the manifest.`,
      };
    case 'header':
      return {
        status: 'authentication_required',
        method,
        message: `The server rejected the configured auth_data headers${code}; check their names and values.`,
      };
    case 'oauth2':
      return {
        status: 'authentication_required',
        method,
        message: `The server rejected the OAuth access token${code}; check the client's scopes and that the token endpoint issues tokens for this server.`,
      };
    case 'passthrough':
      // Discovery has no caller token; each caller authenticates with their own.
      return {
        status: 'unknown',
        method,
        message: `The server requires a caller's token${code}; with passthrough auth, tools are discovered per caller.`,
      };
  }
}
