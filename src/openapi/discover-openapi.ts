// Discovery of an mcp-server/openapi server: read the document (src/openapi/load-document.ts), turn its
// operations into tools (tool-generation.ts), and answer them as any discovery does, with the catalog the
// gateway serves them from. `Discovered` means "the document was fetched, parsed and made into tools".
// Contract: never throws.
import { createHash } from 'node:crypto';
import { authStatusOnFailure, authStatusOnSuccess } from '../discovery/auth-status.js';
import type { AuthConfigured, DiscoveryResult } from '../discovery/types.js';
import type { OperationSetting } from '../domain/manifest.js';
import { stableStringify } from '../manifest/index.js';
import type { OpenApiCatalog } from './catalog.js';
import { loadOpenApiDocument, type LoadDocumentDeps, type LoadDocumentInput } from './load-document.js';
import { generateTools } from './tool-generation.js';

export interface OpenApiDiscoveryInput extends LoadDocumentInput {
  enableAllTools: boolean;
  toolSettings: readonly OperationSetting[];
  authConfigured: AuthConfigured;
}

export interface OpenApiDiscovery {
  result: DiscoveryResult;
  /** On success: what the gateway serves. */
  catalog?: OpenApiCatalog;
  /** tool_settings entries (`get /path`) that name no operation of the document. */
  unknownOperations?: string[];
}

export type DiscoverOpenApi = (input: OpenApiDiscoveryInput) => Promise<OpenApiDiscovery>;

export async function discoverOpenApi(input: OpenApiDiscoveryInput, deps: LoadDocumentDeps): Promise<OpenApiDiscovery> {
  const failed = (reason: Extract<DiscoveryResult, { ok: false }>['reason'], message: string, httpStatus?: number): OpenApiDiscovery => ({
    result: { ok: false, reason, message, authStatus: authStatusOnFailure(input.authConfigured, reason, httpStatus), ...(httpStatus ? { httpStatus } : {}) },
  });
  const loaded = await loadOpenApiDocument(input, deps);
  if (!loaded.ok) return failed(loaded.reason, loaded.message, loaded.httpStatus);
  let generated;
  try {
    generated = generateTools(loaded.api, input.toolSettings, input.enableAllTools);
  } catch (error) {
    return failed('InvalidOpenApiDocument', `The OpenAPI document could not be made into tools: ${error instanceof Error ? error.message.slice(0, 300) : 'unknown error'}.`);
  }
  if ('reason' in generated) return failed(generated.reason, generated.message);
  const { operations, unknownOperations } = generated;
  return {
    result: {
      ok: true,
      transport: 'openapi',
      source: `in the OpenAPI ${loaded.version} document (sha256 ${loaded.specHash.slice(0, 12)})`,
      serverInfo: { name: loaded.title, version: loaded.apiVersion },
      capabilities: { tools: { listChanged: true } },
      tools: operations.map((o) => ({ ...o.tool })),
      authStatus: authStatusOnSuccess(input.authConfigured),
    },
    catalog: { specHash: loaded.specHash, revision: createHash('sha256').update(stableStringify(operations)).digest('hex'), operations },
    unknownOperations,
  };
}
