// Canonical JSON, apart from the manifest schemas (normalise.ts) so that what only compares or hashes values
// (the data plane's tool policy and sessions, the stdio supervisor, bindings) loads no schema or validator.

/** JSON with object keys sorted at every level and no whitespace. Undefined members are dropped, as JSON does. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out += (i === 0 ? '' : ',') + (v === undefined ? 'null' : stableStringify(v));
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  // sort() without a comparator orders by UTF-16 code units, as compareText does.
  for (const k of Object.keys(record).sort()) {
    const v = record[k];
    if (v === undefined || typeof v === 'function') continue;
    out += (out.length === 1 ? '' : ',') + JSON.stringify(k) + ':' + stableStringify(v);
  }
  return out + '}';
}
