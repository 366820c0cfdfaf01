// Rules JSON Schema cannot state, declared in the schema by annotations and checked here:
// - `x-list-type: "map"` + `x-list-keys`: the items of a list are unique by those keys
//   (tool_settings by name). `"set"` lists (collaborators) may repeat items; normalising collapses them.
// - `x-case-insensitive-keys`: the keys of a map must be unique ignoring case (HTTP header names).
// - no object key may be __proto__, constructor or prototype (inputs that bypassed parse.ts, e.g. a
//   JSON body parsed by express, can carry them as own keys).
import type { FieldError } from '../domain/errors.js';
import { RESERVED_KEYS, appendPointer, isPlainObject } from './pointer.js';
import { quote } from './messages.js';
import { itemsSchema, propertySchema, resolveSchema, selectBranch, type SchemaNode } from './schemas.js';

export function listKeys(node: SchemaNode): string[] {
  const keys = node.schema['x-list-keys'];
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
}

/** The identity of a list item by the list's keys, or undefined when a key is not a plain scalar. */
export function itemIdentity(item: unknown, keys: readonly string[]): string | undefined {
  if (!isPlainObject(item)) return undefined;
  const parts: unknown[] = [];
  for (const k of keys) {
    const v = Object.prototype.hasOwnProperty.call(item, k) ? item[k] : undefined;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
    parts.push(v);
  }
  return JSON.stringify(parts);
}

function checkUniqueItems(list: unknown[], node: SchemaNode, pointer: string, errors: FieldError[]): void {
  const keys = listKeys(node);
  if (node.schema['x-list-type'] !== 'map' || keys.length === 0) return;
  const noun = typeof node.schema['x-list-item'] === 'string' ? `${node.schema['x-list-item']} ` : '';
  const firstAt = new Map<string, number>();
  list.forEach((item, index) => {
    const id = itemIdentity(item, keys);
    if (id === undefined) return;
    const first = firstAt.get(id);
    if (first === undefined) {
      firstAt.set(id, index);
      return;
    }
    const values = (JSON.parse(id) as unknown[]).map((v) => (typeof v === 'string' ? quote(v) : String(v)));
    const single = keys.length === 1;
    errors.push({
      path: single ? appendPointer(appendPointer(pointer, index), keys[0] as string) : appendPointer(pointer, index),
      message: `duplicate ${noun}${keys.join(' and ')} ${values.join(' and ')} (also at ${appendPointer(pointer, first)})`,
    });
  });
}

function checkCaseInsensitiveKeys(map: Record<string, unknown>, node: SchemaNode, pointer: string, errors: FieldError[]): void {
  if (node.schema['x-case-insensitive-keys'] !== true) return;
  const noun = typeof node.schema['x-key-name'] === 'string' ? node.schema['x-key-name'] : 'key';
  const seen = new Map<string, string>();
  for (const key of Object.keys(map)) {
    const folded = key.toLowerCase();
    const first = seen.get(folded);
    if (first === undefined) {
      seen.set(folded, key);
      continue;
    }
    errors.push({
      path: appendPointer(pointer, key),
      message: `duplicate ${noun} ${quote(key)} (also at ${appendPointer(pointer, first)}): ${noun}s are case-insensitive`,
    });
  }
}

function walk(value: unknown, raw: SchemaNode, pointer: string, errors: FieldError[]): void {
  const node = selectBranch(resolveSchema(raw), value);
  if (!node) return;
  if (Array.isArray(value)) {
    checkUniqueItems(value, node, pointer, errors);
    const items = itemsSchema(node);
    if (items) value.forEach((item, i) => walk(item, items, appendPointer(pointer, i), errors));
  } else if (isPlainObject(value)) {
    checkCaseInsensitiveKeys(value, node, pointer, errors);
    for (const key of Object.keys(value)) {
      if (RESERVED_KEYS.has(key)) {
        errors.push({ path: appendPointer(pointer, key), message: `the key ${quote(key)} is not allowed (reserved in JavaScript)` });
        continue;
      }
      const sub = propertySchema(node, key);
      if (sub) walk(value[key], sub, appendPointer(pointer, key), errors);
    }
  }
}

/** Checks the annotation rules over any value (valid or not); never throws on odd shapes. */
export function checkSchemaRules(value: unknown, node: SchemaNode): FieldError[] {
  const errors: FieldError[] = [];
  walk(value, node, '', errors);
  return errors;
}
