// How deep arrays and objects nest in raw JSON bytes, found without parsing: every walker after a
// parser may recurse (JSON.stringify does), so bodies are bounded before they are parsed.

/**
 * Whether arrays and objects nest deeper than `limit` in the UTF-8 JSON `bytes` (strings skipped).
 * Exact for UTF-8 only: its continuation bytes are never ASCII, while in UTF-16 a character may hold
 * the byte of `"` (U+2241 is 41 22) and hide every bracket after it. So callers accept UTF-8 alone.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > limit) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}
