// Secret values: masked in everything that leaves the process, split out of the stored spec, and
// kept when a client sends the mask back. Which values are secret is read from the schema's
// `x-secret` marks (secret-paths.ts); nothing here names a field.
//
// Values may also be references such as `${env:NAME}` or `${file:PATH}`: a value that is only a reference
// (isReferenceOnly) holds no secret and is shown as written; every other secret value is masked.
import type { FieldError } from '../domain/errors.js';
import { isReferenceOnly } from '../domain/secret-reference.js';
import { childAt, parsePointer, setAtPointer, setOwn, valueAt } from './pointer.js';
import { expandPatterns, formatPattern, secretPatternsFor } from './secret-paths.js';

/** What a secret value reads as in every output. */
export const MASK = '********';

function typeOf(m: unknown): unknown {
  return typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
}

/**
 * JSON pointers (RFC 6901) of every secret value present in `m`, e.g. `/auth_data/headers/Authorization`.
 * For a manifest of unknown type, the secret paths of every kind count.
 */
export function secretPointers(m: unknown): string[] {
  return expandPatterns(m, secretPatternsFor(typeOf(m)));
}

/** The secret path patterns of a manifest type, as strings like `/auth_data/headers/*`. */
export function secretPathPatterns(type: string): string[] {
  return secretPatternsFor(type).map(formatPattern);
}

/**
 * A copy with every secret value replaced by MASK (whatever its type, so nothing leaks), except a value
 * that is only a reference (kept as written). Only the objects
 * and arrays on the way to a secret are copied; the rest is shared with `m` (answers are masked on every
 * read, and a deep copy would cost more than the masking), so change neither afterwards.
 */
export function maskManifest<T>(m: T): T {
  return maskAt(m, secretPointers(m));
}

/** maskManifest of `m`, whose secret pointers are known. */
function maskAt<T>(m: T, pointers: readonly string[]): T {
  if (typeof m !== 'object' || m === null) return m;
  const copies = new Set<unknown>();
  const own = <V>(node: V): V => {
    if (copies.has(node)) return node;
    const copy = (Array.isArray(node) ? node.slice() : { ...node }) as V;
    copies.add(copy);
    return copy;
  };
  const out = own(m);
  for (const pointer of pointers) {
    const segments = parsePointer(pointer);
    const last = segments.pop()!;
    let parent: unknown = out;
    for (const segment of segments) {
      const child = childAt(parent, segment);
      // Inside a secret masked already (a secret within a secret): nothing is left to mask.
      if (typeof child !== 'object' || child === null) {
        parent = undefined;
        break;
      }
      const copy = own(child);
      setChild(parent, segment, copy);
      parent = copy;
    }
    if (parent !== undefined && !isReferenceOnly(childAt(parent, last))) setChild(parent, last, MASK);
  }
  return out;
}

function setChild(container: unknown, segment: string, value: unknown): void {
  if (Array.isArray(container)) container[Number(segment)] = value;
  else setOwn(container as Record<string, unknown>, segment, value);
}

export interface SplitSecrets<M> {
  /** The manifest with every secret value replaced by MASK. */
  spec: M;
  /** Secret pointer → value. */
  secrets: Record<string, string>;
}

/**
 * Separates the secret values from the rest; joinSecrets(split.spec, split.secrets) gives `m` back.
 * The spec is maskManifest(m), so it shares what holds no secret with `m`.
 */
export function splitSecrets<M>(m: M): SplitSecrets<M> {
  const secrets: Record<string, string> = {};
  const pointers = secretPointers(m);
  for (const pointer of pointers) {
    const value = valueAt(m, pointer);
    if (typeof value === 'string') secrets[pointer] = value;
  }
  return { spec: maskAt(m, pointers), secrets };
}

/** A deep copy of `spec` with the secret values put back. A secret whose parent is absent is ignored. */
export function joinSecrets<M>(spec: M, secrets: Readonly<Record<string, string>>): M {
  const out = structuredClone(spec);
  for (const [pointer, value] of Object.entries(secrets)) setAtPointer(out, pointer, value);
  return out;
}

/**
 * Sending back what a GET returned must not wipe the secrets: an incoming secret equal to MASK takes
 * the stored value at the same pointer. When nothing is stored there, the mask cannot stand for
 * anything, and it is an error at that path. Returns a new manifest; the inputs are not changed.
 */
export function restoreMaskedSecrets<M>(incoming: M, stored: M | undefined): { manifest: M; errors: FieldError[] } {
  const manifest = structuredClone(incoming);
  const errors: FieldError[] = [];
  for (const pointer of secretPointers(manifest)) {
    if (valueAt(manifest, pointer) !== MASK) continue;
    const previous = stored === undefined ? undefined : valueAt(stored, pointer);
    if (typeof previous === 'string' && previous !== MASK) {
      setAtPointer(manifest, pointer, previous);
    } else {
      errors.push({
        path: pointer,
        message: `the masked value "${MASK}" can't be kept: no secret is stored at this path; send the real value`,
      });
    }
  }
  return { manifest, errors };
}
