// An OpenAPI document → its tools, in one pass that may block for a while (a MiB of YAML takes tens of
// milliseconds, validating and dereferencing more): so it runs in document-worker.ts, off the event loop.
// swagger-parser parses, validates and dereferences; it reads nothing by itself: its only resolver is
// `read`, which the worker answers by asking the main thread (document-reader.ts: the egress-checked
// fetch, the byte cap, the budget). Then tool-generation.ts makes the tools.
import { ConditionReason } from '../domain/condition-reasons.js';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenApiSpecSource, OperationSetting } from '../domain/manifest.js';
import { stableStringify } from '../manifest/stable-stringify.js';
import type { OpenApiOperation } from './catalog.js';
import { generateTools } from './tool-generation.js';

// swagger-parser's structural validation (ajv against the OpenAPI 3.0/3.1 schema), run on the bundled
// document: its own validate() runs it after dereferencing, where a schema used twice at every level is
// walked 2^depth times. Bundled (every $ref internal, none resolved), the walk is linear in the bytes.
const validateStructure = createRequire(import.meta.url)('@apidevtools/swagger-parser/lib/validators/schema.js') as (api: unknown) => void;

/** Where an inline document "lives" for swagger-parser: a name that cannot resolve (.invalid, RFC 6761). */
export const INLINE_URL = 'https://inline.openapi.invalid/openapi';

export interface ParseRequest {
  source: OpenApiSpecSource;
  enableAllTools: boolean;
  toolSettings: readonly OperationSetting[];
}

export type ParseFailureReason = 'InvalidOpenApiDocument' | 'CircularReference' | 'TooManyOperations' | 'ToolSchemaTooLarge' | 'ToolNameConflict' | 'ReadFailed';

export type ParseOutcome =
  | {
      ok: true;
      /** sha256 of an inline document (a fetched one is hashed where its bytes are read). */
      inlineHash?: string;
      version: string;
      title: string;
      apiVersion: string;
      operations: OpenApiOperation[];
      unknownOperations: string[];
    }
  /** ReadFailed: `read` failed; the reader knows why. */
  | { ok: false; reason: ParseFailureReason; message: string };

/** `read` answers a document's text or bytes, or throws (the reader records why). `where` names the document in messages. */
export async function parseDocument(request: ParseRequest, read: (url: string) => Promise<string | Uint8Array>, where: string): Promise<ParseOutcome> {
  const { source } = request;
  const options = {
    resolve: {
      file: false,
      http: false,
      external: true,
      controlPlane: {
        order: 1,
        canRead: /^https?:/i,
        read: async (file: { url: string }) => {
          const url = new URL(file.url);
          url.hash = '';
          if (source.type === 'inline' && url.href === INLINE_URL && typeof source.openapi_spec === 'string') return source.openapi_spec;
          return Buffer.from(await read(url.href));
        },
      },
    },
    // Neither text nor binary: a document that is not JSON or YAML is an error, not a string.
    parse: { text: false, binary: false },
    dereference: { circular: false },
  };
  let api: Record<string, unknown>;
  try {
    // swagger-parser works in place: an inline object is copied, never the caller's own.
    const spec = source.type === 'inline' && typeof source.openapi_spec === 'object' ? structuredClone(source.openapi_spec) : undefined;
    const opts = options as SwaggerParser.Options;
    // 1. Every document (ours and those its $refs name) read into one.
    const bundled = (spec
      ? await new SwaggerParser().bundle(INLINE_URL, spec as never, opts)
      : await new SwaggerParser().bundle(source.type === 'remote' ? source.url : INLINE_URL, opts)) as unknown as Record<string, unknown>;
    // 2. Its structure, against the OpenAPI schema of its version (Swagger 2.0 is refused below).
    if (typeof bundled.openapi === 'string') validateStructure(bundled);
    // 3. Dereferenced (cycles refused) and checked against the rules the schema cannot say (path parameters
    //    declared, operationIds unique). Nothing is read any more: every $ref is internal now.
    const internal = { ...options, resolve: { file: false, http: false, external: false }, validate: { schema: false } } as SwaggerParser.Options;
    api = (await new SwaggerParser().validate(INLINE_URL, bundled as never, internal)) as unknown as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ReadFailed || (error as { name?: unknown })?.name === 'ResolverError') return { ok: false, reason: 'ReadFailed', message: 'a document could not be read' };
    return parseFailure(error, where);
  }
  const version = typeof api.openapi === 'string' ? api.openapi : '';
  if (!/^3\.[01]\./.test(version)) {
    return {
      ok: false,
      reason: ConditionReason.InvalidOpenApiDocument,
      message: `The document ${where} is ${typeof api.swagger === 'string' ? `Swagger ${api.swagger}` : 'not OpenAPI 3'}; the control plane serves OpenAPI 3.0 and 3.1 documents. Convert it (e.g. with swagger2openapi).`,
    };
  }
  const generated = generateTools(api, request.toolSettings, request.enableAllTools);
  if ('reason' in generated) return { ok: false, ...generated };
  const info = (typeof api.info === 'object' && api.info !== null ? api.info : {}) as Record<string, unknown>;
  const inline = source.type === 'inline' ? source.openapi_spec : undefined;
  return {
    ok: true,
    ...(inline !== undefined ? { inlineHash: createHash('sha256').update(typeof inline === 'string' ? inline : stableStringify(inline)).digest('hex') } : {}),
    version,
    title: typeof info.title === 'string' ? info.title : '',
    apiVersion: typeof info.version === 'string' ? info.version : '',
    operations: generated.operations,
    unknownOperations: generated.unknownOperations,
  };
}

/** What `read` throws when it fails (the reader has the reason). */
export class ReadFailed extends Error {}

function parseFailure(error: unknown, where: string): ParseOutcome {
  const raw = error instanceof Error ? error.message : String(error);
  const text = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 600);
  const name = error instanceof Error ? error.name : '';
  if (error instanceof ReferenceError && /circular/i.test(text)) {
    return {
      ok: false,
      reason: ConditionReason.CircularReference,
      message: `The OpenAPI document ${where} has circular $refs (a schema that contains itself), which cannot become a tool's input schema; remove the cycle from the document.`,
    };
  }
  if (name === 'ParserError') return { ok: false, reason: ConditionReason.InvalidOpenApiDocument, message: `The document ${where} is neither JSON nor YAML: ${text}` };
  if (name === 'MissingPointerError') return { ok: false, reason: ConditionReason.InvalidOpenApiDocument, message: `The OpenAPI document ${where} has a $ref to nothing: ${text}` };
  if (/is not a valid Openapi API definition|is not a valid JSON Schema|Unsupported OpenAPI version|Swagger version/i.test(text)) {
    return { ok: false, reason: ConditionReason.InvalidOpenApiDocument, message: `The document ${where} is not an OpenAPI 3.0 or 3.1 document (no "openapi" version and "paths"); check openapi_spec_source.` };
  }
  return { ok: false, reason: ConditionReason.InvalidOpenApiDocument, message: `The OpenAPI document ${where} is not valid: ${text}` };
}
