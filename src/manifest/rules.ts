// Rules JSON Schema cannot state, declared in the schema by annotations and checked here:
// - `x-list-type: "map"` + `x-list-keys`: the items of a list are unique by those keys
//   (tool_settings by name). `"set"` lists (collaborators) may repeat items; normalising collapses them.
// - `x-case-insensitive-keys`: the keys of a map must be unique ignoring case (HTTP header names).
// - no object key may be __proto__, constructor or prototype (inputs that bypassed parse.ts, e.g. a
//   JSON body parsed by express, can carry them as own keys).
import type { FieldError } from '../domain/errors.js';
import { RESERVED_KEYS, appendPointer, isPlainObject, toPointer } from './pointer.js';
import { quote } from './messages.js';
import { planOf, type SchemaPlan } from './schema-plan.js';
import type { SchemaNode } from './schemas.js';

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

/** Where the walk is: its segments, joined into a pointer only when an error names it. */
type Path = (string | number)[];

function checkUniqueItems(list: unknown[], plan: SchemaPlan, path: Path, errors: FieldError[]): void {
  const keys = plan.listKeys;
  if (plan.listType !== 'map' || keys.length === 0) return;
  const noun = plan.listItem !== undefined ? `${plan.listItem} ` : '';
  const firstAt = new Map<string, number>();
  list.forEach((item, index) => {
    const id = itemIdentity(item, keys);
    if (id === undefined) return;
    const first = firstAt.get(id);
    if (first === undefined) {
      firstAt.set(id, index);
      return;
    }
    const pointer = toPointer(path);
    const values = (JSON.parse(id) as unknown[]).map((v) => (typeof v === 'string' ? quote(v) : String(v)));
    const single = keys.length === 1;
    errors.push({
      path: single ? appendPointer(appendPointer(pointer, index), keys[0] as string) : appendPointer(pointer, index),
      message: `duplicate ${noun}${keys.join(' and ')} ${values.join(' and ')} (also at ${appendPointer(pointer, first)})`,
    });
  });
}

function checkCaseInsensitiveKeys(map: Record<string, unknown>, plan: SchemaPlan, path: Path, errors: FieldError[]): void {
  if (!plan.caseInsensitiveKeys) return;
  const noun = plan.keyName ?? 'key';
  const seen = new Map<string, string>();
  for (const key of Object.keys(map)) {
    const folded = key.toLowerCase();
    const first = seen.get(folded);
    if (first === undefined) {
      seen.set(folded, key);
      continue;
    }
    const pointer = toPointer(path);
    errors.push({
      path: appendPointer(pointer, key),
      message: `duplicate ${noun} ${quote(key)} (also at ${appendPointer(pointer, first)}): ${noun}s are case-insensitive`,
    });
  }
}

function walk(value: unknown, location: SchemaPlan, path: Path, errors: FieldError[]): void {
  const plan = location.select(value);
  if (!plan) return;
  if (Array.isArray(value)) {
    checkUniqueItems(value, plan, path, errors);
    const items = plan.items;
    if (!items) return;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], items, path, errors);
      path.pop();
    }
  } else if (isPlainObject(value)) {
    checkCaseInsensitiveKeys(value, plan, path, errors);
    for (const key of Object.keys(value)) {
      if (RESERVED_KEYS.has(key)) {
        errors.push({ path: appendPointer(toPointer(path), key), message: `the key ${quote(key)} is not allowed (reserved in JavaScript)` });
        continue;
      }
      const sub = plan.property(key);
      if (!sub) continue;
      path.push(key);
      walk(value[key], sub, path, errors);
      path.pop();
    }
  }
}

/** Checks the annotation rules over any value (valid or not); never throws on odd shapes. */
export function checkSchemaRules(value: unknown, node: SchemaNode): FieldError[] {
  const errors: FieldError[] = [];
  walk(value, planOf(node), [], errors);
  return errors;
}
