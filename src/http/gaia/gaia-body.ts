// The GAIA-style request bodies: their types, the defaults read from the schema, and their validation
// (schemas/gaia-create-request.schema.json, gaia-patch-request.schema.json, and the fields each
// transport type allows). Pure: no store, no I/O. gaia-mapping.ts turns a valid body into a manifest.
import type { ErrorObject } from 'ajv';
import type { FieldError } from '../../domain/errors.js';
import { isPlainObject } from '../../manifest/pointer.js';
import { isSecretPointer, deriveSecretPatterns } from '../../manifest/secret-paths.js';
import { reportAjvErrors, tidyErrors } from '../../manifest/validate.js';
import {
  gaiaCreateRequestSchema,
  gaiaPatchRequestSchema,
  isSchemaObject,
  validateGaiaCreateSchema,
  validateGaiaPatchSchema,
  type SchemaObject,
} from '../../manifest/schemas.js';

export type GaiaTransportType = 'stdio' | 'http' | 'sse';
export type GaiaHeaders = { name: string; value: string }[] | Record<string, string>;

/** The create body after schema validation. */
export interface GaiaServerFields {
  projectId: string;
  name: string;
  transportType: GaiaTransportType;
  description?: string;
  url?: string;
  connectionType?: 'direct' | 'proxy';
  command?: string;
  args?: string[] | string;
  env?: Record<string, string>;
  customHeaders?: GaiaHeaders;
  oauthClientId?: string;
  oauthClientSecret?: string;
  oauthScope?: string;
  oauthTokenUrl?: string;
  oauthAuthorizationUrl?: string;
  proxyUrl?: string;
  proxyAuthToken?: string;
  proxyAuthHeader?: string;
  requestTimeout?: number;
  maxTotalTimeout?: number;
}

export type GaiaField = keyof GaiaServerFields;

/** A PATCH body: any create field; `null` clears the fields in CLEARABLE. */
export interface GaiaPatch {
  fields: Partial<GaiaServerFields>;
  cleared: Set<GaiaField>;
}

/**
 * Fields a PATCH may set to null, and what null means: description → the name; customHeaders, args,
 * env → none; oauthClientId → no OAuth; oauthScope → no scopes; proxyUrl → no proxy; proxyAuthToken →
 * no token; proxyAuthHeader, requestTimeout, maxTotalTimeout → their defaults.
 */
export const CLEARABLE: ReadonlySet<GaiaField> = new Set<GaiaField>([
  'description',
  'customHeaders',
  'args',
  'env',
  'oauthClientId',
  'oauthScope',
  'proxyUrl',
  'proxyAuthToken',
  'proxyAuthHeader',
  'requestTimeout',
  'maxTotalTimeout',
]);

const REMOTE_ONLY: readonly GaiaField[] = [
  'url',
  'customHeaders',
  'oauthClientId',
  'oauthClientSecret',
  'oauthScope',
  'oauthTokenUrl',
  'oauthAuthorizationUrl',
  'proxyUrl',
  'proxyAuthToken',
  'proxyAuthHeader',
];
const STDIO_ONLY: readonly GaiaField[] = ['command', 'args', 'env'];

// ---------------------------------------------------------------------------------------------------
// Defaults, read from the schema.

function schemaDefault<T>(field: GaiaField): T {
  const props = gaiaCreateRequestSchema.properties;
  const sub = isSchemaObject(props) ? props[field] : undefined;
  const value = isSchemaObject(sub) ? sub.default : undefined;
  if (value === undefined) throw new Error(`schemas/gaia-create-request.schema.json: ${field} has no default`);
  return value as T;
}

export const DEFAULTS = {
  connectionType: schemaDefault<'direct' | 'proxy'>('connectionType'),
  proxyAuthHeader: schemaDefault<string>('proxyAuthHeader'),
  requestTimeout: schemaDefault<number>('requestTimeout'),
  maxTotalTimeout: schemaDefault<number>('maxTotalTimeout'),
};

// ---------------------------------------------------------------------------------------------------
// Validation of the body.

const secretPatterns = deriveSecretPatterns(gaiaCreateRequestSchema);

/** True for pointers of the GAIA body whose values are never echoed (x-secret in the schema). */
export function isGaiaSecretPointer(pointer: string): boolean {
  return isSecretPointer(pointer, secretPatterns);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * For an `anyOf` of shapes told apart by `type` (customHeaders, args): when the value has the type of one
 * branch, only that branch's errors say anything; the others' "must be an array" is noise.
 */
function focusAnyOf(errors: readonly ErrorObject[]): ErrorObject[] {
  const failedAnyOf = errors.filter((e) => e.keyword === 'anyOf');
  let out = [...errors];
  for (const wrapper of failedAnyOf) {
    const branches = isSchemaObject(wrapper.parentSchema) && Array.isArray(wrapper.parentSchema.anyOf) ? wrapper.parentSchema.anyOf : [];
    const type = jsonType(wrapper.data);
    const match = branches.findIndex((b) => isSchemaObject(b) && (b.type === type || (b.type === 'number' && type === 'integer')));
    if (match === -1) continue;
    const prefix = `${wrapper.schemaPath}/`;
    out = out.filter((e) => {
      if (e === wrapper) return false;
      if (!e.schemaPath.startsWith(prefix)) return true;
      return e.schemaPath.startsWith(`${prefix}${match}/`);
    });
  }
  return out;
}

function schemaErrors(validate: typeof validateGaiaCreateSchema, root: SchemaObject, body: unknown): FieldError[] {
  if (validate(body)) return [];
  const errors = focusAnyOf(validate.errors as ErrorObject[]);
  return reportAjvErrors(errors, { root, isSecret: isGaiaSecretPointer });
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Validates a create (or validate) body against schemas/gaia-create-request.schema.json. */
export function validateCreateBody(body: unknown): Validated<GaiaServerFields> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object with projectId, name and transportType' }] };
  const errors = schemaErrors(validateGaiaCreateSchema, gaiaCreateRequestSchema, body);
  if (errors.length > 0) return { ok: false, errors };
  const fields = body as unknown as GaiaServerFields;
  const kindErrors = checkFieldsForKind(fields, fields.transportType);
  return kindErrors.length > 0 ? { ok: false, errors: kindErrors } : { ok: true, value: fields };
}

/** Validates a PATCH body: the create fields, all optional; null clears the CLEARABLE ones. */
export function validatePatchBody(body: unknown): Validated<GaiaPatch> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object with the fields to change' }] };
  const errors: FieldError[] = [];
  const cleared = new Set<GaiaField>();
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value !== null) rest[key] = value;
    else if (CLEARABLE.has(key as GaiaField)) cleared.add(key as GaiaField);
    else errors.push({ path: `/${key}`, message: `cannot be null; only ${[...CLEARABLE].join(', ')} can be cleared with null` });
  }
  errors.push(...schemaErrors(validateGaiaPatchSchema, gaiaPatchRequestSchema, rest));
  if (errors.length > 0) return { ok: false, errors: tidyErrors(errors) };
  return { ok: true, value: { fields: rest as Partial<GaiaServerFields>, cleared } };
}

/** Fields that belong to the other kind of server, and stdio's rule that it cannot be direct. */
export function checkFieldsForKind(fields: Partial<GaiaServerFields>, transportType: GaiaTransportType, cleared: ReadonlySet<GaiaField> = new Set()): FieldError[] {
  const errors: FieldError[] = [];
  const present = (f: GaiaField) => fields[f] !== undefined || cleared.has(f);
  if (transportType === 'stdio') {
    for (const f of REMOTE_ONLY) {
      if (present(f)) errors.push({ path: `/${f}`, message: 'is for http and sse servers; a stdio server has command, args and env' });
    }
    if (fields.connectionType === 'direct') {
      errors.push({
        path: '/connectionType',
        message: 'a stdio server cannot be direct: the control plane runs the process and the gateway serves it at /mcp/{name}; use proxy',
      });
    }
  } else {
    for (const f of STDIO_ONLY) {
      if (present(f)) errors.push({ path: `/${f}`, message: `is for stdio servers (transportType: stdio), not ${transportType}` });
    }
  }
  return errors;
}
