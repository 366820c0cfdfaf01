// The JSON Schemas in schemas/ are the single source of truth: validation, defaults, canonical key
// order, list semantics and secret paths are all read from them. They are loaded when this module loads
// and each is compiled once, on its first use; nothing here runs per request (the per-manifest walkers
// read the schemas through schema-plan.ts, which resolves each location once).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FieldError } from '../domain/errors.js';
import { OPENAPI_SERVER_TYPE, REMOTE_SERVER_TYPE, STDIO_SERVER_TYPE, VIRTUAL_SERVER_TYPE } from '../domain/manifest.js';
import { checkStdioManifest, rewriteStdioEnvAlias } from './stdio-manifest.js';
import { checkVirtualManifest } from './virtual-manifest.js';
import { checkPolicyManifest } from './policy-manifest.js';
import { ADMISSION_POLICY_TYPE } from '../domain/policy.js';

/** A JSON Schema object (boolean schemas are not used in schemas/). */
export type SchemaObject = { readonly [keyword: string]: unknown };

/** A schema together with the document its local `$ref`s resolve against. */
export interface SchemaNode {
  readonly schema: SchemaObject;
  readonly root: SchemaObject;
}

const MANIFEST_SCHEMA_FILE = 'mcp-server-remote.schema.json';

/** Walks up from this module (src/manifest or dist/src/manifest) to the repository's schemas/. */
function findSchemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, MANIFEST_SCHEMA_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`schemas/${MANIFEST_SCHEMA_FILE} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export const SCHEMAS_DIR = findSchemasDir();

function loadSchema(file: string): SchemaObject {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as SchemaObject;
}

export const remoteServerSchema = loadSchema(MANIFEST_SCHEMA_FILE);
export const stdioServerSchema = loadSchema('mcp-server-stdio.schema.json');
export const virtualServerSchema = loadSchema('mcp-server-virtual.schema.json');
export const openApiServerSchema = loadSchema('mcp-server-openapi.schema.json');
export const admissionPolicySchema = loadSchema('mcp-policy-admission.schema.json');
export const applyRequestSchema = loadSchema('apply-request.schema.json');
/** The GAIA-style create body (POST /api/mcp/servers); mapped onto a manifest by src/http/gaia. */
export const gaiaCreateRequestSchema = loadSchema('gaia-create-request.schema.json');

/**
 * Annotation keywords of schemas/ (no validation of their own; they are read by the walkers here).
 * `x-secret` is the one that masking and secret splitting are driven by.
 */
export const ANNOTATION_KEYWORDS = [
  { keyword: 'x-secret', schemaType: 'boolean' },
  { keyword: 'x-expected', schemaType: 'string' },
  { keyword: 'x-list-type', schemaType: 'string' },
  { keyword: 'x-list-keys', schemaType: 'array' },
  { keyword: 'x-list-item', schemaType: 'string' },
  { keyword: 'x-key-name', schemaType: 'string' },
  { keyword: 'x-case-insensitive-keys', schemaType: 'boolean' },
] as const;

// ajv-formats is CommonJS with `module.exports = plugin`; under NodeNext the namespace's default is it.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((ajvFormats as unknown as { default?: FormatsPlugin }).default ??
  (ajvFormats as unknown as FormatsPlugin)) as FormatsPlugin;

function buildAjv(): Ajv2020 {
  // verbose: errors carry their schema, so messages can name allowed fields and expected values.
  const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // RFC 3986 accepts URLs that the WHATWG parser (Node's URL, fetch, undici) refuses, such as port 65536
  // or the host 999.1.1.1. Every consumer of these URLs uses the WHATWG parser, so a URL must satisfy both.
  const rfc3986 = ajv.formats.uri;
  const rfcValid = (value: string): boolean =>
    typeof rfc3986 === 'function'
      ? (rfc3986 as (v: string) => boolean)(value)
      : rfc3986 instanceof RegExp
        ? rfc3986.test(value)
        : typeof rfc3986 === 'object' && rfc3986 !== null && 'validate' in rfc3986
          ? (rfc3986.validate as (v: string) => boolean)(value)
          : true;
  ajv.addFormat('uri', { type: 'string', validate: (value: string) => rfcValid(value) && URL.canParse(value) });
  for (const k of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword: k.keyword, schemaType: k.schemaType });
  return ajv;
}

export const ajv = buildAjv();

/** An ajv validator as callers use it: call it, then read `errors` when it answered false. */
export interface SchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * Compiles the schema on the validator's first call, once. Compiling every schema took a fifth of a
 * second of each start, and a restart on unchanged manifest files validates nothing.
 */
function compiledOnFirstUse(schema: SchemaObject): SchemaValidator {
  let compiled: SchemaValidator | undefined;
  const validate: SchemaValidator = (data) => {
    compiled ??= ajv.compile(schema);
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  };
  return validate;
}

export interface ManifestKind {
  type: string;
  schema: SchemaObject;
  validate: SchemaValidator;
  /** Rules of this kind the schema cannot state, over the manifest as received (any shape). */
  check?: (value: Record<string, unknown>) => FieldError[];
  /** Rewrites deprecated spellings into the canonical ones before normalising (a new object). */
  rewrite?: <T extends object>(manifest: T) => T;
}

/** Every manifest kind, by its `type`. Other kinds join here with their schema. */
export const MANIFEST_KINDS: ReadonlyMap<string, ManifestKind> = new Map([
  [REMOTE_SERVER_TYPE, { type: REMOTE_SERVER_TYPE, schema: remoteServerSchema, validate: compiledOnFirstUse(remoteServerSchema) }],
  [
    STDIO_SERVER_TYPE,
    {
      type: STDIO_SERVER_TYPE,
      schema: stdioServerSchema,
      validate: compiledOnFirstUse(stdioServerSchema),
      check: checkStdioManifest,
      rewrite: rewriteStdioEnvAlias,
    },
  ],
  [
    VIRTUAL_SERVER_TYPE,
    { type: VIRTUAL_SERVER_TYPE, schema: virtualServerSchema, validate: compiledOnFirstUse(virtualServerSchema), check: checkVirtualManifest },
  ],
  [OPENAPI_SERVER_TYPE, { type: OPENAPI_SERVER_TYPE, schema: openApiServerSchema, validate: compiledOnFirstUse(openApiServerSchema) }],
  // Not a server: intake stores it in the policies' scope (src/domain/policy.ts) and enforces it on servers.
  [
    ADMISSION_POLICY_TYPE,
    { type: ADMISSION_POLICY_TYPE, schema: admissionPolicySchema, validate: compiledOnFirstUse(admissionPolicySchema), check: checkPolicyManifest },
  ],
]);

export const SUPPORTED_TYPES: readonly string[] = [...MANIFEST_KINDS.keys()];

export const validateApplyRequestSchema = compiledOnFirstUse(applyRequestSchema);

export const validateGaiaCreateSchema = compiledOnFirstUse(gaiaCreateRequestSchema);
/**
 * PATCH takes the create fields, all optional: the same schema without its required fields and the
 * conditional requirements (the merged result is checked as a whole when it becomes a manifest).
 */
export const gaiaPatchRequestSchema: SchemaObject = (() => {
  const { required: _required, allOf: _allOf, $id, title: _title, ...rest } = gaiaCreateRequestSchema;
  return { ...rest, $id: String($id).replace('gaia-create-request', 'gaia-patch-request'), title: 'GaiaPatchServerRequest' };
})();
export const validateGaiaPatchSchema = compiledOnFirstUse(gaiaPatchRequestSchema);
/** The body of the GAIA-style probes (POST /api/mcp/detect-transport, /api/mcp/detect-auth): { url }. */
export const gaiaDetectRequestSchema = loadSchema('gaia-detect-request.schema.json');
export const validateGaiaDetectSchema = compiledOnFirstUse(gaiaDetectRequestSchema);

export function isSchemaObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s; keywords next to a `$ref` override the target's (e.g. description, default). */
export function resolveSchema(node: SchemaNode): SchemaNode {
  let schema = node.schema;
  for (let hops = 0; typeof schema.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`$ref chain too long at ${String(schema.$ref)}`);
    const ref = schema.$ref as string;
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported in schemas/, got ${ref}`);
    let target: unknown = node.root;
    for (const seg of ref.slice(2).split('/')) {
      target = isSchemaObject(target) ? target[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    if (!isSchemaObject(target)) throw new Error(`unresolvable $ref ${ref}`);
    const { $ref: _ref, ...siblings } = schema;
    schema = { ...target, ...siblings };
  }
  return { schema, root: node.root };
}

function child(node: SchemaNode, value: unknown): SchemaNode | undefined {
  return isSchemaObject(value) ? resolveSchema({ schema: value, root: node.root }) : undefined;
}

/** The schema of property `key` of an object schema: `properties[key]`, else `additionalProperties`. */
export function propertySchema(node: SchemaNode, key: string): SchemaNode | undefined {
  const props = node.schema.properties;
  if (isSchemaObject(props) && Object.prototype.hasOwnProperty.call(props, key)) return child(node, props[key]);
  return child(node, node.schema.additionalProperties);
}

/** The `oneOf` branches, resolved. */
export function branches(node: SchemaNode): SchemaNode[] {
  const oneOf = node.schema.oneOf;
  if (!Array.isArray(oneOf)) return [];
  return oneOf.flatMap((b) => child(node, b) ?? []);
}

export function discriminatorTag(node: SchemaNode): string | undefined {
  const d = node.schema.discriminator;
  return isSchemaObject(d) && typeof d.propertyName === 'string' ? d.propertyName : undefined;
}

/** The tag value each branch of a discriminated `oneOf` accepts, in schema order. */
export function discriminatorValues(node: SchemaNode): string[] {
  const tag = discriminatorTag(node);
  if (tag === undefined) return [];
  return branches(node).flatMap((b) => {
    const p = propertySchema(b, tag);
    return typeof p?.schema.const === 'string' ? [p.schema.const] : [];
  });
}

export function manifestSchemaNode(type: unknown): SchemaNode | undefined {
  const kind = typeof type === 'string' ? MANIFEST_KINDS.get(type) : undefined;
  return kind ? { schema: kind.schema, root: kind.schema } : undefined;
}
