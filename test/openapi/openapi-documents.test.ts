// Reading an OpenAPI document for discovery (src/openapi): real documents over real HTTP on loopback and
// inline ones. Whatever comes (a $ref cycle, 5 MB, not OpenAPI at all, a $ref to a host the egress policy
// denies, to a local file, a schema that grows exponentially once dereferenced, a server that never
// answers), the answer is a failure with a PascalCase reason and a sentence, never a throw or a hang.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressPolicy } from '../../src/upstream/egress.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../../src/upstream/response-limits.js';
import type { OpenApiSpecSource } from '../../src/domain/manifest.js';
import { discoverOpenApi, type OpenApiDiscovery, type OpenApiDiscoveryInput } from '../../src/openapi/discover-openapi.js';
import { MAX_ALL_OPERATIONS } from '../../src/openapi/tool-generation.js';
import { PETSTORE_YAML } from './petstore-server.js';

interface Served {
  origin: string;
  hits: string[];
  /** Path → [content type, body]; absent: 404. A body of null: never answered; content type 'redirect': a 302 to the body. */
  routes: Map<string, [string, string | Buffer | null]>;
  close(): Promise<void>;
}

async function serve(host: string): Promise<Served> {
  const hits: string[] = [];
  const routes = new Map<string, [string, string | Buffer | null]>();
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes.get(req.url ?? '');
    if (!route) return void res.writeHead(404).end('no');
    if (route[1] === null) return; // hangs
    if (route[0] === 'redirect') return void res.writeHead(302, { location: String(route[1]) }).end();
    res.writeHead(200, { 'content-type': route[0] }).end(route[1]);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    origin: `http://${host}:${(server.address() as AddressInfo).port}`,
    hits,
    routes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let api: Served;
let denied: Served;
beforeAll(async () => {
  api = await serve('127.0.0.1');
  // 127.0.0.2 is loopback too: the "denied host" of these tests.
  denied = await serve('127.0.0.2');
});
afterAll(async () => {
  await Promise.all([api.close(), denied.close()]);
});

const egress = new EgressPolicy({ deny: ['127.0.0.2/32'] });

function discover(source: OpenApiSpecSource, extra: Partial<OpenApiDiscoveryInput> = {}): Promise<OpenApiDiscovery> {
  return discoverOpenApi(
    {
      source,
      apiUrl: `${api.origin}/api`,
      headers: {},
      tls: { rejectUnauthorized: true },
      timeoutMs: 30_000,
      enableAllTools: true,
      toolSettings: [],
      authConfigured: 'none',
      ...extra,
    },
    { egress, maxBytes: DEFAULT_UPSTREAM_LIMITS.maxMessageBytes },
  );
}

const inline = (openapi_spec: Record<string, unknown> | string): OpenApiSpecSource => ({ type: 'inline', openapi_spec });

function doc(paths: Record<string, unknown>, components: Record<string, unknown> = {}, openapi = '3.0.3'): Record<string, unknown> {
  return { openapi, info: { title: 'T', version: '1' }, paths, components };
}

const ok200 = (schemaRef: string) => ({ responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: schemaRef } } } } } });

function failure(d: OpenApiDiscovery) {
  expect(d.result.ok).toBe(false);
  return d.result as { reason: string; message: string };
}

it('reads a document as an object, as JSON text and as YAML text alike, 3.0 and 3.1', async () => {
  const object = doc({ '/things/{id}': { get: { operationId: 'getThing', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'ok' } } } } });
  for (const source of [inline(object), inline(JSON.stringify(object)), inline(PETSTORE_YAML), inline({ ...object, openapi: '3.1.0' })]) {
    const d = await discover(source);
    expect(d.result).toMatchObject({ ok: true, transport: 'openapi' });
    expect(d.catalog!.operations.length).toBeGreaterThan(0);
    expect(d.catalog!.specHash).toMatch(/^[0-9a-f]{64}$/);
  }
  // The manifest's object is not touched (swagger-parser dereferences in place: it works on a copy).
  const withRef = doc({ '/a': { get: ok200('#/components/schemas/A') } }, { schemas: { A: { type: 'string' } } });
  await discover(inline(withRef));
  expect((withRef.paths as Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>)['/a']!.get.responses['200']!.content['application/json']!.schema).toEqual({
    $ref: '#/components/schemas/A',
  });
});

it('refuses a $ref cycle: CircularReference', async () => {
  const cyclic = doc({ '/nodes': { get: ok200('#/components/schemas/Node') } }, { schemas: { Node: { type: 'object', properties: { next: { $ref: '#/components/schemas/Node' } } } } });
  const f = failure(await discover(inline(cyclic)));
  expect(f.reason).toBe('CircularReference');
  expect(f.message).toMatch(/circular \$refs/);
});

it('refuses a 5 MB document without reading it all: ResponseTooLarge, naming the flag', async () => {
  const big = `openapi: 3.0.3\ninfo: {title: big, version: '1'}\npaths: {}\nx-padding: "${'x'.repeat(5 * 1024 * 1024)}"\n`;
  api.routes.set('/big.yaml', ['application/yaml', big]);
  const f = failure(await discover({ type: 'remote', url: `${api.origin}/big.yaml` }));
  expect(f.reason).toBe('ResponseTooLarge');
  expect(f.message).toContain(`larger than ${DEFAULT_UPSTREAM_LIMITS.maxMessageBytes} bytes`);
  expect(f.message).toContain('--upstream-max-message-bytes');
});

it('refuses what is not OpenAPI 3: another JSON object, an HTML page, broken YAML, Swagger 2.0, an invalid document', async () => {
  api.routes.set('/page.html', ['text/html', '<html><body><h1>Welcome</h1></body></html>']);
  api.routes.set('/broken.yaml', ['application/yaml', 'openapi: 3.0.3\ninfo: [unclosed\n']);
  const cases: [OpenApiSpecSource, RegExp][] = [
    [inline({ hello: 'world' }), /is not an OpenAPI 3\.0 or 3\.1 document/],
    [{ type: 'remote', url: `${api.origin}/page.html` }, /not an OpenAPI 3\.0 or 3\.1 document|neither JSON nor YAML/],
    [{ type: 'remote', url: `${api.origin}/broken.yaml` }, /is neither JSON nor YAML/],
    [inline({ swagger: '2.0', info: { title: 'old', version: '1' }, paths: {} }), /Swagger 2\.0; the control plane serves OpenAPI 3\.0 and 3\.1/],
    [inline(doc({ '/x': { get: { responses: 'not an object' } } })), /is not valid/],
  ];
  for (const [source, message] of cases) {
    const f = failure(await discover(source));
    expect(f.reason).toBe('InvalidOpenApiDocument');
    expect(f.message).toMatch(message);
  }
  // A document that is not there.
  const missing = failure(await discover({ type: 'remote', url: `${api.origin}/nowhere.json` }));
  expect(missing).toMatchObject({ reason: 'SpecFetchFailed' });
  expect(missing.message).toContain('HTTP 404');
});

it('refuses a $ref to a host the egress policy denies, sending it nothing: EgressDenied', async () => {
  denied.routes.set('/schemas.json', ['application/json', JSON.stringify({ Node: { type: 'string' } })]);
  api.routes.set('/with-external.json', ['application/json', JSON.stringify(doc({ '/x': { get: ok200(`${denied.origin}/schemas.json#/Node`) } }))]);
  const f = failure(await discover({ type: 'remote', url: `${api.origin}/with-external.json` }));
  expect(f.reason).toBe('EgressDenied');
  expect(f.message).toContain('127.0.0.2 is denied by the egress policy (127.0.0.2/32)');
  expect(denied.hits).toEqual([]);

  // The same document with the host allowed: its $ref is read through the same fetch.
  api.routes.set('/with-allowed.json', ['application/json', JSON.stringify(doc({ '/x': { get: ok200(`${api.origin}/schemas.json#/Node`) } }))]);
  api.routes.set('/schemas.json', ['application/json', JSON.stringify({ Node: { type: 'object', properties: { n: { type: 'integer' } } } })]);
  const d = await discover({ type: 'remote', url: `${api.origin}/with-allowed.json` });
  expect(d.result.ok).toBe(true);
});

it('never reads a local file, and an inline document refers only within itself', async () => {
  for (const ref of ['/etc/passwd', 'file:///etc/passwd', 'other.yaml#/X', `${api.origin}/schemas.json#/Node`]) {
    const f = failure(await discover(inline(doc({ '/x': { get: ok200(ref) } }))));
    expect(f.reason).toBe('InvalidOpenApiDocument');
    expect(f.message).not.toContain('root:');
  }
  const hits = api.hits.length;
  // A remote document's relative file reference is a URL of its server, read through the egress-checked fetch.
  api.routes.set('/relative.json', ['application/json', JSON.stringify(doc({ '/x': { get: ok200('/etc/passwd') } }))]);
  const f = failure(await discover({ type: 'remote', url: `${api.origin}/relative.json` }));
  expect(f.message).toContain(`${api.origin}/etc/passwd`);
  expect(api.hits.slice(hits)).toEqual(['/relative.json', '/etc/passwd']);
});

it(`serves at most ${MAX_ALL_OPERATIONS} operations with enable_all_tools; more are TooManyOperations until selected`, async () => {
  const paths = Object.fromEntries(Array.from({ length: MAX_ALL_OPERATIONS + 1 }, (_, i) => [`/op${i}`, { get: { responses: { '200': { description: 'ok' } } } }]));
  const f = failure(await discover(inline(doc(paths))));
  expect(f.reason).toBe('TooManyOperations');
  expect(f.message).toContain(`has ${MAX_ALL_OPERATIONS + 1} operations`);
  expect(f.message).toContain('set enable_all_tools: false and list the operations to serve in tool_settings');
  const selected = await discover(inline(doc(paths)), { enableAllTools: false, toolSettings: [{ method: 'get', path: '/op3' }, { method: 'get', path: '/op30', name: 'last' }] });
  expect(selected.catalog!.operations.map((o) => o.tool.name)).toEqual(['get_op3', 'last']);
});

it('bounds a schema that grows exponentially once its $refs are resolved: ToolSchemaTooLarge', async () => {
  // S0 uses S1 twice, S1 uses S2 twice, ...: 2^40 values dereferenced, a few hundred bytes written.
  const schemas: Record<string, unknown> = { S40: { type: 'string' } };
  for (let i = 0; i < 40; i++) schemas[`S${i}`] = { type: 'object', properties: { a: { $ref: `#/components/schemas/S${i + 1}` }, b: { $ref: `#/components/schemas/S${i + 1}` } } };
  const bomb = doc({ '/x': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/S0' } } } }, responses: { '200': { description: 'ok' } } } } }, { schemas });
  const f = failure(await discover(inline(bomb)));
  expect(f.reason).toBe('ToolSchemaTooLarge');
  expect(f.message).toContain('POST /x');
});

it('gives up on a server that does not answer within timeouts.request_ms: Timeout', async () => {
  api.routes.set('/hang.json', ['application/json', null]);
  const f = failure(await discover({ type: 'remote', url: `${api.origin}/hang.json` }, { requestTimeoutMs: 50 }));
  expect(f.reason).toBe('Timeout');
  expect(f.message).toContain('timeouts.request_ms');
});

it('never renames a tool the manifest names: two operations given one name are ToolNameConflict; generated names that collide are numbered', async () => {
  const ok = { responses: { '200': { description: 'ok' } } };
  const idParam = { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] };
  const paths = { '/items/{id}': { get: { ...ok, ...idParam } }, '/items/id': { get: ok }, '/other': { get: ok } };
  const generated = await discover(inline(doc(paths)));
  expect(generated.catalog!.operations.map((o) => o.tool.name).sort()).toEqual(['get_items_id', 'get_items_id_2', 'get_other']);

  // A given name wins over a generated one, which moves aside.
  const given = await discover(inline(doc(paths)), { toolSettings: [{ method: 'get', path: '/other', name: 'get_items_id' }] });
  expect(Object.fromEntries(given.catalog!.operations.map((o) => [`${o.method} ${o.path}`, o.tool.name]))).toEqual({
    'get /other': 'get_items_id',
    'get /items/{id}': 'get_items_id_2',
    'get /items/id': 'get_items_id_3',
  });

  const f = failure(await discover(inline(doc(paths)), { toolSettings: [{ method: 'get', path: '/other', name: 'same' }, { method: 'get', path: '/items/id', name: 'same' }] }));
  expect(f.reason).toBe('ToolNameConflict');
  expect(f.message).toMatch(/give the name "same" to both GET \/(other|items\/id) and GET \/(other|items\/id)/);
});

it("follows no redirect while the document's request carries the manifest's headers, and says so", async () => {
  const petstore = ['application/yaml', PETSTORE_YAML] as [string, string];
  api.routes.set('/api/moved.yaml', ['redirect', `${api.origin}/api/petstore.yaml`]);
  api.routes.set('/api/petstore.yaml', petstore);
  const source: OpenApiSpecSource = { type: 'remote', url: `${api.origin}/api/moved.yaml` };
  const f = failure(await discover(source, { headers: { 'X-Api-Key': 'redirect-secret-1234' } }));
  expect(f.reason).toBe('SpecFetchFailed');
  expect(f.message).toContain('answered with a redirect, which is not followed while it carries the manifest\'s headers');
  // Without headers to protect, a redirect is followed.
  expect((await discover(source)).result.ok).toBe(true);
});
