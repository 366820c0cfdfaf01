// Helpers for the GAIA-style API tests: requests to /api/mcp/servers and a non-admin token.
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import type { Principal } from '../../src/domain/principal.js';
import { waitFor, type ApiInit, type ApiResponse, type TestControlPlane } from '../support/control-plane.js';

export const GAIA = '/api/mcp/servers';
export const SERVERS = '/api/svc/v1/mcp-servers';

export function gaia(cp: TestControlPlane, path = '', init: ApiInit = {}): Promise<ApiResponse> {
  return cp.api(`${GAIA}${path}`, init);
}

/** POST a create body; fails the test unless it answered 201. */
export async function createServer(cp: TestControlPlane, body: Record<string, unknown>): Promise<string> {
  const res = await gaia(cp, '', { method: 'POST', body });
  if (res.status !== 201) throw new Error(`POST ${GAIA} answered ${res.status}: ${res.text}`);
  return res.json.serverId as string;
}

/** Waits until the GAIA view of a server says status (ready | error) for its current generation. */
export function waitForGaiaStatus(cp: TestControlPlane, id: string, status: 'ready' | 'error', timeoutMs = 8000) {
  return waitFor(
    async () => {
      const res = await gaia(cp, `/${id}`);
      return res.status === 200 && res.json.server.status === status ? res.json.server : undefined;
    },
    { what: `server ${id} status ${status}`, timeoutMs },
  );
}

export const EDITOR_TOKEN = 'test-editor-token-0123456789abcdef';

/** An editor who belongs to project proj-a only. */
export function editorAuthenticator(): StaticTokenAuthenticator {
  const principal: Principal = {
    subject: { subjectId: 'user:erin@example.com', subjectType: 'user', subjectSlug: 'erin@example.com', subjectDisplayName: 'Erin' },
    role: 'editor',
    teams: [],
    accounts: ['proj-a'],
  };
  return new StaticTokenAuthenticator(EDITOR_TOKEN, principal);
}

/** Posts an MCP initialize to the gateway at /mcp/<name>. */
export function initializeThroughGateway(cp: TestControlPlane, name: string): Promise<ApiResponse> {
  return cp.api(`/mcp/${name}`, {
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream' },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gaia-test', version: '1.0.0' } },
    },
  });
}
