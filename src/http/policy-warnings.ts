// What an accepted write tells its caller of the admission policies it breaks (action warn): one
// `Warning: 299 - "<text>"` header per broken rule (RFC 7234, as the Kubernetes API server sends them).
// The text is the verdict's (policy, rule, message): no value of the manifest is in it.
import type { Response } from 'express';
import { describeVerdict, type PolicyVerdict } from '../policy/admission.js';

/** At most this many Warning headers, each at most MAX_WARNING_CHARS: the body has them all. */
const MAX_WARNING_HEADERS = 10;
const MAX_WARNING_CHARS = 500;

/** A header's quoted-string: printable ASCII, `"` and `\\` escaped, bounded. */
function quoted(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_WARNING_CHARS);
  return `"${printable.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function setPolicyWarnings(res: Response, verdicts: readonly PolicyVerdict[]): void {
  const warned = verdicts.filter((v) => v.action === 'warn').slice(0, MAX_WARNING_HEADERS);
  if (warned.length > 0) res.setHeader('Warning', warned.map((v) => `299 - ${quoted(describeVerdict(v))}`));
}
