// mcp-server/openapi end to end: the public Petstore 3.0 document (a fixture) served by a REST server
// written for the test, registered through the real API, its operations turned into tools and called
// through the gateway with the SDK's own client; errors mapped; the credential never shown.
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { connectClient, GATEWAY_TEST_ARGS, type GatewayClient } from '../gateway/gateway-support.js';
import { PETSTORE_YAML, startPetstoreServer, type PetstoreServer } from './petstore-server.js';

const CANARY = 'canary-api-key-7f3e9a1b5c2d4e6f';

let cp: TestControlPlane;
let store: PetstoreServer;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS });
  store = await startPetstoreServer();
});
afterAll(async () => {
  await cp.dispose();
  await store.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
});

function petstoreManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'mcp-server/openapi',
    name: 'petstore',
    description: 'The Petstore API as tools',
    url: store.baseUrl,
    openapi_spec_source: { type: 'remote', url: store.specUrl },
    auth_data: { type: 'header', headers: { api_key: CANARY } },
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    ...overrides,
  };
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
}

/** PUTs the manifest and waits until discovery of its generation has finished; answers the server's view. */
async function apply(manifest: Record<string, unknown>) {
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest } });
  if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${res.text}`);
  const { name, generation } = res.json.data as { name: string; generation: number };
  return waitFor(
    async () => {
      const view = (await cp.api(`/api/svc/v1/mcp-servers/name/${name}`)).json.data;
      const discovered = (view.status.conditions as Condition[]).find((c) => c.type === 'Discovered');
      return discovered && discovered.observedGeneration === generation && discovered.reason !== 'Discovering' ? view : undefined;
    },
    { what: `discovery of ${name} at generation ${generation}` },
  );
}

const condition = (view: { status: { conditions: Condition[] } }, type: string) => view.status.conditions.find((c) => c.type === type)!;

async function connect(name: string): Promise<GatewayClient> {
  const c = await connectClient(cp, name);
  clients.push(c);
  return c;
}

const textOf = (result: unknown) => ((result as { content: { type: string; text: string }[] }).content[0]!.text);

describe('the Petstore 3.0 document, every operation', () => {
  it('is Ready with one tool per operation, named by operationId, and the document hash in status', async () => {
    const view = await apply(petstoreManifest());
    expect(condition(view, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(condition(view, 'Discovered').message).toMatch(/^Found 19 tools in the OpenAPI 3\.0\.2 document \(sha256 [0-9a-f]{12}\)\.$/);
    const names = (view.tools as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['addPet', 'updatePet', 'findPetsByStatus', 'getPetById', 'deletePet', 'uploadFile', 'getInventory', 'placeOrder', 'loginUser', 'getUserByName']),
    );
    expect(names).toHaveLength(19);
    const getPet = (view.tools as { name: string; description: string; inputSchema: Record<string, unknown>; annotations: unknown }[]).find((t) => t.name === 'getPetById')!;
    expect(getPet.description).toBe('Find pet by ID\n\nReturns a single pet');
    expect(getPet.inputSchema).toEqual({
      type: 'object',
      properties: { petId: { type: 'integer', format: 'int64', description: 'ID of pet to return' } },
      required: ['petId'],
    });
    expect(getPet.annotations).toEqual({ readOnlyHint: true });
    // The body of addPet is the dereferenced Pet schema (no $ref left, no XML mapping).
    const addPet = (view.tools as { name: string; inputSchema: { properties: { body: Record<string, unknown> }; required: string[] } }[]).find((t) => t.name === 'addPet')!;
    expect(addPet.inputSchema.required).toEqual(['body']);
    expect(addPet.inputSchema.properties.body).toMatchObject({ type: 'object', required: ['name', 'photoUrls'], properties: { category: { type: 'object', properties: { name: { type: 'string' } } } } });
    expect(JSON.stringify(addPet.inputSchema)).not.toMatch(/\$ref|"xml"/);
    expect(view.metadata.detected_transport).toBe('openapi');
    // The document was fetched with the manifest's header: its URL has the API's origin.
    expect(store.requests.find((r) => r.url === '/api/v3/openapi.yaml')?.headers.api_key).toBe(CANARY);
  });

  it('serves the tools through the gateway to the SDK client, and a call is one HTTP request to the API', async () => {
    await apply(petstoreManifest());
    const { client } = await connect('petstore');
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(19);

    const before = store.requests.length;
    const found = await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
    expect(found.isError).toBeFalsy();
    // JSON answers pretty-printed.
    expect(textOf(found)).toBe(JSON.stringify({ id: 1, name: 'doggie', photoUrls: [], status: 'available', tags: [{ id: 1, name: 'good' }] }, null, 2));
    const seen = store.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v3/pet/1' });
    expect(seen[0]!.headers.api_key).toBe(CANARY);
    // Nothing of the client's own request travels: its token and cookie stay at the gateway.
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.headers.cookie).toBeUndefined();

    // Query (an enum), and an array exploded into repeated keys.
    expect(JSON.parse(textOf(await client.callTool({ name: 'findPetsByStatus', arguments: { status: 'sold' } })))).toEqual([{ id: 2, name: 'kitty', photoUrls: [], status: 'sold' }]);
    await client.callTool({ name: 'findPetsByTags', arguments: { tags: ['good', 'bad'] } });
    expect(store.requests.at(-1)!.url).toBe('/api/v3/pet/findByTags?tags=good&tags=bad');

    // A JSON body.
    const added = await client.callTool({ name: 'addPet', arguments: { body: { id: 7, name: 'rex', photoUrls: ['http://x/rex.png'], status: 'pending' } } });
    expect(added.isError).toBeFalsy();
    expect(store.requests.at(-1)).toMatchObject({ method: 'POST', url: '/api/v3/pet', body: { id: 7, name: 'rex', photoUrls: ['http://x/rex.png'], status: 'pending' } });
    expect(store.requests.at(-1)!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(textOf(await client.callTool({ name: 'getPetById', arguments: { petId: 7 } })))).toMatchObject({ name: 'rex' });

    // Path parameters are escaped: an argument cannot add segments or a query.
    await client.callTool({ name: 'getUserByName', arguments: { username: 'a/b?c=d#e' } });
    expect(store.requests.at(-1)!.url).toBe('/api/v3/user/a%2Fb%3Fc%3Dd%23e');
    const dots = await client.callTool({ name: 'getUserByName', arguments: { username: '..' } });
    expect(dots.isError).toBe(true);
    expect(store.requests.at(-1)!.url).toBe('/api/v3/user/a%2Fb%3Fc%3Dd%23e');
  });

  it('maps 4xx and 5xx answers to isError results with the status, and refuses calls missing a required argument without a request', async () => {
    await apply(petstoreManifest());
    const { client } = await connect('petstore');
    const missingPet = await client.callTool({ name: 'getPetById', arguments: { petId: 999 } });
    expect(missingPet.isError).toBe(true);
    expect(textOf(missingPet)).toBe(`HTTP 404 Not Found\n\n${JSON.stringify({ code: 1, type: 'error', message: 'Pet not found' }, null, 2)}`);
    const invalid = await client.callTool({ name: 'addPet', arguments: { body: { id: 8 } } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/^HTTP 405 /);
    const serverError = await client.callTool({ name: 'getUserByName', arguments: { username: 'nobody' } });
    expect(serverError.isError).toBe(true);
    expect(textOf(serverError)).toMatch(/^HTTP 500 Internal Server Error\n\n/);

    const before = store.requests.length;
    const missing = await client.callTool({ name: 'getPetById', arguments: {} });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toBe('Missing required argument: petId.');
    expect(store.requests.length).toBe(before);
  });

  it('never shows the auth_data secret: not in status, events, the gateway view, nor a tool result of an API that echoes it', async () => {
    await apply(petstoreManifest());
    const { client } = await connect('petstore');
    // deletePet has a header parameter named like the manifest's auth header: the manifest's value wins.
    await client.callTool({ name: 'deletePet', arguments: { petId: 2, api_key: 'caller-chosen' } });
    expect(store.requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/v3/pet/2' });
    expect(store.requests.at(-1)!.headers.api_key).toBe(CANARY);

    const echoed = await client.callTool({ name: 'loginUser', arguments: { username: 'u', password: 'p' } });
    expect(store.requests.at(-1)!.url).toBe('/api/v3/user/login?username=u&password=p');
    expect(textOf(echoed)).toContain('logged in user session');
    expect(textOf(echoed)).toContain('[redacted]');

    const reads = await Promise.all(
      ['/api/svc/v1/mcp-servers/name/petstore', '/api/svc/v1/mcp-servers', '/api/svc/v1/mcp-servers/name/petstore/events', '/api/svc/v1/gateway/servers'].map((path) => cp.api(path)),
    );
    for (const read of reads) expect(read.status).toBe(200);
    expect(reads[2]!.json.data.map((e: { reason: string }) => e.reason)).toContain('Applied');
    expect(reads[3]!.text).toContain('"getPetById"');
    const answers = [textOf(echoed), JSON.stringify((await client.listTools()).tools), ...reads.map((r) => r.text)];
    for (const text of answers) expect(text).not.toContain(CANARY);
  });
});

describe('the operations selected in tool_settings', () => {
  it('serves only those, with the names, descriptions and annotations the manifest gives; an unknown operation is a warning', async () => {
    const view = await apply(
      petstoreManifest({
        name: 'petstore-selected',
        enable_all_tools: false,
        tool_settings: [
          { method: 'get', path: '/pet/{petId}', name: 'fetch_pet', description: 'Fetch one pet', annotations: { readOnlyHint: true, openWorldHint: false } },
          { method: 'get', path: '/store/inventory' },
          { method: 'get', path: '/pets/nowhere' },
        ],
      }),
    );
    expect((view.tools as { name: string }[]).map((t) => t.name).sort()).toEqual(['fetch_pet', 'getInventory']);
    expect(condition(view, 'Ready').status).toBe('True');
    expect(condition(view, 'Discovered')).toMatchObject({ status: 'True', reason: 'UnknownTool' });
    expect(condition(view, 'Discovered').message).toContain('get /pets/nowhere');

    const { client } = await connect('petstore-selected');
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'fetch_pet')).toMatchObject({ description: 'Fetch one pet', annotations: { readOnlyHint: true, openWorldHint: false } });
    expect(JSON.parse(textOf(await client.callTool({ name: 'fetch_pet', arguments: { petId: 1 } })))).toMatchObject({ name: 'doggie' });
    const other = await client.callTool({ name: 'addPet', arguments: { body: { name: 'x', photoUrls: [] } } });
    expect(other.isError).toBe(true);
  });
});

describe('a remote document that changes', () => {
  afterEach(() => store.setSpec(PETSTORE_YAML));

  it('updates the tools at the next discovery, and open sessions hear tools/list_changed', async () => {
    const view = await apply(petstoreManifest({ name: 'petstore-live' }));
    const hashBefore = /sha256 ([0-9a-f]{12})/.exec(condition(view, 'Discovered').message)![1];
    const { client } = await connect('petstore-live');
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    // Start the GET stream that carries the notification.
    expect((await client.listTools()).tools).toHaveLength(19);

    store.setSpec(PETSTORE_YAML.replace('operationId: getInventory', 'operationId: getStockLevels'));
    const refreshed = await cp.api('/api/svc/v1/mcp-servers/name/petstore-live/refresh', { method: 'POST' });
    expect(refreshed.status).toBe(200);
    const after = await waitFor(async () => {
      const v = (await cp.api('/api/svc/v1/mcp-servers/name/petstore-live')).json.data;
      return (v.tools as { name: string }[]).some((t) => t.name === 'getStockLevels') ? v : undefined;
    });
    expect(/sha256 ([0-9a-f]{12})/.exec(condition(after, 'Discovered').message)![1]).not.toBe(hashBefore);
    await waitFor(() => changed > 0, { what: 'notifications/tools/list_changed' });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('getStockLevels');
    expect(names).not.toContain('getInventory');
    expect(JSON.parse(textOf(await client.callTool({ name: 'getStockLevels', arguments: {} })))).toEqual({ available: 1, sold: 1 });
  });
});
