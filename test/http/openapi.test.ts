// /openapi.json: a structurally valid OpenAPI 3.1 document that describes exactly the routes the app
// mounts, with the schemas of schemas/*.json embedded as they are and answers that match its schemas.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { SCHEMAS_DIR } from '../../src/manifest/index.js';
import { buildOpenApiDocument, createRouteMatcher, ROUTES } from '../../src/http/openapi.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface ListedRoute {
  path: string | RegExp;
  methods?: string[];
  router?: { listRoutes(): ListedRoute[] };
}

/** Every route the express app mounts, as "METHOD /openapi/{template}" ('*' for router.all). */
function mountedRoutes(router: { listRoutes(): ListedRoute[] }, prefix = ''): string[] {
  const out: string[] = [];
  for (const r of router.listRoutes()) {
    const path = `${prefix}${String(r.path) === '/' ? '' : String(r.path)}`.replace(/:(\w+)/g, '{$1}');
    if (r.router) out.push(...mountedRoutes(r.router, path));
    else for (const m of r.methods ?? []) if (m !== 'HEAD') out.push(`${m === '*' ? '*' : m.toLowerCase()} ${path || '/'}`);
  }
  return out;
}

function resolvePointer(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((ajvFormats as unknown as { default?: FormatsPlugin }).default ?? (ajvFormats as unknown as FormatsPlugin)) as FormatsPlugin;

/** An ajv that resolves #/components/... against the document, to validate values against its schemas. */
function validatorFor(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'https://openapi.test/doc', components: doc.components }, 'doc');
  return (component: string, value: unknown) => {
    const validate = ajv.getSchema(`https://openapi.test/doc#/components/schemas/${component}`)!;
    const ok = validate(value);
    return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await upstream.close();
});

describe('GET /openapi.json', () => {
  let cp: TestControlPlane;
  let doc: Doc;
  beforeAll(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    const res = await cp.api('/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = res.json;
  });
  afterAll(async () => {
    await cp.dispose();
  });

  it('is an OpenAPI 3.1 document with a valid structure', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'mcp-control-plane', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    const operationIds = new Set<string>();
    const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      expect(path).toMatch(/^\//);
      const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries<Doc>(item)) {
        expect(METHODS).toContain(method);
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/);
        expect(operationIds.has(op.operationId)).toBe(false);
        operationIds.add(op.operationId);
        expect(op.summary).toEqual(expect.any(String));
        for (const t of op.tags) expect(tags.has(t)).toBe(true);
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const [code, response] of Object.entries<Doc>(op.responses)) {
          expect(code).toMatch(/^[1-5]\d\d$/);
          expect(response.description).toEqual(expect.any(String));
        }
        const declared = (op.parameters ?? []).filter((p: Doc) => p.in === 'path').map((p: Doc) => p.name);
        expect(declared.sort()).toEqual([...params].sort());
        for (const p of op.parameters ?? []) {
          expect(['path', 'query', 'header']).toContain(p.in);
          expect(p.schema).toBeDefined();
          if (p.in === 'path') expect(p.required).toBe(true);
        }
        for (const s of op.security) for (const name of Object.keys(s)) expect(doc.components.securitySchemes[name]).toBeDefined();
      }
    }
    // Every reference resolves inside the document.
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect([ref, resolvePointer(doc, ref) !== undefined]).toEqual([ref, true]);
    // Component schemas compile as JSON Schema 2020-12 (the OpenAPI 3.1 dialect).
    const validate = validatorFor(doc);
    for (const name of Object.keys(doc.components.schemas)) expect(validate(name, undefined)).toBeDefined();
  });

  it('documents every route the app mounts, and nothing it does not', () => {
    const mounted = mountedRoutes((cp.app as unknown as { router: { listRoutes(): ListedRoute[] } }).router);
    expect(mounted.length).toBeGreaterThan(10);
    const documented = Object.entries<Doc>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    const documentedPaths = new Set(Object.keys(doc.paths));
    const missing = mounted.filter((r) => (r.startsWith('* ') ? !documentedPaths.has(r.slice(2)) : !documented.includes(r)));
    expect(missing).toEqual([]);
    const mountedPaths = new Set(mounted.map((r) => r.split(' ')[1]));
    const extra = documented.filter((r) => !mounted.includes(r) && !mounted.includes(`* ${r.split(' ')[1]}`) && !mountedPaths.has(r.split(' ')[1]));
    expect(extra).toEqual([]);
    for (const r of mounted.filter((x) => !x.startsWith('* '))) expect(documented).toContain(r);
  });

  it('embeds every schema of schemas/ as it is, so the document validates what the API validates', () => {
    const files = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8'));
      const component = doc.components.schemas[schema.title];
      expect(component).toBeDefined();
      expect(component['x-schema-file']).toBe(`schemas/${file}`);
      expect(component.description).toBe(schema.description);
      for (const def of Object.keys(schema.$defs ?? {})) expect(doc.components.schemas[`${schema.title}.${def}`]).toBeDefined();
    }
    // Every manifest kind is one of the manifests an answer may carry.
    expect(doc.components.schemas.McpServerManifest.oneOf).toContainEqual({ $ref: '#/components/schemas/RemoteMcpServerManifest' });
    expect(doc.components.schemas.McpServerManifest.oneOf).not.toContainEqual({ $ref: '#/components/schemas/ApplyRequest' });
    const validate = validatorFor(doc);
    const good = remoteManifest({ url: upstream.url });
    expect(validate('RemoteMcpServerManifest', good)).toEqual([]);
    expect(validate('RemoteMcpServerManifest', { ...good, name: 'Not A DNS Label' }).length).toBeGreaterThan(0);
    expect(validate('RemoteMcpServerManifest', { ...good, url: 'ftp://x' }).length).toBeGreaterThan(0);
    expect(validate('ApplyRequest', { manifest: good, dryRun: true })).toEqual([]);
    expect(validate('ApplyRequest', { manifest: good, bogus: 1 }).length).toBeGreaterThan(0);
  });

  it('describes what the API answers: real answers validate against the documented schemas', async () => {
    const validate = validatorFor(doc);
    const put = await cp.api('/api/svc/v1/mcp-servers', {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'documented', url: upstream.url, auth_data: { type: 'header', headers: { 'X-Api-Key': 'secret-value-123' } } }) },
    });
    expect(validate('ApplyResponse', put.json)).toEqual([]);
    await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers/name/documented')).json.data.tools.length === 2, { what: 'tools discovered' });
    const one = await cp.api('/api/svc/v1/mcp-servers/name/documented');
    expect(validate('McpServerOne', one.json)).toEqual([]);
    expect(validate('McpServerList', (await cp.api('/api/svc/v1/mcp-servers')).json)).toEqual([]);
    expect(validate('EventList', (await cp.api(`/api/svc/v1/mcp-servers/${one.json.data.id}/events`)).json)).toEqual([]);
    expect(validate('EventList', (await cp.api('/api/svc/v1/events')).json)).toEqual([]);
    expect(validate('SourceList', (await cp.api('/api/svc/v1/sources')).json)).toEqual([]);
    expect(validate('GatewayEntryList', (await cp.api('/api/svc/v1/gateway/servers')).json)).toEqual([]);
    expect(validate('Error', (await cp.api('/api/svc/v1/mcp-servers/name/nope')).json)).toEqual([]);
    expect(validate('Health', (await cp.api('/healthz', { token: null })).json)).toEqual([]);
    expect(validate('Readiness', (await cp.api('/readyz', { token: null })).json)).toEqual([]);
  });

  it('marks public routes public, and /metrics by --metrics-public', () => {
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/api/svc/v1/mcp-servers'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/metrics'].get.security).toEqual([{ bearer: [] }]);
    expect(buildOpenApiDocument({ metricsPublic: true }).paths).toMatchObject({ '/metrics': { get: { security: [] } } });
    expect(doc.paths['/api/svc/v1/mcp-servers'].get.responses['200'].content['text/event-stream'].schema).toEqual({ $ref: '#/components/schemas/WatchEvent' });
  });

  it('names the route of a request path for metrics, literal segments first', () => {
    const routeOf = createRouteMatcher(ROUTES);
    expect(routeOf('/api/svc/v1/mcp-servers')).toBe('/api/svc/v1/mcp-servers');
    expect(routeOf('/api/svc/v1/mcp-servers/name/x')).toBe('/api/svc/v1/mcp-servers/name/{name}');
    expect(routeOf('/api/svc/v1/mcp-servers/abc-123')).toBe('/api/svc/v1/mcp-servers/{id}');
    expect(routeOf('/api/svc/v1/mcp-servers/abc/events')).toBe('/api/svc/v1/mcp-servers/{id}/events');
    expect(routeOf('/nope')).toBeUndefined();
  });
});
