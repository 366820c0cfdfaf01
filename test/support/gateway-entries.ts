// A gateway entry as the reconciler writes it, for the suites that hand a data plane its store directly:
// server `name` of tenant and account `default` at `upstreamUrl`, the transport found by probing, no
// headers, nothing disabled or overridden, no collaborators (only admins may call it), generation 1.
// `extra` replaces any of that.
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';

/** The collaborators that let every authenticated caller use a server. */
export const EVERYONE_MAY_USE: GatewayEntry['collaborators'] = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

export function gatewayEntry(name: string, upstreamUrl: string, extra: Partial<GatewayEntry> = {}): GatewayEntry {
  return {
    fqn: `default:mcp-server:${name}`,
    tenant: 'default',
    name,
    resourceId: `id-${name}`,
    accountId: 'default',
    upstreamUrl,
    transport: null,
    headers: {},
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    disabledTools: [],
    toolOverrides: {},
    collaborators: [],
    generation: 1,
    ...extra,
  };
}
