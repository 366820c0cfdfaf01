// The reconcile plan of an mcp-server/openapi server: discovery reads the OpenAPI document and makes its
// tools (src/openapi); the gateway entry carries them (the catalog) with the API's URL, headers and TLS.
// Until this generation's discovery has finished, the stored entry's catalog of the same generation stays
// (a restart does not empty the tool list); a catalog of an older generation is not kept, since its
// tool_settings may have served an operation the current ones no longer select.
import type { DiscoveryResult, DiscoveryTarget } from '../discovery/index.js';
import { authConfigured, tlsOf, upstreamHeaders } from '../discovery/upstream-settings.js';
import type { OpenApiMcpServerManifest } from '../domain/manifest.js';
import type { McpServerResource } from '../domain/resource.js';
import type { SecretResolver } from '../domain/secret-reference.js';
import type { GatewayEntry, StoredGatewayEntry, ToolOverride } from '../gateway/gateway-entry.js';
import type { DiscoverOpenApi } from '../openapi/discover-openapi.js';
import type { DiscoveryOutcome, DiscoveryRecord } from './discovery-manager.js';
import { hashOf, isPerUserAuth, resourceEntryFields } from './resolve-gateway-entry.js';

export interface OpenApiPlanDeps {
  secrets: SecretResolver;
  discoveryTimeoutMs: number;
  discoverOpenApi: DiscoverOpenApi;
  /**
   * The reconciler's discovery job around `run` (an OAuth client-credentials token first, when the manifest
   * has one: `run` gets the target with its Authorization header).
   */
  job: (m: OpenApiMcpServerManifest, target: DiscoveryTarget, run: (target: DiscoveryTarget) => Promise<DiscoveryOutcome>) => () => Promise<DiscoveryOutcome>;
}

export function openApiPlan(resource: McpServerResource, m: OpenApiMcpServerManifest, stored: StoredGatewayEntry | undefined, deps: OpenApiPlanDeps) {
  const headers = upstreamHeaders(m, deps.secrets);
  const source = m.openapi_spec_source;
  const target: DiscoveryTarget = {
    url: source.type === 'remote' ? source.url : m.url,
    headers,
    tls: tlsOf(m),
    timeoutMs: m.timeouts?.total_ms ?? deps.discoveryTimeoutMs,
    ...(m.timeouts ? { requestTimeoutMs: m.timeouts.request_ms } : {}),
    authConfigured: authConfigured(m),
  };
  const run = async (t: DiscoveryTarget): Promise<DiscoveryOutcome> => {
    const found = await deps.discoverOpenApi({
      source,
      apiUrl: m.url,
      headers: t.headers,
      tls: t.tls,
      timeoutMs: t.timeoutMs,
      ...(t.requestTimeoutMs !== undefined ? { requestTimeoutMs: t.requestTimeoutMs } : {}),
      enableAllTools: m.enable_all_tools,
      toolSettings: m.tool_settings,
      authConfigured: t.authConfigured,
    });
    return { result: found.result, ...(found.catalog ? { openapi: { catalog: found.catalog, unknownOperations: found.unknownOperations ?? [] } } : {}) };
  };
  return {
    // What the tools are made from; the rest of the manifest (description, collaborators, tags) is not, so a
    // change there keeps the record (and the tools) shown while the new generation is discovered again.
    inputsHash: hashOf({ target, apiUrl: m.url, source, enableAllTools: m.enable_all_tools, toolSettings: m.tool_settings }),
    skipDiscovery: false,
    job: deps.job(m, target, run),
    entry: (record: DiscoveryRecord | undefined): GatewayEntry => {
      const bearer = record?.outcome.bearer?.token;
      const catalog = record ? record.outcome.openapi?.catalog : stored?.generation === resource.generation ? stored.openapi : undefined;
      return buildOpenApiGatewayEntry(resource, m, bearer ? upstreamHeaders(m, deps.secrets, bearer) : headers, catalog);
    },
  };
}

/** How the "Discovering" status names what is read: "the OpenAPI document at <url>" or "… given inline". */
export function openApiDocumentName(m: OpenApiMcpServerManifest): string {
  const source = m.openapi_spec_source;
  return source.type === 'remote' ? `the OpenAPI document at ${source.url}` : 'the OpenAPI document given inline';
}

/** What a discovery of an OpenAPI server shows: its tools as made (tool_settings are applied when they are made). */
export function openApiDiscoveredTools(result: Extract<DiscoveryResult, { ok: true }>, outcome: DiscoveryOutcome) {
  const tools = result.tools.map((t) => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description, upstreamDescription: t.description } : {}),
    inputSchema: t.inputSchema,
    ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
    disabled: false,
  }));
  return { tools, unknownSettings: outcome.openapi?.unknownOperations ?? [], unknownDisabled: [] as string[] };
}

function buildOpenApiGatewayEntry(
  resource: McpServerResource,
  m: OpenApiMcpServerManifest,
  headers: Record<string, string>,
  catalog: GatewayEntry['openapi'],
): GatewayEntry {
  const toolOverrides: Record<string, ToolOverride> = {};
  return {
    ...resourceEntryFields(resource, m),
    upstreamUrl: m.url,
    transport: null,
    headers,
    // The API authenticates each caller: it gets a token minted for the caller, never the caller's own.
    passthroughAuth: isPerUserAuth(m) && m.auth_data?.type !== 'oauth2',
    tls: tlsOf(m),
    // tool_settings are applied when the tools are made; nothing is left to hide or override.
    disabledTools: [],
    toolOverrides,
    openapi: catalog ?? { specHash: '', revision: '', operations: [] },
  };
}
