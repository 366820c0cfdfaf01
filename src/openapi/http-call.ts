// One tools/call of an OpenAPI tool → one HTTP request, and its answer → the tool's result. Building the
// request is pure: path parameters substituted (percent-encoded, so an argument cannot change the path),
// query parameters appended, header parameters set (never over the manifest's own headers), the body
// serialised. The answer is the response body as text: JSON pretty-printed, cut at MAX_RESULT_CHARS.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BODY_ARG, type OpenApiOperation } from './catalog.js';

/** The most characters of a response body a tool result carries; the rest is cut, and the cut is said. */
export const MAX_RESULT_CHARS = 100_000;
/** The most bytes of a response body read (a body past it is cut without being read to its end). */
export const MAX_RESULT_BYTES = 1024 * 1024;

export interface BuiltRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** Headers a tool argument may never set: they are the connection's, or the manifest's business. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'cookie']);

export class ArgumentError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A scalar as text; arrays comma-joined (OpenAPI's `simple` style); objects as JSON. */
function text(value: unknown): string {
  if (Array.isArray(value)) return value.map(text).join(',');
  if (isObject(value)) return JSON.stringify(value);
  return String(value);
}

/**
 * The request of `op` with `args`, to `baseUrl` + the operation's path. `fixedHeaders` (the manifest's
 * auth and additional headers) win over header parameters of the same name. Throws ArgumentError.
 */
export function buildRequest(op: OpenApiOperation, args: Record<string, unknown>, baseUrl: string, fixedHeaders: Record<string, string>): BuiltRequest {
  const missing = op.parameters.filter((p) => p.required && (args[p.arg] === undefined || args[p.arg] === null)).map((p) => p.arg);
  if (op.body?.required && args[BODY_ARG] === undefined) missing.push(BODY_ARG);
  if (missing.length) throw new ArgumentError(`Missing required argument${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`);

  let path = op.path;
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    // Every character that could end the segment or start a query is escaped; "." and ".." (which URLs
    // resolve, escaped or not) are refused, so an argument cannot leave the operation's path.
    const raw = text(args[p.arg]);
    if (raw === '.' || raw === '..') throw new ArgumentError(`Argument ${p.arg} may not be "." or "..".`);
    const value = encodeURIComponent(raw);
    path = path.split(`{${p.name}}`).join(value);
  }
  // The base URL's own query (an API key in the URL, say) is kept; the operation's path goes after its path.
  const url = new URL(baseUrl);
  url.pathname = url.pathname.replace(/\/+$/, '') + path;
  url.hash = '';
  for (const p of op.parameters.filter((x) => x.in === 'query')) {
    const value = args[p.arg];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) && p.explode) for (const v of value) url.searchParams.append(p.name, text(v));
    else if (isObject(value) && p.explode) for (const [k, v] of Object.entries(value)) url.searchParams.append(k, text(v));
    else url.searchParams.append(p.name, text(value));
  }

  const fixed = new Set(Object.keys(fixedHeaders).map((h) => h.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const p of op.parameters.filter((x) => x.in === 'header')) {
    const value = args[p.arg];
    if (value === undefined || value === null) continue;
    const lower = p.name.toLowerCase();
    if (RESERVED_HEADERS.has(lower) || fixed.has(lower)) continue;
    const v = text(value);
    if (/[\r\n\0]/.test(v)) throw new ArgumentError(`Argument ${p.arg} is a header value and may not contain line breaks.`);
    headers[p.name] = v;
  }
  let body: string | undefined;
  if (op.body && args[BODY_ARG] !== undefined) {
    const value = args[BODY_ARG];
    if (op.body.json) body = JSON.stringify(value);
    else if (typeof value === 'string') body = value;
    else throw new ArgumentError(`Argument ${BODY_ARG} is sent as ${op.body.mediaType} and must be a string.`);
    headers['content-type'] = op.body.mediaType;
  }
  headers.accept = 'application/json, */*;q=0.8';
  return { url, method: op.method.toUpperCase(), headers: { ...headers, ...fixedHeaders }, ...(body !== undefined ? { body } : {}) };
}

/**
 * The tool result of an HTTP answer: the body as text (JSON pretty-printed), `isError` for 4xx and 5xx
 * (with the status first). `truncated`: the body had more than MAX_RESULT_BYTES bytes.
 */
export function resultOf(status: number, statusText: string, contentType: string | null, body: Uint8Array, truncated: boolean): CallToolResult {
  let shown = Buffer.from(body).toString('utf8');
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!truncated && (type === 'application/json' || type.endsWith('+json'))) {
    try {
      shown = JSON.stringify(JSON.parse(shown), null, 2);
    } catch {
      // Not JSON after all: shown as it came.
    }
  }
  let cut = truncated;
  if (shown.length > MAX_RESULT_CHARS) {
    // Not inside a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(shown.charAt(MAX_RESULT_CHARS - 1)) ? MAX_RESULT_CHARS - 1 : MAX_RESULT_CHARS;
    shown = shown.slice(0, end);
    cut = true;
  }
  if (cut) shown += `\n\n[The response was cut: a tool result carries at most ${MAX_RESULT_CHARS} characters of it (${MAX_RESULT_BYTES} bytes read).]`;
  const isError = status >= 400;
  const head = isError || shown === '' ? `HTTP ${status}${statusText ? ` ${statusText}` : ''}` : '';
  const textOut = head && shown ? `${head}\n\n${shown}` : head || shown;
  return { content: [{ type: 'text', text: textOut }], ...(isError ? { isError: true } : {}) };
}
