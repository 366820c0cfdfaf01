// `{{NAME}}` placeholders in the header values of per-user header auth (auth_data: { type: header,
// auth_level: per_user }): each caller's own values fill them in the gateway.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;

/** A value name as a placeholder names it (and as PUT .../credentials takes it). */
export const VALUE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The names the templates' placeholders ask for, sorted, each once. */
export function placeholderNames(templates: Record<string, string>): string[] {
  const names = new Set<string>();
  for (const value of Object.values(templates)) for (const m of value.matchAll(PLACEHOLDER)) names.add(m[1]!);
  return [...names].sort();
}

/**
 * The headers with every placeholder replaced by the caller's value, or the names the caller has not set
 * (nothing is filled then). A value never introduces a line break (it would split the header).
 */
export function fillPlaceholders(templates: Record<string, string>, values: Record<string, string>): { headers: Record<string, string> } | { missing: string[] } {
  const missing = placeholderNames(templates).filter((name) => values[name] === undefined);
  if (missing.length > 0) return { missing };
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates)) headers[name] = template.replace(PLACEHOLDER, (_, key: string) => values[key]!);
  return { headers };
}
