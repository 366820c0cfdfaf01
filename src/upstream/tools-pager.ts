// The one tools/list pager: every tool of an upstream, page by page, whoever asks (discovery over HTTP,
// discovery of a stdio process, the data plane checking a tool name).
//
// Contract: follows nextCursor until a page has none (or an empty one). At the limit it fails, never
// truncates: more than MAX_TOOL_PAGES pages, or a cursor answered twice, is a ToolListError (the server is
// broken, and a partial list would hide tools, disabled ones included); more than MAX_TOOLS tools is a
// TooManyToolsError, counted before a page is kept. A first page refused with "method not found" by a
// server that did not announce the tools capability is an empty list. Every tool is copied out of the
// answer by toUpstreamTool, with only the fields the control plane keeps.
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { MAX_TOOLS, TooManyToolsError } from './response-limits.js';
import type { UpstreamTool } from './types.js';

/** tools/list pages followed at most; a server paging past this is treated as broken, not truncated. */
export const MAX_TOOL_PAGES = 100;

/** A page as the upstream answered it (the result of one tools/list). */
export interface ToolsPage {
  tools?: unknown;
  nextCursor?: unknown;
}

/** The server pages in a way no list can come of. */
export class ToolListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolListError';
  }
}

/**
 * Every tool of an upstream. `page(cursor)` sends one tools/list (no cursor for the first) and answers
 * its result; it rejects as the upstream answered (an McpError with its code). `announcesTools`: whether
 * the server's initialize announced the tools capability.
 */
export async function listAllTools(page: (cursor: string | undefined) => Promise<ToolsPage>, announcesTools: boolean): Promise<UpstreamTool[]> {
  const tools: UpstreamTool[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let n = 0; n < MAX_TOOL_PAGES; n++) {
    let result: ToolsPage;
    try {
      result = await page(cursor);
    } catch (error) {
      if (n === 0 && !announcesTools && error instanceof McpError && error.code === ErrorCode.MethodNotFound) return [];
      throw error;
    }
    const listed = Array.isArray(result.tools) ? (result.tools as unknown[]) : [];
    // Counted before any is kept; one at a time (a spread of a huge page would overflow the stack).
    if (listed.length > MAX_TOOLS - tools.length) throw new TooManyToolsError(MAX_TOOLS);
    for (const tool of listed) tools.push(toUpstreamTool(tool));
    const next = result.nextCursor;
    if (typeof next !== 'string' || next === '') return tools;
    if (seenCursors.has(next)) throw new ToolListError(`tools/list returned cursor "${next.slice(0, 40)}" twice`);
    seenCursors.add(next);
    cursor = next;
  }
  throw new ToolListError(`tools/list returned more than ${MAX_TOOL_PAGES} pages`);
}

/** The fields of a listed tool the control plane keeps, copied (objects one level deep). */
export function toUpstreamTool(tool: unknown): UpstreamTool {
  const t = (typeof tool === 'object' && tool !== null ? tool : {}) as Record<string, unknown>;
  const obj = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : undefined);
  const out: UpstreamTool = { name: String(t.name ?? ''), inputSchema: obj(t.inputSchema) ?? { type: 'object' } };
  if (typeof t.title === 'string') out.title = t.title;
  if (typeof t.description === 'string') out.description = t.description;
  const outputSchema = obj(t.outputSchema);
  if (outputSchema) out.outputSchema = outputSchema;
  const annotations = obj(t.annotations);
  if (annotations) out.annotations = annotations;
  return out;
}
