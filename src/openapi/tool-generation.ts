// A dereferenced OpenAPI 3.0/3.1 document → the operations served as tools: name from tool_settings,
// else operationId, else method and path (sanitised); description from summary and description; the
// input schema from the path, query and header parameters and the request body. Pure and bounded: the
// schemas are copied under a node budget, since a dereferenced document shares subtrees that a copy
// (and JSON) would repeat.
import type { OperationSetting } from '../domain/manifest.js';
import { setOwn } from '../manifest/pointer.js';
import { BODY_ARG, type OpenApiOperation, type OpenApiParameter } from './catalog.js';

/** enable_all_tools serves at most this many operations; more must be selected in tool_settings. */
export const MAX_ALL_OPERATIONS = 30;
/** JSON nodes (values) kept in one tool's input schema, and in all the tools of a server. */
export const MAX_SCHEMA_NODES_PER_TOOL = 20_000;
export const MAX_SCHEMA_NODES = 100_000;
const MAX_DESCRIPTION = 4000;
const MAX_NAME = 64;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export type GenerationFailure = { reason: 'TooManyOperations' | 'ToolSchemaTooLarge' | 'ToolNameConflict' | 'InvalidOpenApiDocument'; message: string };

export interface GeneratedTools {
  operations: OpenApiOperation[];
  /** tool_settings entries (`get /path`) that name no operation of the document. */
  unknownOperations: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function generateTools(api: unknown, settings: readonly OperationSetting[], enableAll: boolean): GeneratedTools | GenerationFailure {
  const paths = isObject(api) ? api.paths : undefined;
  if (paths !== undefined && !isObject(paths)) return { reason: 'InvalidOpenApiDocument', message: 'The OpenAPI document\'s "paths" is not an object.' };
  const found: { method: string; path: string; item: Json; op: Json }[] = [];
  for (const [path, item] of Object.entries(paths ?? {})) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isObject(op)) found.push({ method, path, item, op });
    }
  }
  const key = (method: string, path: string) => `${method} ${path}`;
  const byKey = new Map(settings.map((s) => [key(s.method, s.path), s]));
  if (enableAll && found.length > MAX_ALL_OPERATIONS) {
    return {
      reason: 'TooManyOperations',
      message: `The OpenAPI document has ${found.length} operations, more than the ${MAX_ALL_OPERATIONS} that enable_all_tools: true serves; set enable_all_tools: false and list the operations to serve in tool_settings (method and path, e.g. { method: ${found[0]!.method}, path: ${found[0]!.path} }).`,
    };
  }
  const known = new Set(found.map((f) => key(f.method, f.path)));
  const unknownOperations = settings.map((s) => key(s.method, s.path)).filter((k) => !known.has(k));
  const selected = enableAll ? found : found.filter((f) => byKey.has(key(f.method, f.path)));

  // A name the manifest gives is never changed: two operations given the same one is the manifest's to fix.
  const given = new Map<string, string>();
  for (const { method, path } of selected) {
    const name = byKey.get(key(method, path))?.name;
    if (name === undefined) continue;
    const other = given.get(name);
    if (other) return { reason: 'ToolNameConflict', message: `tool_settings give the name "${name}" to both ${other} and ${method.toUpperCase()} ${path}; give each operation its own name.` };
    given.set(name, `${method.toUpperCase()} ${path}`);
  }
  const budget = { total: MAX_SCHEMA_NODES };
  // Generated names never take a given one; generated names that collide are numbered (name_2, ...).
  const names = new Set<string>(given.keys());
  const operations: OpenApiOperation[] = [];
  for (const { method, path, item, op } of selected) {
    const setting = byKey.get(key(method, path));
    let name = setting?.name;
    if (name === undefined) {
      const generated = toolName(typeof op.operationId === 'string' ? op.operationId : `${method}_${path}`);
      name = generated;
      for (let n = 2; names.has(name); n++) name = `${generated.slice(0, MAX_NAME - String(n).length - 1)}_${n}`;
      names.add(name);
    }
    let built;
    try {
      built = inputOf(item, op, { perTool: MAX_SCHEMA_NODES_PER_TOOL, shared: budget });
    } catch (error) {
      if (error instanceof SchemaTooLarge) {
        return {
          reason: 'ToolSchemaTooLarge',
          message: `The input schema of ${method.toUpperCase()} ${path} (tool "${name}") ${error.message}; serve fewer operations (enable_all_tools: false and tool_settings) or simplify the document's schemas.`,
        };
      }
      throw error;
    }
    const description = setting?.description ?? describe(op, method, path);
    const annotations = setting?.annotations ? definedOnly(setting.annotations) : defaultAnnotations(method);
    operations.push({
      tool: { name, ...(description ? { description } : {}), inputSchema: built.schema, ...(annotations ? { annotations } : {}) },
      method,
      path,
      parameters: built.parameters,
      ...(built.body ? { body: built.body } : {}),
    });
  }
  return { operations, unknownOperations };
}

/** Letters, digits, '_', '.' and '-', at most 64 characters (what MCP clients accept as a tool name). */
export function toolName(raw: string): string {
  const name = raw
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[_.-]+|[_.-]+$/g, '')
    .slice(0, MAX_NAME);
  return name === '' ? 'operation' : name;
}

function describe(op: Json, method: string, path: string): string {
  const parts = [op.summary, op.description].filter((t): t is string => typeof t === 'string' && t.trim() !== '').map((t) => t.trim());
  // A summary repeated as the description is said once.
  const text = [...new Set(parts)].join('\n\n') || `${method.toUpperCase()} ${path}`;
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}

/** GET and HEAD read; DELETE destroys; PUT and DELETE are idempotent (RFC 9110). */
function defaultAnnotations(method: string): Record<string, unknown> | undefined {
  if (method === 'get' || method === 'head') return { readOnlyHint: true };
  if (method === 'delete') return { destructiveHint: true, idempotentHint: true };
  if (method === 'put') return { idempotentHint: true };
  return undefined;
}

function definedOnly(annotations: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(annotations).filter(([, v]) => v !== undefined));
}

class SchemaTooLarge extends Error {}

interface Budget {
  perTool: number;
  shared: { total: number };
}

function inputOf(item: Json, op: Json, budget: Budget): { schema: Json; parameters: OpenApiParameter[]; body?: OpenApiOperation['body'] } {
  // Operation parameters override path-item ones with the same name and location.
  const declared = new Map<string, Json>();
  for (const list of [item.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) if (isObject(p) && typeof p.name === 'string' && typeof p.in === 'string') declared.set(`${p.in}:${p.name}`, p);
  }
  const params = [...declared.values()].filter((p) => p.in === 'path' || p.in === 'query' || p.in === 'header');
  const requestBody = isObject(op.requestBody) ? op.requestBody : undefined;
  const bodyMedia = requestBody ? pickMediaType(requestBody.content) : undefined;

  const taken = new Map<string, number>();
  for (const p of params) taken.set(p.name as string, (taken.get(p.name as string) ?? 0) + 1);
  if (bodyMedia) taken.set(BODY_ARG, (taken.get(BODY_ARG) ?? 0) + 1);

  const properties: Json = {};
  const required: string[] = [];
  const counter = { left: budget.perTool };
  const parameters: OpenApiParameter[] = [];
  for (const p of params) {
    const name = p.name as string;
    const location = p.in as OpenApiParameter['in'];
    const arg = (taken.get(name) ?? 0) > 1 ? `${location}_${name}` : name;
    const schema = parameterSchema(p, counter, budget.shared);
    setOwn(properties, arg, schema);
    // Path parameters are always required (OpenAPI says so, whatever the document claims).
    const isRequired = location === 'path' || p.required === true;
    if (isRequired) required.push(arg);
    parameters.push({ name, in: location, arg, required: isRequired, explode: p.explode !== false });
  }
  let body: OpenApiOperation['body'];
  if (requestBody && bodyMedia) {
    const [mediaType, media] = bodyMedia;
    const json = isJsonMediaType(mediaType);
    const described = typeof requestBody.description === 'string' ? { description: requestBody.description } : {};
    const schema = json && isObject(media.schema) ? copySchema(media.schema, counter, budget.shared) : { type: 'string', description: `The request body, sent as ${mediaType}.` };
    properties[BODY_ARG] = { ...described, ...schema };
    body = { mediaType, json, required: requestBody.required === true };
    if (body.required) required.push(BODY_ARG);
  }
  return { schema: { type: 'object', properties, ...(required.length ? { required } : {}) }, parameters, ...(body ? { body } : {}) };
}

function parameterSchema(p: Json, counter: { left: number }, shared: { total: number }): Json {
  let schema: unknown = p.schema;
  // A parameter described by `content` instead of `schema`: the schema of its (single) media type.
  if (!isObject(schema) && isObject(p.content)) schema = Object.values(p.content).find(isObject)?.schema;
  const copied = isObject(schema) ? copySchema(schema, counter, shared) : { type: 'string' };
  return typeof p.description === 'string' && p.description !== '' && copied.description === undefined ? { ...copied, description: p.description } : copied;
}

function isJsonMediaType(mediaType: string): boolean {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/** The request body's media type: JSON first, else the first one listed. */
function pickMediaType(content: unknown): [string, Json] | undefined {
  if (!isObject(content)) return undefined;
  const entries = Object.entries(content).filter((e): e is [string, Json] => isObject(e[1]));
  return entries.find(([type]) => isJsonMediaType(type)) ?? entries[0];
}

/** Keywords of the OpenAPI dialect that say nothing to a JSON Schema reader (XML mapping, vendor extensions). */
const DROPPED = (key: string) => key === 'xml' || key.startsWith('x-');

/**
 * A copy as plain JSON, counting every value against the tool's and the server's budget (a document's
 * shared subtrees are copied each time they are used, so the budget is what bounds the copy).
 */
function copySchema(value: Json, counter: { left: number }, shared: { total: number }): Json {
  return copy(value, 0) as Json;
  function copy(v: unknown, depth: number): unknown {
    if (--counter.left < 0) throw new SchemaTooLarge(`has more than ${MAX_SCHEMA_NODES_PER_TOOL} values once its $refs are resolved`);
    if (--shared.total < 0) throw new SchemaTooLarge(`takes the tools past ${MAX_SCHEMA_NODES} schema values in all once $refs are resolved`);
    if (depth > 64) throw new SchemaTooLarge('nests deeper than 64 levels');
    if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
    if (!isObject(v)) return v;
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) if (!DROPPED(k)) setOwn(out, k, copy(x, depth + 1));
    return out;
  }
}
