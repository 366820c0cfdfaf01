// What a gateway entry's tool settings do to the tools an upstream serves. Pure.
import { stableStringify } from '../../manifest/stable-stringify.js';
import type { GatewayEntry } from '../gateway-entry.js';

export type ToolSettings = Pick<GatewayEntry, 'disabledTools' | 'toolOverrides' | 'openapi'>;

/** Two entries with the same key show every client the same tool list (an OpenAPI entry's tools are its own). */
export function toolSettingsKey(settings: ToolSettings): string {
  const key = { disabled: [...settings.disabledTools].sort(), overrides: settings.toolOverrides };
  return stableStringify(settings.openapi ? { ...key, openapi: settings.openapi.revision } : key);
}

/** A tools/list result with disabled tools removed and description and annotation overrides applied. */
export function presentToolList(result: Record<string, unknown>, settings: ToolSettings): Record<string, unknown> {
  if (!Array.isArray(result.tools)) return result;
  const disabled = new Set(settings.disabledTools);
  const tools = (result.tools as Record<string, unknown>[])
    .filter((tool) => !disabled.has(String(tool.name)))
    .map((tool) => {
      const override = Object.hasOwn(settings.toolOverrides, String(tool.name)) ? settings.toolOverrides[String(tool.name)] : undefined;
      if (!override) return tool;
      const presented = { ...tool };
      if (override.description !== undefined) presented.description = override.description;
      if (override.annotations !== undefined) {
        // An override left undefined does not erase the upstream annotation.
        const defined = Object.entries(override.annotations).filter(([, v]) => v !== undefined);
        presented.annotations = { ...((tool.annotations as Record<string, unknown> | undefined) ?? {}), ...Object.fromEntries(defined) };
      }
      return presented;
    });
  return { ...result, tools };
}

/** The tool names in a tools/list result. */
export function toolNames(result: Record<string, unknown>): string[] {
  return Array.isArray(result.tools) ? (result.tools as { name?: unknown }[]).map((t) => String(t.name)) : [];
}

/**
 * Why a tools/call for `name` must not reach the upstream, or undefined when it may.
 * `upstreamTools` are the names the upstream serves.
 */
export function toolRefusal(name: string, serverName: string, settings: ToolSettings, upstreamTools: ReadonlySet<string>): string | undefined {
  if (settings.disabledTools.includes(name)) {
    return `Tool "${name}" is disabled on MCP server "${serverName}" by its manifest (tool_settings); ask a manager of the server to enable it.`;
  }
  if (!upstreamTools.has(name)) {
    return `Tool "${name}" is not a tool of MCP server "${serverName}"; call tools/list for the tools it serves.`;
  }
  return undefined;
}
