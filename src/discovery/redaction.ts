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
