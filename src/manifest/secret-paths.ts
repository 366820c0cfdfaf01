// Where secrets live, read from the schemas: every subschema marked `"x-secret": true` becomes a
// path pattern such as /auth_data/headers/* or /auth_data/client_secret. Computed once at load.
import { appendPointer, childAt, escapeSegment, isPlainObject, parsePointer } from './pointer.js';
import { MANIFEST_KINDS, isSchemaObject, resolveSchema, type SchemaObject } from './schemas.js';

/** Matches any one segment: a map key or an array index. */
export const ANY = Symbol('any segment');
export type SecretPattern = readonly (string | typeof ANY)[];

const MAX_DEPTH = 32;

/** Every path at which the schema marks a value as secret. */
export function deriveSecretPatterns(root: SchemaObject): SecretPattern[] {
  const found = new Map<string, SecretPattern>();
  const visit = (raw: unknown, path: (string | typeof ANY)[]): void => {
    if (!isSchemaObject(raw) || path.length > MAX_DEPTH) return;
    const { schema } = resolveSchema({ schema: raw, root });
    if (schema['x-secret'] === true) found.set(formatPattern(path), [...path]);
    if (isSchemaObject(schema.properties)) {
      for (const [key, sub] of Object.entries(schema.properties)) visit(sub, [...path, key]);
    }
    visit(schema.additionalProperties, [...path, ANY]);
    visit(schema.items, [...path, ANY]);
    for (const combinator of ['oneOf', 'anyOf', 'allOf'] as const) {
      const list = schema[combinator];
      if (Array.isArray(list)) for (const sub of list) visit(sub, path);
    }
    visit(schema.then, path);
    visit(schema.else, path);
  };
  visit(root, []);
  return [...found.values()];
}

/** `/auth_data/headers/*` — for humans and logs; `*` stands for any key or index. */
export function formatPattern(pattern: SecretPattern): string {
  return pattern.map((s) => '/' + (s === ANY ? '*' : escapeSegment(s))).join('');
}

const patternsByType = new Map<string, SecretPattern[]>(
  [...MANIFEST_KINDS.values()].map((k) => [k.type, deriveSecretPatterns(k.schema)]),
);
const allPatterns: SecretPattern[] = [...new Map([...patternsByType.values()].flat().map((p) => [formatPattern(p), p])).values()];

/**
 * The secret patterns of a manifest kind. For an unknown or missing type, the union over every kind:
 * when in doubt, mask more.
 */
export function secretPatternsFor(type: unknown): SecretPattern[] {
  return (typeof type === 'string' ? patternsByType.get(type) : undefined) ?? allPatterns;
}

/** Pointers of the values present in `value` that match one of `patterns`, in document order. */
export function expandPatterns(value: unknown, patterns: readonly SecretPattern[]): string[] {
  const out = new Set<string>();
  const expand = (node: unknown, pattern: SecretPattern, i: number, pointer: string): void => {
    if (node === undefined) return;
    if (i === pattern.length) {
      out.add(pointer);
      return;
    }
    const seg = pattern[i];
    if (seg === ANY) {
      if (Array.isArray(node)) node.forEach((v, idx) => expand(v, pattern, i + 1, appendPointer(pointer, idx)));
      else if (isPlainObject(node)) for (const key of Object.keys(node)) expand(node[key], pattern, i + 1, appendPointer(pointer, key));
    } else if (seg !== undefined) {
      expand(childAt(node, seg), pattern, i + 1, appendPointer(pointer, seg));
    }
  };
  for (const p of patterns) expand(value, p, 0, '');
  return [...out];
}

/** True when `pointer` is a secret value or lies inside one. */
export function isSecretPointer(pointer: string, patterns: readonly SecretPattern[]): boolean {
  const segments = parsePointer(pointer);
  return patterns.some(
    (p) => segments.length >= p.length && p.every((seg, i) => seg === ANY || seg === segments[i]),
  );
}
