// The revision history API as the history and rollback commands read it.
import { API_PREFIX, type ApiClient } from './client.js';
import type { DiffEntry } from './output.js';

export interface RevisionView {
  resourceId: string;
  name: string;
  generation: number;
  createdAt: string;
  deletedAt: string | null;
  subject: { subjectId: string; subjectSlug?: string };
  source: { kind: string; root?: string; path?: string; document?: number; line?: number; via: string };
  rolledBackTo: number | null;
  change: string;
  diff: DiffEntry[];
  manifest?: Record<string, unknown>;
}

export interface RollbackAnswer {
  data: { name: string; generation: number };
  action: 'CREATE' | 'UPDATE' | 'UNCHANGED';
  dryRun: boolean;
  rolledBackTo: number;
  diff: DiffEntry[];
}

const byName = (name: string) => `${API_PREFIX}/mcp-servers/name/${encodeURIComponent(name)}`;
const PAGE = 100;

/** Every kept revision of the server of that name (or of a deleted one), newest first. */
export async function listRevisions(client: ApiClient, name: string): Promise<RevisionView[]> {
  const all: RevisionView[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.request<{ data: RevisionView[]; pagination: { total: number } }>('GET', `${byName(name)}/revisions?limit=${PAGE}&offset=${offset}`);
    all.push(...page.data);
    if (page.data.length === 0 || all.length >= page.pagination.total) return all;
  }
}

export async function getRevision(client: ApiClient, name: string, generation: number): Promise<RevisionView> {
  return (await client.request<{ data: RevisionView }>('GET', `${byName(name)}/revisions/${generation}`)).data;
}

export async function rollback(client: ApiClient, name: string, toGeneration: number, dryRun: boolean): Promise<RollbackAnswer> {
  return client.request<RollbackAnswer>('POST', `${byName(name)}/rollback`, { toGeneration, dryRun });
}

/** Where a revision came from, in a few words: api, gaia, rollback, or the file and line. */
export function revisionSourceLabel(r: RevisionView): string {
  if (r.source.kind === 'file') return `${r.source.path ?? '?'}${r.source.line !== undefined ? `:${r.source.line}` : ''}`;
  return r.source.via;
}
