// An mcp-server/openapi server as a source of an mcp-server/virtual server: its tools (as made from the
// document, tool_settings applied) join the union, and a call through the virtual server is one HTTP
// request to the API, as through the OpenAPI server itself.
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { connectClient, GATEWAY_TEST_ARGS, type GatewayClient } from '../gateway/gateway-support.js';
import { startPetstoreServer, type PetstoreServer } from './petstore-server.js';

let cp: TestControlPlane;
let store: PetstoreServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS });
  store = await startPetstoreServer();
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await cp.dispose();
  await store.close();
});

const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

async function applyReady(manifest: Record<string, unknown>) {
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest } });
  expect(res.status).toBe(200);
  const generation = res.json.data.generation as number;
  return waitFor(
    async () => {
      const data = (await cp.api(`/api/svc/v1/mcp-servers/name/${String(manifest.name)}`)).json.data;
      const ready = (data.status.conditions as { type: string; status: string; observedGeneration: number }[]).find((c) => c.type === 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === generation ? data : undefined;
    },
    { what: `${String(manifest.name)} Ready` },
  );
}

it('serves the OpenAPI tools it enables through the virtual server', async () => {
  await applyReady({
    type: 'mcp-server/openapi',
    name: 'petstore',
    description: 'Petstore',
    url: store.baseUrl,
    openapi_spec_source: { type: 'remote', url: store.specUrl },
    tool_settings: [{ method: 'get', path: '/pet/{petId}', name: 'get_pet', description: 'One pet' }],
    collaborators: everyone,
  });
  const virtual = await applyReady({
    type: 'mcp-server/virtual',
    name: 'pet-agent',
    description: 'What the pet agent may use',
    servers: [{ name: 'petstore', enabled_tools: ['get_pet', 'getInventory'] }],
    collaborators: everyone,
  });
  expect((virtual.tools as { name: string }[]).map((t) => t.name).sort()).toEqual(['getInventory', 'get_pet']);

  const c = await connectClient(cp, 'pet-agent');
  clients.push(c);
  const { tools } = await c.client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['getInventory', 'get_pet']);
  expect(tools.find((t) => t.name === 'get_pet')?.description).toBe('One pet');
  const pet = await c.client.callTool({ name: 'get_pet', arguments: { petId: 1 } });
  expect(JSON.parse((pet.content as { text: string }[])[0]!.text)).toMatchObject({ id: 1, name: 'doggie' });
  expect(store.requests.at(-1)).toMatchObject({ method: 'GET', url: '/api/v3/pet/1' });
});
