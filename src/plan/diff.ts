// A readable, secret-safe diff between two normalised documents. Pure.
import { stableStringify } from '../manifest/index.js';

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


function deepEqual(a: unknown, b: unknown): boolean {
  return a === b || stableStringify(a) === stableStringify(b);
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
    if (isSecret(path)) {
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
    if (deepEqual(a, b)) return;
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
    if (isObject(value) && containsSecret(value, path)) {
      for (const k of Object.keys(value).sort()) {
        const child = `${path}/${escapePointerToken(k)}`;
        walk(op === 'add' ? undefined : value[k], op === 'add' ? value[k] : undefined, child);
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
