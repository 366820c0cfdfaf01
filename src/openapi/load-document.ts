// Reads an OpenAPI 3.0/3.1 document (fetched, or inline in the manifest) and has swagger-parser parse,
// validate and dereference it. swagger-parser never reads anything by itself: it has no file resolver,
// and its http resolver is replaced by ours, which goes through the control plane's fetch (the egress
// policy on every connection and redirect, the server's TLS settings, a byte cap over every document
// read, a time budget). The manifest's headers go only to documents of the API's own origin.
//
// Contract: never throws; answers the dereferenced document or a failure with a PascalCase reason and a
// sentence that names the document and what to do.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import SwaggerParser from '@apidevtools/swagger-parser';
import { egressDenial, type EgressPolicy } from '../discovery/egress.js';
import { isAbort, networkFailure, safeUrl } from '../discovery/failure.js';
import { sanitize, secretsOf } from '../discovery/redaction.js';
import { readBytesCapped, responseTooLarge } from '../discovery/response-limits.js';
import { createServerFetch } from '../discovery/server-fetch.js';
import type { DiscoveryFailureReason, TlsOptions } from '../discovery/types.js';
import type { OpenApiSpecSource } from '../domain/manifest.js';
import { stableStringify } from '../manifest/index.js';

// swagger-parser's structural validation (ajv against the OpenAPI 3.0/3.1 schema), run on the bundled
// document: its own validate() runs it after dereferencing, where a schema used twice at every level is
// walked 2^depth times. Bundled (every $ref internal, none resolved), the walk is linear in the bytes.
const validateStructure = createRequire(import.meta.url)('@apidevtools/swagger-parser/lib/validators/schema.js') as (api: unknown) => void;

/** Documents read for one load at most: the document and the ones its $refs name. */
export const MAX_DOCUMENTS = 20;
/** Where an inline document "lives" for swagger-parser: a name that cannot resolve (.invalid, RFC 6761). */
const INLINE_URL = 'https://inline.openapi.invalid/openapi';

export interface LoadDocumentInput {
  source: OpenApiSpecSource;
  /** The API's base URL: only documents of its origin get the manifest's headers. */
  apiUrl: string;
  /** The manifest's headers (auth_data and additional_headers, resolved). Values are secrets. */
  headers: Record<string, string>;
  tls: TlsOptions;
  /** The budget of the whole load: every fetch and the parse. */
  timeoutMs: number;
  /** The longest one fetch may take. */
  requestTimeoutMs?: number;
}

export interface LoadDocumentDeps {
  egress?: EgressPolicy;
  /** The most bytes read over all documents of one load (--upstream-max-message-bytes). */
  maxBytes: number;
}

export type LoadFailureReason = DiscoveryFailureReason | 'SpecFetchFailed' | 'InvalidOpenApiDocument' | 'CircularReference';

export type LoadedDocument =
  | { ok: true; api: Record<string, unknown>; specHash: string; version: string; title: string; apiVersion: string }
  | { ok: false; reason: LoadFailureReason; message: string; httpStatus?: number };

/** A failure before it is answered (`ok: false` is added then). */
type Failure = { reason: LoadFailureReason; message: string; httpStatus?: number };

/** A failure our resolver met; swagger-parser wraps what a resolver throws, so the original is kept here. */
class ReadFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

export async function loadOpenApiDocument(input: LoadDocumentInput, deps: LoadDocumentDeps): Promise<LoadedDocument> {
  const secrets = secretsOf(input.headers);
  const apiOrigin = new URL(input.apiUrl).origin;
  const serverFetch = createServerFetch(input.tls, deps.egress ? { egress: deps.egress } : {});
  const abort = new AbortController();
  let recorded: Failure | undefined;
  let documents = 0;
  let bytesLeft = deps.maxBytes;
  let mainHash: string | undefined;
  const source = input.source;
  const mainUrl = source.type === 'remote' ? source.url : INLINE_URL;
  const where = source.type === 'remote' ? `at ${safeUrl(new URL(source.url))}` : 'given inline (openapi_spec_source.openapi_spec)';
  const fail = (failure: Failure): never => {
    recorded ??= failure;
    throw new ReadFailed(failure);
  };

  const read = async (file: { url: string }): Promise<string | Buffer> => {
    const url = new URL(file.url);
    url.hash = '';
    if (source.type === 'inline') {
      if (url.href === INLINE_URL && typeof source.openapi_spec === 'string') return source.openapi_spec;
      return fail({ reason: 'InvalidOpenApiDocument', message: `The inline OpenAPI document refers ($ref) to ${safeUrl(url)}; an inline document may only refer within itself. Inline the referenced schema, or use openapi_spec_source type remote.` });
    }
    const isMain = url.href === new URL(mainUrl).href;
    const what = isMain ? `The OpenAPI document at ${safeUrl(url)}` : `The document at ${safeUrl(url)}, which the OpenAPI document refers to ($ref),`;
    if (++documents > MAX_DOCUMENTS) fail({ reason: 'InvalidOpenApiDocument', message: `The OpenAPI document ${where} refers to more than ${MAX_DOCUMENTS} documents; bundle it into fewer.` });
    // The manifest's credentials go to the API's origin only, and not along a redirect to elsewhere.
    const own = url.origin === apiOrigin;
    const headers = own ? input.headers : {};
    const signal = input.requestTimeoutMs ? AbortSignal.any([abort.signal, AbortSignal.timeout(input.requestTimeoutMs)]) : abort.signal;
    let response: Response;
    try {
      response = await serverFetch(url, { headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', ...headers }, redirect: own && Object.keys(headers).length > 0 ? 'error' : 'follow', signal });
    } catch (error) {
      return fail(fetchFailure(error, url, what, input, abort.signal.aborted));
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const status = response.status;
      const auth = status === 401 || status === 403;
      fail({
        reason: auth ? 'AuthenticationRequired' : 'SpecFetchFailed',
        message: `${what} could not be read: HTTP ${status}${auth ? '; check auth_data (its headers are sent to documents of the API\'s own origin only)' : '; check the URL'}.`,
        httpStatus: status,
      });
    }
    let body: Uint8Array;
    try {
      body = await readBytesCapped(response, bytesLeft);
    } catch (error) {
      if (responseTooLarge(error)) {
        return fail({
          reason: 'ResponseTooLarge',
          message: `${what} is larger than ${deps.maxBytes} bytes${documents > 1 ? ' (with the documents read before it)' : ''}; the control plane reads at most that (--upstream-max-message-bytes). Serve a smaller document, or raise the limit.`,
        });
      }
      return fail(fetchFailure(error, url, what, input, abort.signal.aborted));
    }
    bytesLeft -= body.byteLength;
    if (isMain) mainHash = createHash('sha256').update(body).digest('hex');
    return Buffer.from(body);
  };

  const options = {
    resolve: {
      file: false,
      http: false,
      external: true,
      controlPlane: { order: 1, canRead: /^https?:/i, read },
    },
    // Neither text nor binary: a document that is not JSON or YAML is an error, not a string.
    parse: { text: false, binary: false },
    dereference: { circular: false },
  };
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new ReadFailed({ reason: 'Timeout', message: `The OpenAPI document ${where} could not be read within the ${input.timeoutMs} ms budget; check that its server answers, or raise timeouts.total_ms.` }));
    }, input.timeoutMs);
  });
  budget.catch(() => undefined);
  try {
    const spec = source.type === 'inline' && typeof source.openapi_spec === 'object' ? structuredClone(source.openapi_spec) : undefined;
    const opts = options as SwaggerParser.Options;
    // 1. Read every document (ours and those its $refs name) into one; swagger-parser works in place, so an
    //    inline object is copied, never the manifest's own.
    const bundling = spec ? new SwaggerParser().bundle(INLINE_URL, spec as never, opts) : new SwaggerParser().bundle(mainUrl, opts);
    const bundled = (await Promise.race([bundling, budget])) as unknown as Record<string, unknown>;
    // 2. Its structure, against the OpenAPI schema of its version (Swagger 2.0 is refused below).
    if (typeof bundled.openapi === 'string') validateStructure(bundled);
    // 3. Dereferenced (cycles refused) and checked against the rules the schema cannot say (path parameters
    //    declared, operationIds unique). Nothing is read any more: every $ref is internal now.
    const internal = { ...options, resolve: { file: false, http: false, external: false }, validate: { schema: false } } as SwaggerParser.Options;
    const api = (await new SwaggerParser().validate(INLINE_URL, bundled as never, internal)) as unknown as Record<string, unknown>;
    const version = typeof api.openapi === 'string' ? api.openapi : '';
    if (!/^3\.[01]\./.test(version)) {
      return { ok: false, reason: 'InvalidOpenApiDocument', message: `The document ${where} is ${typeof api.swagger === 'string' ? `Swagger ${api.swagger}` : 'not OpenAPI 3'}; the control plane serves OpenAPI 3.0 and 3.1 documents. Convert it (e.g. with swagger2openapi).` };
    }
    const info = (typeof api.info === 'object' && api.info !== null ? api.info : {}) as Record<string, unknown>;
    const inline = source.type === 'inline' ? source.openapi_spec : '';
    const specHash = mainHash ?? createHash('sha256').update(typeof inline === 'string' ? inline : stableStringify(inline)).digest('hex');
    return { ok: true, api, specHash, version, title: typeof info.title === 'string' ? info.title : '', apiVersion: typeof info.version === 'string' ? info.version : '' };
  } catch (error) {
    return { ok: false, ...(recorded ?? (error instanceof ReadFailed ? error.failure : parseFailure(error, where, secrets))) };
  } finally {
    clearTimeout(timer);
    abort.abort();
    await serverFetch.close();
  }
}

function fetchFailure(error: unknown, url: URL, what: string, input: LoadDocumentInput, budgetOver: boolean): Failure {
  const denied = egressDenial(error);
  if (denied) {
    return { reason: 'EgressDenied', message: `${what} was not read: ${url.hostname} is denied by the egress policy (${denied.rule}); ask an operator to allow it (--egress-allow), or serve the document from an allowed host.` };
  }
  if (isAborted(error)) {
    return budgetOver
      ? { reason: 'Timeout', message: `${what} could not be read within the ${input.timeoutMs} ms budget.` }
      : { reason: 'Timeout', message: `${what} did not answer within ${input.requestTimeoutMs} ms (timeouts.request_ms).` };
  }
  const network = networkFailure(error);
  if (network?.kind === 'tls') return { reason: 'TLSError', message: `${what} could not be read: TLS failed (${network.code}); check tls_settings.` };
  if (network?.kind === 'unreachable') return { reason: 'Unreachable', message: `${what} could not be read: ${network.code} connecting to ${url.host}.` };
  return { reason: 'SpecFetchFailed', message: `${what} could not be read: ${sanitize(error instanceof Error ? error.message : String(error), secretsOf(input.headers), 200)}.` };
}

function parseFailure(error: unknown, where: string, secrets: string[]): Failure {
  const text = sanitize(error instanceof Error ? error.message : String(error), secrets, 600);
  const name = error instanceof Error ? error.name : '';
  if (error instanceof ReferenceError && /circular/i.test(text)) {
    return {
      reason: 'CircularReference',
      message: `The OpenAPI document ${where} has circular $refs (a schema that contains itself), which cannot become a tool's input schema; remove the cycle from the document.`,
    };
  }
  if (name === 'ParserError') return { reason: 'InvalidOpenApiDocument', message: `The document ${where} is neither JSON nor YAML: ${text}` };
  if (name === 'MissingPointerError') return { reason: 'InvalidOpenApiDocument', message: `The OpenAPI document ${where} has a $ref to nothing: ${text}` };
  if (/is not a valid Openapi API definition|is not a valid JSON Schema|Unsupported OpenAPI version|Swagger version/i.test(text)) {
    return { reason: 'InvalidOpenApiDocument', message: `The document ${where} is not an OpenAPI 3.0 or 3.1 document (no "openapi" version and "paths"); check openapi_spec_source.` };
  }
  return { reason: 'InvalidOpenApiDocument', message: `The OpenAPI document ${where} is not valid: ${text}` };
}

/** An abort or AbortSignal.timeout's reason (DOMExceptions, which are not Errors of every realm). */
export function isAborted(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return isAbort(error) || name === 'AbortError' || name === 'TimeoutError';
}
