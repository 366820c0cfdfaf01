// A readable, secret-safe diff between two normalised documents. Pure.
import { stableStringify } from '../manifest/index.js';
import { isReferenceOnly } from '../domain/secret-reference.js';

export interface DiffOp {
  op: 'add' | 'remove' | 'replace';
  /** JSON pointer into the manifest (changes of the request's metadata appear under /metadata). */
  path: string;
  from?: unknown;
  to?: unknown;
  /** The value is a secret: it changed, and neither side is shown. */
  secret?: true;
}

export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A member that stableStringify (like JSON) leaves out of an object. */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function';
}

/**
 * Whether stableStringify(a) === stableStringify(b) (the same JSON, whatever the key order), found
 * without writing either text: the walk stops at the first difference. The diff asks this at every
 * level of a document, where writing both texts each time cost more than all the rest of a plan.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const objectA = typeof a === 'object' && a !== null;
  const objectB = typeof b === 'object' && b !== null;
  // Two primitives: their JSON says what equal means (0 and -0, undefined and null, ...). The JSON of a
  // primitive is never that of an object or array.
  if (!objectA || !objectB) return !objectA && !objectB && stableStringify(a) === stableStringify(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let members = 0;
  for (const k of Object.keys(ra)) {
    const v = ra[k];
    if (omitted(v)) continue;
    members++;
    const w = rb[k];
    if (omitted(w) || !Object.prototype.hasOwnProperty.call(rb, k) || !jsonEqual(v, w)) return false;
  }
  for (const k of Object.keys(rb)) if (!omitted(rb[k])) members--;
  return members === 0;
}

/** Arrays of objects that carry a `name` (tool_settings) are matched by name, not by position. */
function keyOf(v: unknown): string | undefined {
  return isObject(v) && typeof v.name === 'string' ? v.name : undefined;
}

export interface DiffOptions {
  /** True when a pointer names a secret value; such ops carry `secret: true` and no values. */
  isSecret?: (pointer: string) => boolean;
}

export function diffDocuments(before: unknown, after: unknown, options: DiffOptions = {}): DiffOp[] {
  const ops: DiffOp[] = [];
  const isSecret = options.isSecret ?? (() => false);

  const emit = (op: DiffOp['op'], path: string, from: unknown, to: unknown): void => {
    // A secret field whose sides are references only (or absent) holds no secret: its values are shown.
    const referencesOnly = (op === 'add' || isReferenceOnly(from)) && (op === 'remove' || isReferenceOnly(to));
    if (isSecret(path) && !referencesOnly) {
      ops.push({ op, path, secret: true });
      return;
    }
    const entry: DiffOp = { op, path };
    if (op !== 'add') entry.from = from;
    if (op !== 'remove') entry.to = to;
    ops.push(entry);
  };

  // Values that contain secrets are walked (not emitted whole), so a secret never rides inside a parent value.
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (jsonEqual(a, b)) return;
    if (a === undefined) return addOrRemove('add', b, path);
    if (b === undefined) return addOrRemove('remove', a, path);
    if (isObject(a) && isObject(b)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort()) walk(a[k], b[k], `${path}/${escapePointerToken(k)}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) return walkArray(a, b, path);
    emit('replace', path, a, b);
  };

  const addOrRemove = (op: 'add' | 'remove', value: unknown, path: string): void => {
    if ((isObject(value) || Array.isArray(value)) && containsSecret(value, path)) {
      // An array's items by index (a virtual server's servers carry secrets in their items).
      for (const k of Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value).sort()) {
        const child = `${path}/${escapePointerToken(k)}`;
        const item = (value as Record<string, unknown>)[k];
        walk(op === 'add' ? undefined : item, op === 'add' ? item : undefined, child);
      }
      return;
    }
    emit(op, path, op === 'remove' ? value : undefined, op === 'add' ? value : undefined);
  };

  const containsSecret = (value: unknown, path: string): boolean => {
    if (isSecret(path)) return true;
    if (isObject(value)) return Object.keys(value).some((k) => containsSecret(value[k], `${path}/${escapePointerToken(k)}`));
    if (Array.isArray(value)) return value.some((v, i) => containsSecret(v, `${path}/${i}`));
    return false;
  };

  const walkArray = (a: unknown[], b: unknown[], path: string): void => {
    const keyed = [...a, ...b].every((v) => keyOf(v) !== undefined);
    if (keyed) {
      const beforeByKey = new Map(a.map((v, i) => [keyOf(v)!, i]));
      const afterKeys = new Set(b.map((v) => keyOf(v)!));
      a.forEach((v, i) => {
        if (!afterKeys.has(keyOf(v)!)) emit('remove', `${path}/${i}`, v, undefined);
      });
      b.forEach((v, i) => {
        const j = beforeByKey.get(keyOf(v)!);
        if (j === undefined) emit('add', `${path}/${i}`, undefined, v);
        else walk(a[j], v, `${path}/${i}`);
      });
      return;
    }
    // Unkeyed arrays (collaborators, scopes) are sets after normalisation: report what left and what came.
    const afterSet = new Set(b.map(stableStringify));
    const beforeSet = new Set(a.map(stableStringify));
    a.forEach((v, i) => {
      if (!afterSet.has(stableStringify(v))) emit('remove', `${path}/${i}`, v, undefined);
    });
    b.forEach((v, i) => {
      if (!beforeSet.has(stableStringify(v))) emit('add', `${path}/${i}`, undefined, v);
    });
  };

  walk(before, after, '');
  return ops;
}
