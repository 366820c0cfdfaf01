// A gateway entry: the resolved configuration the data plane serves, one per server, and its hash.
// Stored by the gateway store (src/store: GatewayWriter for the reconciler, GatewayReader for the data plane).
import { createHash, createHmac } from 'node:crypto';
import type { Collaborator } from '../domain/manifest.js';
import { stableStringify } from '../manifest/stable-stringify.js';
import type { OpenApiCatalog } from '../openapi/catalog.js';

export type GatewayTransport = 'streamable-http' | 'sse';

export interface ToolOverride {
  description?: string;
  annotations?: Record<string, unknown>;
}

/** What the gateway needs to serve one server, fully resolved (no references left). */
export interface GatewayEntry {
  fqn: string;
  tenant: string;
  name: string;
  resourceId: string;
  accountId: string;
  upstreamUrl: string;
  /** Detected (or preset) upstream transport; null until known. */
  transport: GatewayTransport | null;
  /** Headers sent upstream: additional_headers, then auth headers (auth wins). Values are secrets. */
  headers: Record<string, string>;
  /**
   * The upstream authenticates each caller (auth_data.type: passthrough, or header auth with auth_level:
   * per_user): the gateway sends it, as the bearer token, a token it minted for the caller and that upstream.
   */
  passthroughAuth: boolean;
  tls: { rejectUnauthorized: boolean; caCert?: string };
  disabledTools: string[];
  toolOverrides: Record<string, ToolOverride>;
  /** Who may use the server through the gateway. */
  collaborators: Collaborator[];
  /** The resource generation this entry was built from. */
  generation: number;
  /**
   * Set while the server must not be served (say, not Ready): the data plane answers 503 with it.
   * Absent means serve. The reconciler owns it like every other field.
   */
  unavailable?: { reason: string; message: string };
  // The fields below come from the manifest's connection_type, transport, timeouts and upstream_proxy
  // (as the GAIA-style API sets them). Each is absent when the manifest does not set it, so entries of
  // manifests without them keep their hash.
  /** `direct`: clients connect to the upstream themselves; the data plane must not serve it (404). Absent means `proxy`. */
  connectionType?: 'proxy' | 'direct';
  /** true: the manifest preset `transport`; use only it, never fall back to the other transport. */
  transportPinned?: boolean;
  /** Per-server timeouts (ms): one upstream request, and connecting a session as a whole. Absent: the data plane's defaults. */
  timeouts?: { requestMs: number; totalMs: number };
  /** Reach the upstream through this HTTP proxy (CONNECT tunnel). Header values are secrets, sent to the proxy only. */
  upstreamProxy?: { url: string; headers: Record<string, string> };
  /**
   * mcp-server/stdio: the gateway runs this command (through the stdio supervisor, src/stdio) instead of
   * connecting to upstreamUrl. `env` values are secrets. Absent for remote servers.
   */
  stdio?: { command: string; args: string[]; env: Record<string, string> };
  /**
   * mcp-server/openapi: the gateway serves these operations as tools itself (src/openapi), each call one HTTP
   * request to upstreamUrl with `headers` and `tls`. Absent for other kinds.
   */
  openapi?: OpenApiCatalog;
  /**
   * mcp-server/virtual: the sources the data plane composes, each reached through its own gateway entry
   * (read by fqn). The virtual entry's own upstreamUrl, transport and tls are unused; its `headers` hold
   * the auth_data overrides of its sources, each name prefixed with the source's name and ':' (no header
   * name contains ':'), so the store seals them like any header. Absent for other kinds.
   */
  virtual?: { sources: VirtualSourceEntry[] };
  /**
   * The upstream takes each caller's own credentials, which the data plane fills in per caller from the
   * credential store: `header` (auth_data header, per_user: the templates are in `headers` under `user:`),
   * or `oauth` (authorization_code: the caller's access token; the client secret, if any, is in `headers`
   * under `oauth:`). `binding`: the credentials made for this binding are valid (src/credentials/binding.ts).
   * Absent for other servers.
   */
  perUser?: PerUserEntry;
}

export interface PerUserEntry {
  kind: 'header' | 'oauth';
  binding: string;
  /** kind oauth: what the manifest sets (the rest is discovered from the server's metadata). */
  oauth?: {
    authorizationUrl?: string;
    tokenUrl?: string;
    registrationUrl?: string;
    clientId?: string;
    scopes?: string[];
    jwtSource: 'access_token' | 'id_token';
  };
}

/** One source of a virtual server, as the reconciler resolved it. */
export interface VirtualSourceEntry {
  /** The source's name (the server's, not the virtual one's). */
  name: string;
  fqn: string;
  /**
   * The tools of the source the virtual server serves, by their names at the source: enabled_tools and
   * the source's tool_settings applied to what it reported. null: every tool it serves (its tools are not
   * known here: a per-user source, no enabled_tools).
   */
  tools: string[] | null;
  /** The source's own tool settings (as its manifest has them), which its tools keep in the union. */
  disabledTools: string[];
  toolOverrides: Record<string, ToolOverride>;
  /**
   * Set when the virtual server overrides the source's auth_data: the headers under the `virtual:<name>:` prefix
   * in the entry's headers replace the source entry's, and so does passthroughAuth.
   */
  authOverride?: { passthroughAuth: boolean };
}

/**
 * Key prefixes in an entry's headers and the stores' sealed headers column, one namespace each (a header
 * name cannot contain ':', so no real header starts so): the upstream proxy's headers and a stdio server's
 * env values (sealed column only), and a virtual server's overrides (`virtual:<source>:<header>`).
 */
export const PROXY_HEADER_PREFIX = 'proxy:';
export const ENV_HEADER_PREFIX = 'env:';
export const VIRTUAL_HEADER_PREFIX = 'virtual:';
/** A per-user header's template (`user:<header>`), and a per-user OAuth client's secret (`oauth:client_secret`). */
export const USER_HEADER_PREFIX = 'user:';
export const OAUTH_CLIENT_SECRET_KEY = 'oauth:client_secret';

/** The headers an entry sends as they are: every key of another namespace (a name with ':') left out. */
export function plainHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !k.includes(':')));
}

/** The per-user header templates of an entry, prefix removed. */
export function userHeaderTemplates(entry: Pick<GatewayEntry, 'headers'>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(entry.headers)
      .filter(([k]) => k.startsWith(USER_HEADER_PREFIX))
      .map(([k, v]) => [k.slice(USER_HEADER_PREFIX.length), v]),
  );
}

/** The key of one header of a virtual server's override for one source. */
export function virtualHeaderKey(source: string, header: string): string {
  return `${VIRTUAL_HEADER_PREFIX}${source}:${header}`;
}

/** The headers a virtual entry holds for one source (its auth_data override), prefix removed. */
export function virtualSourceHeaders(entry: Pick<GatewayEntry, 'headers'>, source: string): Record<string, string> {
  const prefix = virtualHeaderKey(source, '');
  return Object.fromEntries(Object.entries(entry.headers).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

export interface StoredGatewayEntry extends GatewayEntry {
  /** sha256 of the entry's content, computed from what is stored now. */
  configHash: string;
  /** The hash recorded when the reconciler wrote the entry; differs from configHash after an out-of-band edit. */
  writtenHash: string;
  updatedAt: string;
}

/**
 * The hash of an entry's content, header values included (a rotated secret is a change). With a key
 * (derived from the secret key) it is an HMAC, so the hash, stored and answered, cannot be used to
 * test guesses of a header value; without one, a plain sha256 (tests, tools).
 */
export function gatewayEntryHash(entry: GatewayEntry, key?: Uint8Array): string {
  const content: GatewayEntry = {
    fqn: entry.fqn,
    tenant: entry.tenant,
    name: entry.name,
    resourceId: entry.resourceId,
    accountId: entry.accountId,
    upstreamUrl: entry.upstreamUrl,
    transport: entry.transport,
    headers: entry.headers,
    passthroughAuth: entry.passthroughAuth,
    tls: entry.tls,
    disabledTools: entry.disabledTools,
    toolOverrides: entry.toolOverrides,
    collaborators: entry.collaborators,
    generation: entry.generation,
    // Only when present, so entries written before the field existed keep their hash.
    ...(entry.unavailable ? { unavailable: entry.unavailable } : {}),
    ...(entry.connectionType !== undefined ? { connectionType: entry.connectionType } : {}),
    ...(entry.transportPinned !== undefined ? { transportPinned: entry.transportPinned } : {}),
    ...(entry.timeouts !== undefined ? { timeouts: entry.timeouts } : {}),
    ...(entry.upstreamProxy !== undefined ? { upstreamProxy: entry.upstreamProxy } : {}),
    ...(entry.stdio !== undefined ? { stdio: entry.stdio } : {}),
    ...(entry.virtual !== undefined ? { virtual: entry.virtual } : {}),
    ...(entry.openapi !== undefined ? { openapi: entry.openapi } : {}),
    ...(entry.perUser !== undefined ? { perUser: entry.perUser } : {}),
  };
  const text = stableStringify(content);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text).digest('hex');
}
