// Discovery of an mcp-server/openapi server: read the document (document-reader.ts, on this thread),
// parse it and make its tools (parse-document.ts, in a worker: document-parser.ts), and answer them as any
// discovery does, with the catalog the gateway serves them from. `Discovered` means "the document was
// fetched, parsed and made into tools". Contract: never throws; answers within the budget.
import { ConditionReason } from '../domain/condition-reasons.js';
import { createHash } from 'node:crypto';
import { authStatusOnFailure, authStatusOnSuccess } from '../discovery/auth-status.js';
import type { AuthConfigured, DiscoveryFailureReason, DiscoveryResult } from '../discovery/types.js';
import type { OperationSetting } from '../domain/manifest.js';
import { stableStringify } from '../manifest/stable-stringify.js';
import type { OpenApiCatalog } from './catalog.js';
import { sharedDocumentParser, type DocumentParser } from './document-parser.js';
import { createDocumentReader, type ReadDocumentsDeps, type ReadDocumentsInput } from './document-reader.js';

export interface OpenApiDiscoveryInput extends ReadDocumentsInput {
  enableAllTools: boolean;
  toolSettings: readonly OperationSetting[];
  authConfigured: AuthConfigured;
}

export interface OpenApiDiscoveryDeps extends ReadDocumentsDeps {
  /** Default: the process's shared parser. */
  parser?: DocumentParser;
}

export interface OpenApiDiscovery {
  result: DiscoveryResult;
  /** On success: what the gateway serves. */
  catalog?: OpenApiCatalog;
  /** tool_settings entries (`get /path`) that name no operation of the document. */
  unknownOperations?: string[];
}

export type DiscoverOpenApi = (input: OpenApiDiscoveryInput) => Promise<OpenApiDiscovery>;

export async function discoverOpenApi(input: OpenApiDiscoveryInput, deps: OpenApiDiscoveryDeps): Promise<OpenApiDiscovery> {
  const failed = (reason: DiscoveryFailureReason, message: string, httpStatus?: number): OpenApiDiscovery => ({
    result: { ok: false, reason, message, authStatus: authStatusOnFailure(input.authConfigured, reason, httpStatus), ...(httpStatus ? { httpStatus } : {}) },
  });
  const reader = createDocumentReader(input, deps);
  let parsed;
  try {
    const request = { source: input.source, enableAllTools: input.enableAllTools, toolSettings: input.toolSettings };
    parsed = await (deps.parser ?? sharedDocumentParser()).parse(request, reader.where, reader.read, input.timeoutMs);
  } finally {
    await reader.close();
  }
  // A read that failed says why better than the parser, which saw only that it failed.
  if (reader.failure) return failed(reader.failure.reason, reader.failure.message, reader.failure.httpStatus);
  if (!parsed.ok) return failed(parsed.reason === 'ReadFailed' || parsed.reason === 'ParserFailed' ? ConditionReason.InvalidOpenApiDocument : parsed.reason, parsed.message);
  const specHash = reader.documentHash ?? parsed.inlineHash ?? '';
  const { operations, unknownOperations } = parsed;
  return {
    result: {
      ok: true,
      transport: 'openapi',
      source: `in the OpenAPI ${parsed.version} document (sha256 ${specHash.slice(0, 12)})`,
      serverInfo: { name: parsed.title, version: parsed.apiVersion },
      capabilities: { tools: { listChanged: true } },
      tools: operations.map((o) => ({ ...o.tool })),
      authStatus: authStatusOnSuccess(input.authConfigured),
    },
    catalog: { specHash, revision: createHash('sha256').update(stableStringify(operations)).digest('hex'), operations },
    unknownOperations,
  };
}
