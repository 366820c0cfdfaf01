// The API's view of MCP servers as mcpctl reads it (see src/http/present.ts), and the reads it needs.
import { API_PREFIX, type ApiClient } from './client.js';
import { didYouMean } from './suggest.js';

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export type SourceView = { kind: 'api' } | { kind: 'file'; root: string; path: string; document: number } | { kind: string };

export interface ServerView {
  id: string;
  fqn: string;
  name: string;
  manifest: Record<string, unknown>;
  tools: { name: string; description?: string; disabled?: boolean }[];
  createdAt: string;
  updatedAt: string;
  proxyUrl: string;
  authStatus?: { status: string; method: string | null; message: string };
  generation: number;
  resourceVersion: string;
  source: SourceView;
  createdBySubject?: { subjectSlug?: string };
  status: { observedGeneration: number; conditions: ConditionView[] };
}

export interface EventView {
  /** Present on GET /events (every server's); the fqn names the server. */
  subject?: { fqn: string; id: string };
  type: string;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

export interface GatewayEntryView {
  fqn: string;
  name: string;
  upstreamUrl: string;
  /** Detected on first discovery; null until then. */
  transport: string | null;
  headers: Record<string, string>;
  passthroughAuth: boolean;
  tls: { rejectUnauthorized: boolean; caCert: boolean };
  disabledTools: string[];
  /** mcp-server/virtual: its sources and the tools each serves (null: every tool); absent or null for other kinds. */
  virtual?: { sources: { name: string; tools: string[] | null }[] } | null;
  /** mcp-server/openapi: the document's hash and the operations served as tools. */
  openapi?: { specHash: string; operations: { tool: string; method: string; path: string }[] } | null;
  generation: number;
  configHash: string;
  updatedAt: string;
}

const SERVERS = `${API_PREFIX}/mcp-servers`;
const PAGE = 1000;

export async function getServer(client: ApiClient, name: string): Promise<ServerView> {
  return (await client.request<{ data: ServerView }>('GET', `${SERVERS}/name/${encodeURIComponent(name)}`)).data;
}

/** Every server the caller may read, following pagination. */
export async function listServers(client: ApiClient): Promise<ServerView[]> {
  const all: ServerView[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.request<{ data: ServerView[]; pagination?: { total?: number } }>('GET', `${SERVERS}?limit=${PAGE}&offset=${offset}`);
    all.push(...page.data);
    const total = page.pagination?.total ?? all.length;
    if (page.data.length === 0 || all.length >= total) return all;
  }
}

export async function deleteServer(client: ApiClient, name: string, options: { force?: boolean } = {}): Promise<ServerView> {
  const query = options.force ? '?force=true' : '';
  return (await client.request<{ data: ServerView }>('DELETE', `${SERVERS}/name/${encodeURIComponent(name)}${query}`)).data;
}

export async function listEvents(client: ApiClient, id: string): Promise<EventView[]> {
  return (await client.request<{ data: EventView[] }>('GET', `${SERVERS}/${encodeURIComponent(id)}/events`)).data;
}

/** Recent events of the server that has `name` now (not of an earlier one of that name). */
export async function listEventsByName(client: ApiClient, name: string): Promise<EventView[]> {
  return (await client.request<{ data: EventView[] }>('GET', `${SERVERS}/name/${encodeURIComponent(name)}/events`)).data;
}

/** Recent events of every server the caller may read, newest last as the API orders them. */
export async function listAllEvents(client: ApiClient, limit = 100): Promise<EventView[]> {
  return (await client.request<{ data: EventView[] }>('GET', `${API_PREFIX}/events?limit=${limit}`)).data;
}

export interface SourceFileView {
  path: string;
  resources: string[];
  errors: { line: number; col: number; pointer: string; message: string }[];
}

export interface WatchedDirectoryView {
  /** The watched directory. */
  path: string;
  lastSyncTime: string | null;
  conditions: ConditionView[];
  files: SourceFileView[];
}

/** The watched manifest directories, their files and every error in them. */
export async function listSources(client: ApiClient): Promise<WatchedDirectoryView[]> {
  return (await client.request<{ data: WatchedDirectoryView[] }>('GET', `${API_PREFIX}/sources`)).data;
}

export async function gatewayEntry(client: ApiClient, fqn: string): Promise<GatewayEntryView | undefined> {
  const { data } = await client.request<{ data: GatewayEntryView[] }>('GET', `${API_PREFIX}/gateway/servers`);
  return data.find((e) => e.fqn === fqn);
}

/** `MCP server "x" not found`, with the closest existing name when there is one. */
export async function notFoundMessage(client: ApiClient, name: string): Promise<string> {
  let hint = '';
  try {
    hint = didYouMean(name, (await listServers(client)).map((s) => s.name));
  } catch {
    // The hint is a courtesy: without the list, none.
  }
  return `MCP server ${JSON.stringify(name)} not found${hint}`;
}

/** The Ready condition, when there is one. */
export function readyCondition(server: ServerView): ConditionView | undefined {
  return server.status.conditions.find((c) => c.type === 'Ready');
}

/** Ready's status: True, False or Unknown (also when the condition is not there yet). */
export function readyOf(server: ServerView): string {
  return server.status.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}

export function sourceLabel(source: SourceView): string {
  if (source.kind === 'file' && 'path' in source) return `file:${source.path}${source.document > 0 ? `#${source.document}` : ''}`;
  return source.kind;
}
