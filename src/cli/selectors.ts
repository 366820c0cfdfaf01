// -l / --selector: kubectl-style label selectors over a manifest's tags. "key=value" (or "key==value"),
// "key!=value", comma-separated and repeatable; every requirement must hold.
import type { ServerView } from './resources.js';

export interface Requirement {
  key: string;
  op: '=' | '!=';
  value: string;
}

export type Selector = readonly Requirement[];

export type SelectorParse = { ok: true; selector: Selector } | { ok: false; message: string };

export function parseSelectors(texts: readonly string[]): SelectorParse {
  const selector: Requirement[] = [];
  for (const text of texts) {
    for (const part of text.split(',')) {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (!m) return { ok: false, message: `-l must be key=value or key!=value (comma-separated), got ${JSON.stringify(part)}` };
      selector.push({ key: m[1] as string, op: m[2] === '!=' ? '!=' : '=', value: m[3] as string });
    }
  }
  return { ok: true, selector };
}

function tagsOf(server: ServerView): Record<string, unknown> {
  const tags = server.manifest.tags;
  return typeof tags === 'object' && tags !== null ? (tags as Record<string, unknown>) : {};
}

export function matches(server: ServerView, selector: Selector): boolean {
  const tags = tagsOf(server);
  return selector.every((r) => {
    const value = Object.hasOwn(tags, r.key) ? String(tags[r.key]) : undefined;
    return r.op === '=' ? value === r.value : value !== r.value;
  });
}
