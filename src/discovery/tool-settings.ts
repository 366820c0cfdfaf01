// The manifest's tool_settings applied to the tools a server reported. Pure.
import type { ToolSetting } from '../domain/manifest.js';
import type { DiscoveredTool } from '../domain/resource.js';
import { editDistance } from '../domain/edit-distance.js';
import type { UpstreamTool } from '../upstream/types.js';

export interface AppliedToolSettings {
  /** Every upstream tool, in upstream order, with its setting applied. */
  tools: DiscoveredTool[];
  /** tool_settings names the server does not have, in manifest order, each once. */
  unknownSettings: string[];
  /**
   * The unknown names whose (last) setting says `disabled: true`: a safety setting that disables nothing,
   * most likely a typo that leaves the tool meant enabled. Fail closed on these.
   */
  unknownDisabled: string[];
}

export function applyToolSettings(upstream: UpstreamTool[], settings: ToolSetting[]): AppliedToolSettings {
  // On a duplicate name the last setting wins, as in a map literal.
  const byName = new Map<string, ToolSetting>();
  for (const setting of settings) byName.set(setting.name, setting);

  const tools = upstream.map((tool): DiscoveredTool => {
    const setting = byName.get(tool.name);
    const description = setting?.description ?? tool.description;
    const annotations =
      tool.annotations || setting?.annotations ? { ...(tool.annotations ?? {}), ...definedOnly(setting?.annotations) } : undefined;
    return {
      name: tool.name,
      ...(description !== undefined ? { description } : {}),
      ...(tool.description !== undefined ? { upstreamDescription: tool.description } : {}),
      inputSchema: tool.inputSchema,
      ...(annotations ? { annotations } : {}),
      disabled: setting?.disabled ?? false,
    };
  });

  const upstreamNames = new Set(upstream.map((t) => t.name));
  const unknownSettings = [...new Set(settings.map((s) => s.name))].filter((name) => !upstreamNames.has(name));
  const unknownDisabled = unknownSettings.filter((name) => byName.get(name)?.disabled === true);
  return { tools, unknownSettings, unknownDisabled };
}

/** Names longer than this are not compared (a suggestion is for typos, and the work stays bounded). */
const MAX_COMPARED_NAME = 128;

/**
 * The real tool names closest to `name` by edit distance, closest first (ties in upstream order): at most
 * `max`, and only those within a quarter of the name's length (at least 2 edits), so an unrelated name gets none.
 */
export function closestToolNames(name: string, candidates: readonly string[], max = 3): string[] {
  if (name.length > MAX_COMPARED_NAME) return [];
  const limit = Math.max(2, Math.floor(name.length / 4));
  return candidates
    .filter((c) => c.length <= MAX_COMPARED_NAME && Math.abs(c.length - name.length) <= limit)
    .map((c, i) => ({ c, i, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, max)
    .map((x) => x.c);
}

/** A setting's annotation left undefined does not erase the upstream one. */
function definedOnly(annotations: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([, v]) => v !== undefined));
}
