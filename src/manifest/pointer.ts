// JSON pointers (RFC 6901): every error path and every secret path in the control plane is one.

export function escapeSegment(segment: string | number): string {
  const text = String(segment);
  // Most segments need no escaping; pointers are built for every value a walker visits.
  if (!text.includes('~') && !text.includes('/')) return text;
  return text.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function unescapeSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + escapeSegment(s)).join('');
}

/** `""` → `[]`; `"/a~1b/0"` → `["a/b", "0"]`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`not a JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map(unescapeSegment);
}

export function appendPointer(pointer: string, segment: string | number): string {
  return `${pointer}/${escapeSegment(segment)}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys that JavaScript treats specially; refused in every input (see parse.ts and rules.ts). */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets an own, enumerable property, even for a key like "__proto__" (plain assignment would not). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // Only "__proto__" has a setter on Object.prototype; any other key assigns an own data property,
  // which is what defineProperty would make, at a fraction of its cost.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function hasOwn(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

/** The child of a container, or undefined. Only own properties count, so "constructor" finds nothing. */
export function childAt(container: unknown, segment: string): unknown {
  if (Array.isArray(container)) {
    return /^(0|[1-9]\d*)$/.test(segment) ? container[Number(segment)] : undefined;
  }
  if (isPlainObject(container) && hasOwn(container, segment)) return container[segment];
  return undefined;
}

/** The value at a JSON pointer, or undefined when the path does not exist. */
export function valueAt(value: unknown, pointer: string): unknown {
  let node = value;
  for (const segment of parsePointer(pointer)) {
    node = childAt(node, segment);
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Replaces the value at an existing parent. Returns false (and changes nothing) when the parent does
 * not exist. Own-property writes only, through defineProperty, so no key can reach a prototype.
 */
export function setAtPointer(root: unknown, pointer: string, next: unknown): boolean {
  const segments = parsePointer(pointer);
  const last = segments.pop();
  if (last === undefined) return false;
  let parent = root;
  for (const segment of segments) {
    parent = childAt(parent, segment);
    if (parent === undefined) return false;
  }
  if (Array.isArray(parent)) {
    if (childAt(parent, last) === undefined) return false;
    parent[Number(last)] = next;
    return true;
  }
  if (!isPlainObject(parent)) return false;
  setOwn(parent, last, next);
  return true;
}

/** Orders pointers segment by segment, numbers numerically: /a/2 before /a/10, /a before /a/b. */
export function comparePointers(a: string, b: string): number {
  if (a === b) return 0;
  const sa = parsePointer(a);
  const sb = parsePointer(b);
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i] as string;
    const y = sb[i] as string;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}
