// Messages leave the process (status conditions, API answers, logs): no header value, token or secret
// may be in them, and text that came from a server is bounded and stripped of control characters.

/** Removes secrets and control characters, and bounds the length of text that came from elsewhere. */
export function sanitize(text: string, secrets: string[], max = 240): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/**
 * A bounded, sanitised excerpt of text that may quote a server's body (a JSON parse error citing it, a
 * schema error dumping it): `sanitize`d, then cut before the first character that starts JSON, a quote or
 * markup, so no key or value of the body is shown; at most `max` characters. Empty when nothing is left.
 */
export function excerpt(text: string, secrets: string[], max = 160): string {
  const clean = sanitize(text, secrets, Number.MAX_SAFE_INTEGER);
  const cut = clean.search(/(?!\[redacted\])[{["'`<]/);
  const kept = (cut === -1 ? clean : clean.slice(0, cut)).replace(/[\s:,(]+$/, '');
  if (kept === '') return '';
  const shown = kept.length > max ? `${kept.slice(0, max - 1)}…` : kept;
  return cut === -1 || shown.endsWith('…') ? shown : `${shown} …`;
}

export function secretsOf(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const value of Object.values(headers)) {
    out.push(value);
    // "Bearer abc" / "Basic abc": the credential alone must not leak either.
    const space = value.indexOf(' ');
    if (space > 0) out.push(value.slice(space + 1).trim());
  }
  return out.filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
}
