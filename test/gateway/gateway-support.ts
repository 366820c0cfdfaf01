// Shared by the gateway tests: token subjects, an SDK client through /mcp/<name>, and registering a
// server through the real API and waiting until the gateway store holds that generation.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { ADMIN_TOKEN, remoteManifest, waitFor, type TestControlPlane } from '../support/control-plane.js';
import type { ToolDef } from '../support/mcp-servers.js';
import { userPrincipal } from '../support/principals.js';

export const ALICE_TOKEN = 'alice-token-5b1f0e9a3c7d2e4f';
export const BOB_TOKEN = 'bob-token-8c2a6d4e1f3b5a7c';
/** A collaborator of the servers the tests share with her. */
export const ALICE = userPrincipal('alice@example.com', 'viewer');
/** Nobody's collaborator. */
export const BOB = userPrincipal('bob@example.com', 'viewer');

export const testAuthenticators = () => [new StaticTokenAuthenticator(ALICE_TOKEN, ALICE), new StaticTokenAuthenticator(BOB_TOKEN, BOB)];

/** echo has an outputSchema (so it answers structuredContent) and annotations to override. */
export const GATEWAY_TOOLS: ToolDef[] = [
  {
    name: 'echo',
    description: 'Echoes its arguments.',
    inputSchema: { type: 'object', properties: { text: { type: 'string' }, count: { type: 'number' } } },
    outputSchema: { type: 'object', properties: { tool: { type: 'string' }, arguments: { type: 'object' } }, required: ['tool', 'arguments'] },
    annotations: { title: 'Echo', destructiveHint: true },
  },
  { name: 'secret-admin', description: 'Must never be reachable through the gateway.' },
  { name: 'plain', description: 'Upstream description.' },
];

export interface GatewayClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

/** A real SDK client on <cp>/mcp/<name>, sending a cookie too (which must never reach the upstream). */
export async function connectClient(cp: TestControlPlane, name: string, token: string = ADMIN_TOKEN): Promise<GatewayClient> {
  const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), {
    requestInit: { headers: { Authorization: `Bearer ${token}`, Cookie: 'sid=client-cookie-value' } },
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  const client = new Client({ name: 'gateway-test-client', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => undefined;
  await client.connect(transport);
  return { client, transport };
}

/** Control plane flags for gateway tests: no resync, and a failed discovery is not retried during a test. */
export const GATEWAY_TEST_ARGS = ['--resync-interval', '0', '--discovery-retry-base', '10m', '--discovery-retry-max', '10m'];

/**
 * PUTs the manifest and waits until the gateway store holds its generation and discovery of it has
 * finished, so that every later request the upstream records came through the gateway.
 */
export async function putServer(cp: TestControlPlane, manifest: Record<string, unknown>): Promise<void> {
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest(manifest) } });
  if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${res.text}`);
  const { fqn, name, generation } = res.json.data as { fqn: string; name: string; generation: number };
  await waitFor(async () => (await cp.gateway.get(fqn))?.generation === generation, { what: `${fqn} at generation ${generation} in the gateway store` });
  await waitFor(
    async () => {
      const conditions = (await cp.api(`/api/svc/v1/mcp-servers/name/${name}`)).json.data.status.conditions as { type: string; reason: string; observedGeneration: number }[];
      const discovered = conditions.find((c) => c.type === 'Discovered');
      return discovered && discovered.observedGeneration === generation && discovered.reason !== 'Discovering';
    },
    { what: `discovery of ${fqn} at generation ${generation} to finish` },
  );
}

/** The value of a counter or gauge with exactly these labels (0 when absent). */
export async function metricValue(cp: TestControlPlane, name: string, labels: Record<string, string>): Promise<number> {
  const metric = cp.metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}

/** The `error` of a JSON error answer ({ error: { code, message } }). */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}
