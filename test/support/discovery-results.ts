// A successful discovery of a server with no tools and no authentication, for tests of the discovery manager.
import type { DiscoveryResult } from '../../src/discovery/index.js';

export const OK: DiscoveryResult = {
  ok: true,
  transport: 'streamable-http',
  serverInfo: { name: 's', version: '1' },
  capabilities: {},
  tools: [],
  authStatus: { status: 'authentication_not_required', method: null, message: '' },
};
