// GET /openapi.json: an OpenAPI 3.1 document of every route, built from ROUTES (one line per route) and
// the JSON Schemas in schemas/ (request bodies and the manifest, hoisted as they are; nothing here
// restates them) plus the response schemas of openapi-schemas.ts. A test checks that every route the
// app mounts is in ROUTES and the other way round. ROUTES also names routes for the HTTP metrics.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../manifest/index.js';
import { RESPONSE_SCHEMAS } from './openapi-schemas.js';

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
type Json = Record<string, unknown>;

const QUERY = {
  limit: { schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, description: 'Page size.' },
  offset: { schema: { type: 'integer', minimum: 0, default: 0 }, description: 'First item of the page.' },
  name: { schema: { type: 'string' }, description: 'Only the server with this name.' },
  tag: { schema: { type: 'string', pattern: '^[^:]+:.*$' }, description: 'Only servers with this tag, as key:value.' },
  watch: {
    schema: { type: 'boolean' },
    description:
      'true: answer a text/event-stream of WatchEvent instead of a page. Without resourceVersion it starts with every current server as ADDED ' +
      '(oldest resourceVersion first) and a BOOKMARK with initialEventsEnd, then streams changes (status changes are MODIFIED). ' +
      'A BOOKMARK with the latest resourceVersion comes every 30 s. Each event id is its resourceVersion. Only servers the caller may read.',
  },
  resourceVersion: {
    schema: { type: 'string', pattern: '^[0-9]+$' },
    description: 'With watch=true: replay every change after this resourceVersion, then stream. Too old (history is kept for at least 10,000 changes or one hour): 410.',
  },
  since: { schema: { type: 'string', format: 'date-time' }, description: 'Only events that last happened at or after this time.' },
  force: {
    schema: { type: 'boolean', default: false },
    description: 'true: delete a server that a file in a watched directory declares (409 without it), e.g. one whose file is gone while the prune is held back.',
  },
  projectId: { schema: { type: 'string' }, description: 'The project (account) whose servers to list; required.' },
} satisfies Record<string, { schema: Json; description: string }>;

const HEADERS = {
  'If-Match': { schema: { type: 'string' }, description: 'The ETag ("<resourceVersion>", moved by every write, status included) or the Generation-ETag ("gen-<generation>", moved only by spec changes) the change is based on; 412 when it is not the current one. "*": the server must exist.' },
  'Mcp-Session-Id': { schema: { type: 'string' }, description: 'The MCP session, from the answer to initialize.' },
  'Last-Event-ID': { schema: { type: 'string', pattern: '^[0-9]+$' }, description: 'With watch=true: resume after this event id (wins over resourceVersion).' },
} satisfies Record<string, { schema: Json; description: string }>;

const PATH_PARAMS: Record<string, string> = {
  id: 'The server id.',
  name: 'The server name.',
  serverId: 'The server id (the same id as /api/svc/v1/mcp-servers/{id}).',
  generation: 'The generation of the revision.',
};

export interface RouteDoc {
  method: Method;
  /** An OpenAPI path template: /api/svc/v1/mcp-servers/{id}. */
  path: string;
  summary: string;
  tag: string;
  /** bearer (default): a valid bearer token; admin: an admin's; public: none; metrics: admin bearer unless --metrics-public. */
  auth?: 'bearer' | 'admin' | 'public' | 'metrics';
  query?: (keyof typeof QUERY)[];
  headers?: (keyof typeof HEADERS)[];
  /** A component schema name (from schemas/*.json by its title, or openapi-schemas.ts). */
  body?: string;
  /** The success answer: a component name (JSON), or a media type for other content. */
  ok: string;
  /** The success status when not 200. */
  status?: number;
  /** Also answers a text/event-stream of this component (one per data: line). */
  stream?: string;
  /** Error statuses beyond the ones implied (401/403 by auth, 400/413/415 by a body, 404 by an {id}/{name}, 429 by a write). */
  errors?: number[];
  /** The component of error answers, when not Error. */
  errorBody?: string;
}

const S = '/api/svc/v1';
const G = '/api/mcp/servers';
const GAIA = { tag: 'gaia', errorBody: 'GaiaError', ok: 'GaiaAnswer' } as const;

/** Every route of the control plane. Adding a route: one line here (the route test fails until it is). */
export const ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/healthz', tag: 'operations', auth: 'public', ok: 'Health', summary: 'Liveness: the process is up.' },
  { method: 'get', path: '/readyz', tag: 'operations', auth: 'public', ok: 'Readiness', errors: [503], summary: 'Readiness of this replica: its store reachable and, on the leader, the reconciler running and the first directory sync done (503 with the reason until then).' },
  { method: 'get', path: '/metrics', tag: 'operations', auth: 'metrics', ok: 'text/plain', summary: 'Prometheus metrics (text exposition format).' },
  { method: 'get', path: '/openapi.json', tag: 'operations', auth: 'public', ok: 'application/json', summary: 'This document.' },
  { method: 'get', path: '/.well-known/jwks.json', tag: 'gateway', auth: 'public', ok: 'application/jwk-set+json', summary: 'The public keys (ES256) that verify the tokens the gateway sends passthrough upstreams for each caller.' },
  { method: 'post', path: '/register', tag: 'gateway', auth: 'public', ok: 'Error', status: 403, summary: 'Refuses OAuth client registration (RFC 7591): the gateway signs nobody in; the answer says whether the bearer token sent was missing or not valid.' },
  { method: 'get', path: '/authorize', tag: 'gateway', auth: 'public', ok: 'Error', status: 403, summary: 'Refuses an OAuth authorization request: the gateway takes bearer tokens its administrators issue.' },
  { method: 'post', path: '/token', tag: 'gateway', auth: 'public', ok: 'Error', status: 403, summary: 'Refuses an OAuth token request: the gateway takes bearer tokens its administrators issue.' },
  { method: 'get', path: '/', tag: 'status page', auth: 'public', ok: 'text/plain', status: 302, summary: 'Redirects to the status page.' },
  { method: 'get', path: '/ui', tag: 'status page', auth: 'public', ok: 'text/html', summary: 'The live status page (asks for a token once per browser session).' },
  { method: 'get', path: '/ui/app.js', tag: 'status page', auth: 'public', ok: 'text/javascript', summary: 'The status page script.' },
  { method: 'get', path: '/ui/app.css', tag: 'status page', auth: 'public', ok: 'text/css', summary: 'The status page style sheet.' },
  { method: 'put', path: `${S}/mcp-servers`, tag: 'servers', body: 'ApplyRequest', headers: ['If-Match'], ok: 'ApplyResponse', errors: [409, 412], summary: 'Create or update a server (or an admission policy, admins only) from a manifest (dryRun: answer the plan only). A server is reviewed by the admission policies: deny is 400 PolicyViolation, warn answers warnings and a Warning header.' },
  { method: 'get', path: `${S}/policies`, tag: 'policies', auth: 'admin', query: ['limit', 'offset'], ok: 'AdmissionPolicyList', errors: [400], summary: 'The admission policies (mcp-policy/admission), by name, with what the audit of the stored servers found.' },
  { method: 'get', path: `${S}/policies/{name}`, tag: 'policies', auth: 'admin', ok: 'AdmissionPolicyOne', summary: 'One admission policy.' },
  { method: 'get', path: `${S}/policies/{name}/events`, tag: 'policies', auth: 'admin', ok: 'EventList', summary: 'The events of an admission policy.' },
  { method: 'delete', path: `${S}/policies/{name}`, tag: 'policies', auth: 'admin', headers: ['If-Match'], ok: 'AdmissionPolicyOne', errors: [409, 412], summary: 'Delete an admission policy (the stored servers are audited again).' },
  { method: 'get', path: `${S}/mcp-servers`, tag: 'servers', query: ['limit', 'offset', 'name', 'tag', 'watch', 'resourceVersion'], headers: ['Last-Event-ID'], ok: 'McpServerList', stream: 'WatchEvent', errors: [400, 410], summary: 'List servers, or watch them (watch=true).' },
  { method: 'get', path: `${S}/mcp-servers/name/{name}`, tag: 'servers', ok: 'McpServerOne', summary: 'Get a server by name.' },
  { method: 'delete', path: `${S}/mcp-servers/name/{name}`, tag: 'servers', query: ['force'], headers: ['If-Match'], ok: 'McpServerOne', errors: [409, 412], summary: 'Delete a server by name.' },
  { method: 'get', path: `${S}/mcp-servers/{id}`, tag: 'servers', ok: 'McpServerOne', summary: 'Get a server by id.' },
  { method: 'delete', path: `${S}/mcp-servers/{id}`, tag: 'servers', query: ['force'], headers: ['If-Match'], ok: 'McpServerOne', errors: [409, 412], summary: 'Delete a server by id.' },
  { method: 'get', path: `${S}/mcp-servers/{id}/events`, tag: 'events', ok: 'EventList', summary: 'Recent events of a server.' },
  { method: 'get', path: `${S}/mcp-servers/name/{name}/events`, tag: 'events', ok: 'EventList', summary: 'Recent events of a server, by name.' },
  { method: 'put', path: `${S}/mcp-servers/{id}/credentials`, tag: 'credentials', body: 'CredentialValues', ok: 'CallerCredentials', errors: [409], summary: "Set your own values for a per_user header server's {{NAME}} placeholders (sealed; only for you and this server). 409 for a server that takes none." },
  { method: 'get', path: `${S}/mcp-servers/{id}/credentials`, tag: 'credentials', ok: 'CallerCredentials', errors: [409], summary: 'Which of your own values are set (never the values) and which are missing.' },
  { method: 'delete', path: `${S}/mcp-servers/{id}/credentials`, tag: 'credentials', ok: 'CallerCredentials', errors: [409], summary: 'Remove your own values; your gateway sessions of the server end.' },
  { method: 'put', path: `${S}/mcp-servers/name/{name}/credentials`, tag: 'credentials', body: 'CredentialValues', ok: 'CallerCredentials', errors: [409], summary: 'Set your own values, by server name.' },
  { method: 'get', path: `${S}/mcp-servers/name/{name}/credentials`, tag: 'credentials', ok: 'CallerCredentials', errors: [409], summary: 'Which of your own values are set, by server name.' },
  { method: 'delete', path: `${S}/mcp-servers/name/{name}/credentials`, tag: 'credentials', ok: 'CallerCredentials', errors: [409], summary: 'Remove your own values, by server name.' },
  { method: 'post', path: `${S}/mcp-servers/{id}/oauth/authorize`, tag: 'credentials', ok: 'OAuthAuthorization', errors: [409, 502], summary: 'Start connecting your own account to a per-user OAuth server (authorization_code, PKCE S256, resource = the server): open authorizationUrl in a browser within 10 minutes. 409 for a server that takes none; 502 when its authorization server cannot be used (the message says why).' },
  { method: 'post', path: `${S}/mcp-servers/name/{name}/oauth/authorize`, tag: 'credentials', ok: 'OAuthAuthorization', errors: [409, 502], summary: 'Start connecting your own account, by server name.' },
  { method: 'delete', path: `${S}/mcp-servers/{id}/oauth/token`, tag: 'credentials', ok: 'OAuthDisconnected', summary: 'Disconnect your account: your tokens are revoked (RFC 7009, where the server supports it) and deleted; your gateway sessions of the server end.' },
  { method: 'delete', path: `${S}/mcp-servers/name/{name}/oauth/token`, tag: 'credentials', ok: 'OAuthDisconnected', summary: 'Disconnect your account, by server name.' },
  { method: 'get', path: '/oauth/callback', tag: 'credentials', auth: 'public', ok: 'text/html', errors: [400, 502], summary: "Where the authorization server sends the browser back (code and state; the state alone authenticates it, once, within 10 minutes): stores the caller's tokens and answers a page saying whether the account is connected." },
  { method: 'post', path: `${S}/mcp-servers/{id}/refresh`, tag: 'servers', ok: 'McpServerOne', errors: [503, 504], summary: 'Discover the server now; answers once the status reflects it.' },
  { method: 'post', path: `${S}/mcp-servers/name/{name}/refresh`, tag: 'servers', ok: 'McpServerOne', errors: [503, 504], summary: 'Discover the server now, by name; answers once the status reflects it.' },
  { method: 'get', path: `${S}/mcp-servers/{id}/revisions`, tag: 'history', query: ['limit', 'offset'], ok: 'RevisionList', errors: [400], summary: 'The revisions of a server (one per generation), newest first; a deleted one\'s too, for --revision-retention.' },
  { method: 'get', path: `${S}/mcp-servers/name/{name}/revisions`, tag: 'history', query: ['limit', 'offset'], ok: 'RevisionList', errors: [400], summary: 'The revisions of a server by name (of the deleted one of that name when none lives), newest first.' },
  { method: 'get', path: `${S}/mcp-servers/{id}/revisions/{generation}`, tag: 'history', ok: 'RevisionOne', errors: [400], summary: 'One revision: its spec (secrets masked) and its diff.' },
  { method: 'get', path: `${S}/mcp-servers/name/{name}/revisions/{generation}`, tag: 'history', ok: 'RevisionOne', errors: [400], summary: 'One revision of a server by name.' },
  { method: 'post', path: `${S}/mcp-servers/{id}/rollback`, tag: 'history', body: 'RollbackRequest', headers: ['If-Match'], ok: 'RollbackResponse', errors: [409, 412], summary: 'Apply revision toGeneration again (secrets included) as a new generation, through intake; a deleted server is created again. 409 for a file-managed server (roll back in Git).' },
  { method: 'post', path: `${S}/mcp-servers/name/{name}/rollback`, tag: 'history', body: 'RollbackRequest', headers: ['If-Match'], ok: 'RollbackResponse', errors: [409, 412], summary: 'Rollback by name (of the deleted one of that name when none lives).' },
  { method: 'get', path: `${S}/events`, tag: 'events', query: ['limit', 'since'], ok: 'EventList', errors: [400], summary: 'Recent events of every server the caller may read.' },
  { method: 'get', path: `${S}/sources`, tag: 'sources', ok: 'SourceList', summary: 'Watched manifest directories, their files and file errors.' },
  { method: 'get', path: `${S}/cluster`, tag: 'operations', auth: 'admin', ok: 'ClusterStatus', summary: 'This replica, the leader (id, epoch, since) and every replica with its URL, version and last heartbeat.' },
  { method: 'post', path: '/internal/cluster/v1/refresh', tag: 'operations', ok: 'RefreshAnswer', errors: [503], summary: 'Between replicas: the leader runs a refresh a follower was asked for. Takes only an internal token (HS256 under a key derived from MCP_CP_SECRET_KEY) addressed to this replica; 503 NotLeader on a replica that no longer leads.' },
  { method: 'get', path: `${S}/gateway/servers`, tag: 'gateway', ok: 'GatewayEntryList', summary: 'What the gateway store serves now (header values masked).' },
  { method: 'post', path: G, ...GAIA, body: 'GaiaCreateServerRequest', status: 201, errors: [403, 409], summary: 'Create a server (GAIA-style); it becomes a manifest applied like PUT.' },
  { method: 'get', path: G, ...GAIA, query: ['projectId'], errors: [400, 403], summary: 'List the servers of a project (GAIA-style).' },
  { method: 'post', path: `${G}/validate`, ...GAIA, body: 'GaiaCreateServerRequest', errors: [403], summary: 'Test the connection a create body describes; nothing is stored.' },
  { method: 'post', path: '/api/mcp/detect-transport', ...GAIA, body: 'GaiaDetectRequest', ok: 'GaiaDetectTransportAnswer', errors: [403], summary: 'Which MCP transports a URL speaks (http, sse) and which to use; nothing is stored. A URL that speaks neither: success false with the reason.' },
  { method: 'post', path: '/api/mcp/detect-auth', ...GAIA, body: 'GaiaDetectRequest', ok: 'GaiaDetectAuthAnswer', errors: [403], summary: 'What authentication a URL needs: none, a bearer token or API key, or OAuth (with its authorization server metadata); nothing is stored.' },
  { method: 'get', path: `${G}/{serverId}`, ...GAIA, summary: 'Get a server (GAIA-style).' },
  { method: 'get', path: `${G}/{serverId}/tools`, ...GAIA, summary: 'The tools of a server the gateway serves (disabled ones left out).' },
  { method: 'patch', path: `${G}/{serverId}`, ...GAIA, body: 'GaiaPatchServerRequest', errors: [403, 409], summary: 'Change some fields of a server (GAIA-style).' },
  { method: 'delete', path: `${G}/{serverId}`, ...GAIA, errors: [403, 409], summary: 'Delete a server (GAIA-style).' },
  { method: 'post', path: '/mcp/{name}', tag: 'gateway', headers: ['Mcp-Session-Id'], ok: 'application/json', errorBody: 'GatewayError', errors: [503], summary: 'MCP Streamable HTTP: JSON-RPC messages to server {name} through the gateway.' },
  { method: 'get', path: '/mcp/{name}', tag: 'gateway', headers: ['Mcp-Session-Id'], ok: 'text/event-stream', errorBody: 'GatewayError', errors: [503], summary: 'MCP Streamable HTTP: the session\'s stream of server messages.' },
  { method: 'delete', path: '/mcp/{name}', tag: 'gateway', headers: ['Mcp-Session-Id'], ok: 'application/json', errorBody: 'GatewayError', errors: [503], summary: 'MCP Streamable HTTP: end the session.' },
];

const ERROR_TEXT: Record<number, string> = {
  400: 'The input is invalid; details name each field.',
  401: 'No valid bearer token.',
  403: 'The token may not do this.',
  404: 'No such server (or the caller may not read it).',
  409: 'Another manager owns the server.',
  410: 'The resourceVersion is older than the kept history: list, then watch again without resourceVersion.',
  412: 'If-Match does not match the current resourceVersion (or generation, for a "gen-<n>" validator).',
  413: 'The body is larger than 1 MiB.',
  415: 'The body is not JSON, or not UTF-8.',
  429: 'Too many writes with this token; see Retry-After.',
  503: 'Not available now; the message says why.',
  504: 'Did not finish in time; the message says why.',
};

const WRITE_METHODS: ReadonlySet<Method> = new Set(['put', 'post', 'patch', 'delete']);

/**
 * The schema files' JSON Schemas as components, named by title; their $defs become Title.Def. Every
 * manifest kind (a schema whose `type` is a const) joins McpServerManifest, the manifest as answered.
 */
function schemaFileComponents(): Record<string, Json> {
  const components: Record<string, Json> = {};
  const kinds: string[] = [];
  const files = readdirSync(SCHEMAS_DIR)
    .filter((f) => f.endsWith('.schema.json'))
    .sort();
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as Json;
    const name = typeof schema.title === 'string' && /^[A-Za-z0-9_.-]+$/.test(schema.title) ? schema.title : file.replace(/\.schema\.json$/, '');
    const { $schema: _dialect, $id: _id, $defs, ...root } = schema;
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node === null || typeof node !== 'object') return node;
      const out: Json = {};
      for (const [k, v] of Object.entries(node)) {
        out[k] = k === '$ref' && typeof v === 'string' ? rewriteRef(v, name) : rewrite(v);
      }
      return out;
    };
    components[name] = { ...(rewrite(root) as Json), 'x-schema-file': `schemas/${file}` };
    if (typeof ((root.properties as Json | undefined)?.type as Json | undefined)?.const === 'string') kinds.push(name);
    for (const [def, sub] of Object.entries(($defs ?? {}) as Json)) components[`${name}.${def}`] = rewrite(sub) as Json;
  }
  components.McpServerManifest = {
    description: 'A manifest of any kind, normalised; secret values are masked in answers.',
    oneOf: kinds.map((k) => ({ $ref: `#/components/schemas/${k}` })),
  };
  return components;
}

/** A local reference of a schema file, re-pointed at the component it became. */
function rewriteRef(ref: string, name: string): string {
  const defs = /^#\/\$defs\/([^/]+)(\/.*)?$/.exec(ref);
  if (defs) return `#/components/schemas/${name}.${defs[1]}${defs[2] ?? ''}`;
  if (ref === '#') return `#/components/schemas/${name}`;
  if (ref.startsWith('#/')) return `#/components/schemas/${name}${ref.slice(1)}`;
  return ref;
}

function operationId(route: RouteDoc): string {
  const words = route.path
    .replace(/^\/api\/svc\/v1/, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => seg.replace(/^\{(.+)\}$/, 'by-$1'))
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  const camel = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return `${route.method}${camel || 'Root'}`;
}

function jsonContent(component: string): Json {
  return { 'application/json': { schema: { $ref: `#/components/schemas/${component}` } } };
}

function operation(route: RouteDoc, metricsPublic: boolean): Json {
  const auth = route.auth ?? 'bearer';
  const secured = auth === 'bearer' || auth === 'admin' || (auth === 'metrics' && !metricsPublic);
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parameters = [
    ...pathParams.map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' }, description: PATH_PARAMS[p] ?? p })),
    ...(route.query ?? []).map((q) => ({ name: q, in: 'query', required: false, ...QUERY[q] })),
    ...(route.headers ?? []).map((h) => ({ name: h, in: 'header', required: false, ...HEADERS[h] })),
  ];
  const errors = new Set(route.errors ?? []);
  if (secured) errors.add(401);
  if (auth === 'admin' || (auth === 'metrics' && !metricsPublic)) errors.add(403);
  if (route.body) [400, 413, 415].forEach((c) => errors.add(c));
  if (pathParams.length > 0) errors.add(404);
  if (WRITE_METHODS.has(route.method) && route.path.startsWith('/api/')) errors.add(429);
  const okContent: Json = route.ok.includes('/') ? { [route.ok]: { schema: { type: 'string' } } } : jsonContent(route.ok);
  if (route.stream) okContent['text/event-stream'] = { schema: { $ref: `#/components/schemas/${route.stream}` } };
  const responses: Json = {
    [String(route.status ?? 200)]: {
      description: route.status === 302 ? 'Found' : 'OK',
      ...(route.status === 302 ? { headers: { Location: { schema: { type: 'string' } } } } : { content: okContent }),
    },
  };
  for (const code of [...errors].sort()) responses[String(code)] = { description: ERROR_TEXT[code] ?? 'Error', content: jsonContent(route.errorBody ?? 'Error') };
  return {
    operationId: operationId(route),
    summary: route.summary,
    tags: [route.tag],
    security: secured ? [{ bearer: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: true, content: jsonContent(route.body) } } : {}),
    responses,
  };
}

/** This build's version (package.json next to the schemas): the OpenAPI document's and each replica's. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(SCHEMAS_DIR, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface OpenApiOptions {
  /** /metrics without a token (--metrics-public). */
  metricsPublic: boolean;
  routes?: readonly RouteDoc[];
}

export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const routes = options.routes ?? ROUTES;
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation(route, options.metricsPublic);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'mcp-control-plane',
      version: packageVersion(),
      description:
        'A declarative control plane for remote MCP servers. Every /api route needs `Authorization: Bearer <token>`. ' +
        '/metrics needs an admin token unless the server runs with --metrics-public (then it is open: keep the port private). ' +
        '/healthz, /readyz, /openapi.json and the status page assets (/ui) are public; the status page asks for a token and keeps it in the browser session only.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { ...schemaFileComponents(), ...RESPONSE_SCHEMAS },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A control plane token (the admin token, or one from --tokens-file).' } },
    },
  };
}

/** The route template a request path belongs to (for metrics labels); literal segments win over parameters. */
export function createRouteMatcher(routes: readonly RouteDoc[] = ROUTES): (path: string) => string | undefined {
  const templates = [...new Set(routes.map((r) => r.path))];
  const compiled = templates
    .map((t) => ({
      template: t,
      literal: t.split('/').filter((s) => s && !s.startsWith('{')).length,
      regex: new RegExp(`^${t.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}/?$`),
    }))
    .sort((a, b) => b.literal - a.literal);
  // Most requests repeat a few paths (a list, a PUT): each is matched once. Paths carry names and ids,
  // so the memo is bounded, and starts over when full.
  const memo = new Map<string, string | undefined>();
  return (path) => {
    if (memo.has(path)) return memo.get(path);
    if (memo.size >= ROUTE_MEMO_SIZE) memo.clear();
    const template = compiled.find((c) => c.regex.test(path))?.template;
    memo.set(path, template);
    return template;
  };
}

const ROUTE_MEMO_SIZE = 1000;
