// Reads the documents of one OpenAPI discovery for the parser (parse-document.ts, in a worker): the
// document itself and every document its $refs name, through the control plane's fetch (the egress policy
// on every connection and redirect, the server's TLS settings), at most `maxBytes` over all of them and
// MAX_DOCUMENTS documents. The manifest's headers go only to documents of the API's own origin, and then
// no redirect is followed. An inline document may refer only within itself. A failed read is recorded
// with its PascalCase reason and a sentence naming the document and what to do.
import { createHash } from 'node:crypto';
import { egressDenial, type EgressPolicy } from '../upstream/egress.js';
import { errorChain, isAbort, networkFailure, safeUrl } from '../upstream/failure.js';
import { sanitize, secretsOf } from '../upstream/redaction.js';
import { readBytesCapped, responseTooLarge } from '../upstream/response-limits.js';
import { createServerFetch } from '../upstream/server-fetch.js';
import type { DiscoveryFailureReason } from '../discovery/types.js';
import type { TlsOptions } from '../upstream/types.js';
import type { OpenApiSpecSource } from '../domain/manifest.js';

/** Documents read for one discovery at most: the document and the ones its $refs name. */
export const MAX_DOCUMENTS = 20;

export interface ReadDocumentsInput {
  source: OpenApiSpecSource;
  /** The API's base URL: only documents of its origin get the manifest's headers. */
  apiUrl: string;
  /** The manifest's headers (auth_data and additional_headers, resolved). Values are secrets. */
  headers: Record<string, string>;
  tls: TlsOptions;
  /** The budget of the whole discovery. */
  timeoutMs: number;
  /** The longest one fetch may take. */
  requestTimeoutMs?: number;
}

export interface ReadDocumentsDeps {
  egress?: EgressPolicy;
  /** The most bytes read over all documents of one discovery (--upstream-max-message-bytes). */
  maxBytes: number;
}

export interface ReadFailure {
  reason: DiscoveryFailureReason;
  message: string;
  httpStatus?: number;
}

export interface DocumentReader {
  /** The document at `url`'s bytes; rejects after recording why in `failure`. */
  read(url: string): Promise<Uint8Array>;
  /** The first read that failed. */
  readonly failure: ReadFailure | undefined;
  /** sha256 (hex) of the (remote) document's bytes, once read. */
  readonly documentHash: string | undefined;
  /** "at https://…/openapi.json" or "given inline (…)": how messages name the document. */
  readonly where: string;
  /** Aborts reads under way and closes the connections. */
  close(): Promise<void>;
}

export function createDocumentReader(input: ReadDocumentsInput, deps: ReadDocumentsDeps): DocumentReader {
  const { source } = input;
  const apiOrigin = new URL(input.apiUrl).origin;
  const serverFetch = createServerFetch(input.tls, deps.egress ? { egress: deps.egress } : {});
  const abort = new AbortController();
  let failure: ReadFailure | undefined;
  let documentHash: string | undefined;
  let documents = 0;
  let bytesLeft = deps.maxBytes;
  const where = source.type === 'remote' ? `at ${safeUrl(new URL(source.url))}` : 'given inline (openapi_spec_source.openapi_spec)';
  const fail = (f: ReadFailure): never => {
    failure ??= f;
    throw new Error(f.message);
  };

  const read = async (href: string): Promise<Uint8Array> => {
    const url = new URL(href);
    url.hash = '';
    if (source.type === 'inline') {
      return fail({ reason: 'InvalidOpenApiDocument', message: `The inline OpenAPI document refers ($ref) to ${safeUrl(url)}; an inline document may only refer within itself. Inline the referenced schema, or use openapi_spec_source type remote.` });
    }
    const isMain = url.href === new URL(source.url).href;
    const what = isMain ? `The OpenAPI document at ${safeUrl(url)}` : `The document at ${safeUrl(url)}, which the OpenAPI document refers to ($ref),`;
    if (++documents > MAX_DOCUMENTS) fail({ reason: 'InvalidOpenApiDocument', message: `The OpenAPI document ${where} refers to more than ${MAX_DOCUMENTS} documents; bundle it into fewer.` });
    // The manifest's credentials go to the API's origin only, and not along a redirect to elsewhere.
    const own = url.origin === apiOrigin;
    const headers = own ? input.headers : {};
    const signal = input.requestTimeoutMs ? AbortSignal.any([abort.signal, AbortSignal.timeout(input.requestTimeoutMs)]) : abort.signal;
    let response: Response;
    try {
      response = await serverFetch(url, {
        headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', ...headers },
        redirect: own && Object.keys(headers).length > 0 ? 'error' : 'follow',
        signal,
      });
    } catch (error) {
      return fail(fetchFailure(error, url, what, input));
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const status = response.status;
      const auth = status === 401 || status === 403;
      fail({
        reason: auth ? 'AuthenticationRequired' : 'SpecFetchFailed',
        message: `${what} could not be read: HTTP ${status}${auth ? "; check auth_data (its headers are sent to documents of the API's own origin only)" : '; check the URL'}.`,
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
      return fail(fetchFailure(error, url, what, input));
    }
    bytesLeft -= body.byteLength;
    if (isMain) documentHash = createHash('sha256').update(body).digest('hex');
    return body;
  };

  return {
    read,
    get failure() {
      return failure;
    },
    get documentHash() {
      return documentHash;
    },
    where,
    close: async () => {
      abort.abort();
      await serverFetch.close();
    },
  };
}

function fetchFailure(error: unknown, url: URL, what: string, input: ReadDocumentsInput): ReadFailure {
  const denied = egressDenial(error);
  if (denied) {
    return { reason: 'EgressDenied', message: `${what} was not read: ${url.hostname} is denied by the egress policy (${denied.rule}); ask an operator to allow it (--egress-allow), or serve the document from an allowed host.` };
  }
  if (isAborted(error)) return { reason: 'Timeout', message: `${what} did not answer within ${input.requestTimeoutMs ?? input.timeoutMs} ms (${input.requestTimeoutMs ? 'timeouts.request_ms' : 'the discovery budget'}).` };
  const network = networkFailure(error);
  if (errorChain(error).some((e) => e instanceof Error && /redirect/i.test(e.message))) {
    return { reason: 'SpecFetchFailed', message: `${what} answered with a redirect, which is not followed while it carries the manifest's headers; use the URL it redirects to.` };
  }
  if (network?.kind === 'tls') return { reason: 'TLSError', message: `${what} could not be read: TLS failed (${network.code}); check tls_settings.` };
  if (network?.kind === 'unreachable') return { reason: 'Unreachable', message: `${what} could not be read: ${network.code} connecting to ${url.host}.` };
  return { reason: 'SpecFetchFailed', message: `${what} could not be read: ${sanitize(error instanceof Error ? error.message : String(error), secretsOf(input.headers), 200)}.` };
}

/** An abort or AbortSignal.timeout's reason (DOMExceptions, which are not Errors of every realm). */
export function isAborted(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return isAbort(error) || name === 'AbortError' || name === 'TimeoutError';
}
