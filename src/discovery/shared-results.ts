// A successful discovery's tool list, each tool's schemas, the capabilities, server info and auth status,
// shared with every other discovery that found the same (json-interner.ts): a discovery record of a server
// that runs the same software as others holds no copy of its own. The values answered are frozen: readers
// build new objects from them, never change them.
//
// The shared objects are built by parsing their JSON text or by assigning their members in order, never by
// spreading: V8 gives a frozen spread copy a hidden class of its own (≈100 B each, per server), while
// frozen objects built so share theirs.
import { JsonInterner } from './json-interner.js';
import type { DiscoveryResult } from './types.js';
import type { UpstreamTool } from '../upstream/types.js';

const shared = new JsonInterner();

/** The members of a tool shared on their own: lists that differ still share their equal schemas. */
const SHARED_MEMBERS: ReadonlySet<string> = new Set(['inputSchema', 'outputSchema', 'annotations']);

/** `result` with its tools, capabilities, server info and auth status replaced by the shared equal values (failures as they are). */
export function shareDiscoveryResult(result: DiscoveryResult): DiscoveryResult {
  if (!result.ok) return result;
  // One lookup for the whole list: a list already held costs one stringify and one hash, no allocation.
  const tools = shared.intern(JSON.stringify(result.tools), () => result.tools.map(shareTool));
  return { ...result, tools, capabilities: share(result.capabilities), serverInfo: share(result.serverInfo), authStatus: share(result.authStatus) };
}

/** A copy of `tool` (its members in their order, so its JSON text is the original's) holding the shared schemas. */
function shareTool(tool: UpstreamTool): UpstreamTool {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(tool)) copy[name] = SHARED_MEMBERS.has(name) && typeof value === 'object' && value !== null ? share(value) : value;
  return copy as unknown as UpstreamTool;
}

function share<T extends object>(value: T): T {
  const text = JSON.stringify(value);
  return shared.intern(text, () => JSON.parse(text) as T);
}

/** How many distinct values are shared now (for tests). */
export function sharedValues(): number {
  return shared.size;
}
