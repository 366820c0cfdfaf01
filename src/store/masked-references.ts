// Specs stored by builds that masked a secret reference like a value (`${env:GITHUB_TOKEN}` kept as
// MASK in the spec column): the spec shows the reference as written again, read from the sealed
// secrets column. Values stay masked. Each engine runs this once per database at open (the counter
// 'references_shown', see sqlite/shown-references.ts and postgres/shown-references.ts).
import { isReferenceOnly } from '../domain/secret-reference.js';
import { MASK } from '../manifest/secrets.js';
import { setAtPointer, valueAt } from '../manifest/pointer.js';
import type { SecretCodec } from './secret-codec.js';

/** The counter row: 0 until the pass has run on the database, then 1. */
export const REFERENCES_SHOWN_COUNTER = 'references_shown';

/** The mask as the spec column's JSON holds it: a spec without it masks nothing. */
export const MASK_JSON = JSON.stringify(MASK);

/**
 * The spec column text with every masked secret whose value is only a reference put back as written, or
 * undefined when there is none. Opens only the secrets masked in the spec; a spec without the mask costs
 * no decoding at all.
 */
export function specShowingReferences(spec: string, secrets: string, codec: SecretCodec): string | undefined {
  if (!spec.includes(MASK_JSON)) return undefined;
  const sealed = JSON.parse(secrets) as Record<string, string>;
  const manifest = JSON.parse(spec) as unknown;
  let changed = false;
  for (const [pointer, value] of Object.entries(sealed)) {
    if (valueAt(manifest, pointer) !== MASK) continue;
    const opened = codec.open(value);
    if (isReferenceOnly(opened) && setAtPointer(manifest, pointer, opened)) changed = true;
  }
  return changed ? JSON.stringify(manifest) : undefined;
}
