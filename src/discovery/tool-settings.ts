// The manifest's tool_settings applied to the tools a server reported. Pure.
import type { ToolSetting } from '../domain/manifest.js';
import type { DiscoveredTool } from '../domain/resource.js';
import type { UpstreamTool } from './types.js';

export interface AppliedToolSettings {
  /** Every upstream tool, in upstream order, with its setting applied. */
  tools: DiscoveredTool[];
  /** tool_settings names the server does not have, in manifest order, each once. */
  unknownSettings: string[];
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
  return { tools, unknownSettings };
}

/** A setting's annotation left undefined does not erase the upstream one. */
function definedOnly(annotations: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([, v]) => v !== undefined));
}
