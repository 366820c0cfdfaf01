// The HTTP client of the control plane's API, with server and token resolution. Contract: the token is
// sent only in the Authorization header and never appears in an error message or any output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from './io.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const API_PREFIX = '/api/svc/v1';
const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiErrorDetail {
  path: string;
  message: string;
}

/** The server answered with an error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached, or answered something that is not the API. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

export interface ApiClient {
  /** The server as shown to people: no credentials, query or fragment. */
  readonly server: string;
  request<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

export type ClientResolution = { ok: true; client: ApiClient; token: string } | { ok: false; message: string };

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function displayServer(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** --server / MCPCTL_SERVER / default, then --token / MCPCTL_TOKEN / ./data/admin-token (loopback only). */
export function resolveClient(flags: { server?: string | undefined; token?: string | undefined }, io: CliIo): ClientResolution {
  const serverText = flags.server ?? (io.env.MCPCTL_SERVER || undefined) ?? DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(serverText);
  } catch {
    return { ok: false, message: `--server must be an http(s) URL such as ${DEFAULT_SERVER}, got ${JSON.stringify(serverText)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: `--server must be an http:// or https:// URL, got scheme ${JSON.stringify(url.protocol)}` };
  }
  if (url.username || url.password) {
    return { ok: false, message: '--server must not carry credentials; pass the token with --token or MCPCTL_TOKEN' };
  }
  const server = displayServer(url);
  let token = flags.token ?? (io.env.MCPCTL_TOKEN || undefined);
  if (token === undefined) {
    if (!isLoopbackHost(url.hostname)) {
      return { ok: false, message: `no token for ${server}: set MCPCTL_TOKEN (or pass --token)` };
    }
    const file = join(io.cwd, 'data', 'admin-token');
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      token = undefined;
    }
    if (!token) {
      return {
        ok: false,
        message: `no token for ${server}: set MCPCTL_TOKEN (or pass --token), or run mcpctl in the directory of a local control plane (${file} was not readable)`,
      };
    }
  }
  if (/[\s]/.test(token)) return { ok: false, message: 'the token must not contain whitespace' };
  return { ok: true, client: httpClient(server, token), token };
}

/** The most specific reason a fetch failed, e.g. ECONNREFUSED. Duck-typed: fetch's errors may come from another realm. */
function describeCause(err: unknown): string {
  type Failure = { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const e = err as Failure | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  let node: Failure | undefined = e;
  for (let depth = 0; node && depth < 5; depth++) {
    if (typeof node.code === 'string') return node.code;
    const first = Array.isArray(node.errors) ? (node.errors[0] as Failure | undefined) : undefined;
    node = (node.cause as Failure | undefined) ?? first;
  }
  const cause = e?.cause as Failure | undefined;
  const message = typeof cause?.message === 'string' ? cause.message : typeof e?.message === 'string' ? e.message : String(err);
  return message;
}

function errorOf(status: number, body: unknown, text: string): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string') {
    const details = Array.isArray(error.details)
      ? error.details.filter((d): d is ApiErrorDetail => typeof d?.path === 'string' && typeof d?.message === 'string')
      : [];
    return new ApiError(status, typeof error.code === 'string' ? error.code : `HTTP${status}`, error.message, details);
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(status, `HTTP${status}`, `HTTP ${status}${snippet ? `: ${snippet}` : ''}`);
}

/** Tries of one request answered 429 (Too Many Requests), and the longest Retry-After honoured. */
const RATE_LIMIT_ATTEMPTS = 5;
const MAX_RETRY_AFTER_S = 10;

export function httpClient(server: string, token: string): ApiClient {
  return {
    server,
    async request<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      let text: string;
      for (let attempt = 1; ; attempt++) {
        try {
          res = await fetch(`${server}${path}`, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          text = await res.text();
        } catch (err) {
          throw new ConnectionError(`cannot reach the control plane at ${server} (${describeCause(err)})`);
        }
        // The server limits writes per token (429): wait as told and retry, a few times.
        if (res.status !== 429 || attempt >= RATE_LIMIT_ATTEMPTS) break;
        const waitS = Math.min(MAX_RETRY_AFTER_S, Math.max(1, Number(res.headers.get('retry-after')) || 1));
        await new Promise((r) => setTimeout(r, waitS * 1000));
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const error = errorOf(res.status, json, text);
        if (res.status === 401) {
          throw new ApiError(401, error.code, `${server} refused the token (401): ${error.message} Check MCPCTL_TOKEN / --token.`);
        }
        throw error;
      }
      if (json === undefined) throw new ConnectionError(`${server} answered ${method} ${path} with something that is not JSON; is --server the control plane?`);
      return json as T;
    },
  };
}

/** The one-line description of a failure, for stderr. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const details = err.details.map((d) => `\n  ${d.path || '/'}: ${d.message}`).join('');
    return `${err.message}${details}`;
  }
  if (err instanceof ConnectionError) return err.message;
  throw err;
}
