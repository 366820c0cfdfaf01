// One canonical form per meaning, so that "same meaning" is "same hash": defaults from the schema's
// `default`s filled in, known objects in the schema's property order, maps with sorted keys, and
// order-insensitive lists (`x-list-type`) sorted by their `x-list-keys` (sets also de-duplicated).
// Header names stay as written; validation refuses names that differ only by case.
import { createHash, createHmac } from 'node:crypto';
import type { McpServerManifest } from '../domain/manifest.js';
import { isPlainObject, setOwn } from './pointer.js';
import { stableStringify } from './stable-stringify.js';
import { itemIdentity } from './rules.js';
import { planOf, type SchemaPlan } from './schema-plan.js';
import { MANIFEST_KINDS, manifestSchemaNode } from './schemas.js';

export { stableStringify } from './stable-stringify.js';

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  // sort() without a comparator orders by UTF-16 code units, as compareText does.
  for (const key of Object.keys(value).sort()) setOwn(out, key, sortedCopy(value[key]));
  return out;
}

function normaliseList(list: unknown[], plan: SchemaPlan): unknown[] {
  const items = plan.items;
  const out = list.map((item) => (items ? normaliseNode(item, items) : sortedCopy(item)));
  const keys = plan.listKeys;
  const listType = plan.listType;
  if (listType === undefined || keys.length === 0) return out;
  const withId = out.map((item) => ({ item, id: itemIdentity(item, keys) }));
  if (withId.some((x) => x.id === undefined)) return out; // not a valid list; leave it to validation
  // Compare key by key (not the joined identity), so "a" < "a-b" regardless of separators.
  withId.sort((x, y) => {
    for (const k of keys) {
      const c = compareText(String((x.item as Record<string, unknown>)[k]), String((y.item as Record<string, unknown>)[k]));
      if (c !== 0) return c;
    }
    return 0;
  });
  if (listType === 'set') {
    return withId.filter((x, i) => i === 0 || x.id !== withId[i - 1]?.id).map((x) => x.item);
  }
  return withId.map((x) => x.item);
}

function normaliseObject(value: Record<string, unknown>, plan: SchemaPlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of plan.declared) {
    const sub = plan.property(key);
    if (Object.prototype.hasOwnProperty.call(value, key)) {
      setOwn(out, key, sub ? normaliseNode(value[key], sub) : sortedCopy(value[key]));
    } else if (sub && sub.default !== undefined) {
      // Normalising copies every object and array (nothing of its input is reused), so the
      // schema's default is not shared with the manifest.
      setOwn(out, key, normaliseNode(sub.default, sub));
    }
  }
  const rest = Object.keys(value).filter((k) => !plan.isDeclared(k));
  if (rest.length === 0) return out;
  for (const key of rest.sort()) {
    const sub = plan.property(key);
    setOwn(out, key, sub ? normaliseNode(value[key], sub) : sortedCopy(value[key]));
  }
  return out;
}

function normaliseNode(value: unknown, location: SchemaPlan): unknown {
  const plan = location.select(value);
  if (!plan) return sortedCopy(value);
  if (Array.isArray(value)) return normaliseList(value, plan);
  if (isPlainObject(value)) return normaliseObject(value, plan);
  return value;
}

/**
 * The canonical form of a validated manifest; a new object, the input is not changed.
 * Idempotent: normaliseManifest(normaliseManifest(m)) deep-equals normaliseManifest(m).
 */
export function normaliseManifest(m: McpServerManifest): McpServerManifest {
  const type = (m as { type?: unknown }).type;
  const node = manifestSchemaNode(type);
  if (!node) throw new Error(`normaliseManifest: unsupported manifest type ${JSON.stringify(type)}`);
  // Deprecated spellings (a stdio server's top-level env) become the canonical ones first.
  const rewrite = MANIFEST_KINDS.get(type as string)?.rewrite;
  return normaliseNode(rewrite ? rewrite(m) : m, planOf(node)) as McpServerManifest;
}

/**
 * The hash (hex) of the normalised manifest, secrets included (a rotated secret is a spec change).
 * Manifests that differ only by defaults, key order or the order of order-insensitive lists hash the same.
 * With a key (the control plane derives one from its secret key) it is HMAC-SHA256: deterministic, so
 * "same spec, same hash" holds, yet the stored hash cannot be used to test guesses of a secret. Without
 * a key, a plain sha256 (offline tools and tests).
 */
export function specHash(m: McpServerManifest, key?: Uint8Array): string {
  return normalisedSpecHash(normaliseManifest(m), key);
}

/**
 * specHash of a manifest that is already normalised (the output of normaliseManifest, whose
 * idempotence makes this equal to specHash), without normalising it again.
 */
export function normalisedSpecHash(normalised: McpServerManifest, key?: Uint8Array): string {
  const text = stableStringify(normalised);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text).digest('hex');
}
