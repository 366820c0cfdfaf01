// Turns ajv's errors into FieldErrors a person can act on: each names the path, what is wrong and what
// would be right. Contract: no message ever contains a value found at a secret path (or under a
// `x-secret` schema) nor a URL (which may carry credentials); only shapes, counts and key names.
import type { ErrorObject } from 'ajv';
import type { FieldError } from '../domain/errors.js';
import { appendPointer, isPlainObject } from './pointer.js';
import { discriminatorTag, discriminatorValues, isSchemaObject, type SchemaObject } from './schemas.js';

export interface MessageContext {
  /** The schema document the errors came from, to resolve `$ref`s in it. */
  root: SchemaObject;
  /** True for pointers whose values must never be echoed. */
  isSecret(pointer: string): boolean;
}

const MAX_ECHO = 64;

/** A short, quoted rendering of a string for messages. */
export function quote(text: string): string {
  if (text.length <= MAX_ECHO) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_ECHO - 4) + '…')} (${text.length} characters)`;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof value;
  }
}

function article(type: string): string {
  if (type === 'null') return 'null';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function schemaOf(e: ErrorObject): SchemaObject {
  return isSchemaObject(e.parentSchema) ? e.parentSchema : {};
}

function echo(e: ErrorObject, pointer: string, ctx: MessageContext): string {
  const parent = schemaOf(e);
  if (ctx.isSecret(pointer) || parent['x-secret'] === true || parent.format === 'uri') return '';
  const data: unknown = e.data;
  if (typeof data === 'string') return `, got ${quote(data)}`;
  if (typeof data === 'number' || typeof data === 'boolean' || data === null) return `, got ${String(data)}`;
  return `, got ${describeType(data)}`;
}

function countOf(data: unknown): number {
  if (Array.isArray(data)) return data.length;
  return isPlainObject(data) ? Object.keys(data).length : 0;
}

/** Message for string-shape keywords; `x-expected` on the schema says it in words. */
function stringShape(e: ErrorObject, pointer: string, ctx: MessageContext): string {
  const expected = schemaOf(e)['x-expected'];
  if (typeof expected === 'string') return `must be ${expected}${echo(e, pointer, ctx)}`;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long, got ${typeof e.data === 'string' ? e.data.length : '?'}`;
    case 'pattern':
      return `must match the pattern ${String(p.pattern)}${echo(e, pointer, ctx)}`;
    default:
      return `must be a valid ${String(p.format)}${echo(e, pointer, ctx)}`;
  }
}

function translate(e: ErrorObject, keyNames: Map<string, string>, ctx: MessageContext): FieldError | undefined {
  const at = e.instancePath;
  const p = e.params as Record<string, unknown>;
  const parent = schemaOf(e);
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;

  if (propertyName !== undefined) {
    // An error of a `propertyNames` schema: the key itself is wrong. Keys are never secret.
    const noun = keyNames.get(`${at}\u0000${propertyName}`) ?? 'key';
    const expected = parent['x-expected'];
    const what = typeof expected === 'string' ? `must be ${expected}` : (e.message ?? 'is not allowed');
    return { path: appendPointer(at, propertyName), message: `invalid ${noun} ${quote(propertyName)}: ${what}` };
  }

  switch (e.keyword) {
    case 'propertyNames':
    case 'if':
      return undefined; // the errors of the subschema say it better
    case 'required': {
      const missing = String(p.missingProperty);
      const tag = discriminatorTag({ schema: parent, root: ctx.root });
      const choices = tag === missing ? discriminatorValues({ schema: parent, root: ctx.root }) : [];
      const hint = choices.length > 0 ? ` (one of ${choices.join(', ')})` : '';
      return { path: appendPointer(at, missing), message: `is required${hint}` };
    }
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const allowed = isSchemaObject(parent.properties) ? Object.keys(parent.properties) : [];
      const tail = allowed.length > 0 ? `allowed fields here: ${allowed.join(', ')}` : 'no fields are allowed here';
      return { path: appendPointer(at, field), message: `unknown field ${quote(field)}; ${tail}` };
    }
    case 'discriminator': {
      const tag = String(p.tag);
      const tagValue = isPlainObject(e.data) ? e.data[tag] : undefined;
      if (tagValue === undefined) return undefined; // reported by `required`, with the choices
      const choices = discriminatorValues({ schema: parent, root: ctx.root });
      const path = appendPointer(at, tag);
      const got = typeof tagValue === 'string' ? `, got ${quote(tagValue)}` : `, got ${describeType(tagValue)}`;
      return { path, message: `must be one of ${choices.join(', ')}${got}` };
    }
    case 'type': {
      const types = Array.isArray(p.type) ? p.type.map(String) : [String(p.type)];
      return { path: at, message: `must be ${types.map(article).join(' or ')}, got ${describeType(e.data)}` };
    }
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(p.allowedValue)}${echo(e, at, ctx)}` };
    case 'enum': {
      const allowed = Array.isArray(p.allowedValues) ? p.allowedValues.map(String) : [];
      return { path: at, message: `must be one of ${allowed.join(', ')}${echo(e, at, ctx)}` };
    }
    case 'pattern':
    case 'format':
    case 'minLength':
    case 'maxLength':
      return { path: at, message: stringShape(e, at, ctx) };
    case 'maxItems':
      return { path: at, message: `must have at most ${String(p.limit)} items, got ${countOf(e.data)}` };
    case 'minItems':
      return { path: at, message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maxProperties':
      return { path: at, message: `must have at most ${String(p.limit)} entries, got ${countOf(e.data)}` };
    case 'minProperties':
      return { path: at, message: `must have at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}` };
    case 'uniqueItems':
      // ajv: item j repeats the earlier item i.
      return { path: appendPointer(at, String(p.j)), message: `duplicate item (equal to item ${String(p.i)}); items here must be unique` };
    case 'oneOf':
    case 'anyOf':
      return { path: at, message: 'must match exactly one of the allowed shapes' };
    default:
      // ajv's own messages describe the rule, never the data.
      return { path: at, message: e.message ?? `is invalid (${e.keyword})` };
  }
}

/** Translates, drops wrapper errors, and keeps one error per (path, message). Order is ajv's. */
export function translateAjvErrors(errors: readonly ErrorObject[], ctx: MessageContext): FieldError[] {
  const keyNames = new Map<string, string>();
  for (const e of errors) {
    const parent = schemaOf(e);
    if (e.keyword === 'propertyNames' && typeof parent['x-key-name'] === 'string') {
      keyNames.set(`${e.instancePath}\u0000${String((e.params as Record<string, unknown>).propertyName)}`, parent['x-key-name']);
    }
  }
  const out: FieldError[] = [];
  for (const e of errors) {
    const fe = translate(e, keyNames, ctx);
    if (fe) out.push(fe);
  }
  if (out.length === 0 && errors.length > 0) {
    // Never answer "invalid" with no reason: fall back to ajv's wording (which holds no data).
    const e = errors[0] as ErrorObject;
    out.push({ path: e.instancePath, message: e.message ?? 'is invalid' });
  }
  return out;
}
