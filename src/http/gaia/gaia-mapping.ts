// The GAIA-style body ↔ the declarative manifest (the body is validated first, in gaia-body.ts). Pure: no
// store, no I/O.
//
// A create body becomes a complete manifest; a PATCH body is laid over the stored manifest, so what GAIA
// cannot express (tls_settings, tool_settings, collaborators, other tags, ...) is kept. Either way the
// result goes through Intake.apply, which validates it against the manifest schema; errors found there
// are reported at the GAIA field they came from (manifestPointerToGaia).
//
// Field map (http | sse → mcp-server/remote; stdio → mcp-server/stdio):
//   projectId                   ownedBy.account
//   name                        tags["gaia/name"]; the resource name is derived from it (resourceNameFor)
//   description                 description (the name when absent or empty)
//   transportType http | sse    transport streamable-http | sse (preset: no detection)
//   url                         url
//   connectionType              connection_type (default proxy)
//   customHeaders               additional_headers (an array of { name, value } or an object map)
//   oauthClientId/Secret/Scope  auth_data { type: oauth2, grant_type: client_credentials, client_id,
//   (+ oauthTokenUrl)             client_secret, scopes (the scope split on spaces), token_url }
//   oauthAuthorizationUrl       auth_data { type: oauth2, grant_type: authorization_code, authorization_url,
//   (+ the OAuth fields above,    and client_id, client_secret, scopes, token_url when sent }: each user
//   all optional then)            connects their own account (an absent client registers dynamically)
//   proxyUrl/AuthToken/Header   upstream_proxy { url, auth_token, auth_header }
//   requestTimeout              timeouts.request_ms (default 30000)
//   maxTotalTimeout             timeouts.total_ms (default 60000)
//   command / args / env        command / args / env (stdio)
import { createHash } from 'node:crypto';
import type { FieldError } from '../../domain/errors.js';
import type { Principal } from '../../domain/principal.js';
import { isPlainObject } from '../../manifest/pointer.js';
import {
  checkFieldsForKind,
  DEFAULTS,
  type GaiaField,
  type GaiaHeaders,
  type GaiaPatch,
  type GaiaServerFields,
  type GaiaTransportType,
  type Validated,
} from './gaia-body.js';

export const REMOTE_TYPE = 'mcp-server/remote';
export const STDIO_TYPE = 'mcp-server/stdio';
/** The tag that keeps the GAIA name (which may hold spaces and capitals) beside the DNS-label resource name. */
export const NAME_TAG = 'gaia/name';

// ---------------------------------------------------------------------------------------------------
// Names.

/**
 * The resource name (a DNS label) for a GAIA name in a project, deterministically: the name lowercased,
 * accents dropped, every run of other characters than a-z and 0-9 turned into '-', trimmed to 54
 * characters ("server" when nothing is left), then '-' and the first 8 hex digits of sha256(projectId).
 * The project suffix keeps equal names in different projects apart; equal names in one project (or
 * names that differ only in case, spaces or punctuation) map to the same resource name, so a second
 * create answers 409.
 */
export function resourceNameFor(projectId: string, name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 54)
    .replace(/-+$/, '');
  const project = createHash('sha256').update(projectId).digest('hex').slice(0, 8);
  return `${slug || 'server'}-${project}`;
}

/** The GAIA name of a resource: its gaia/name tag, else its resource name (created through PUT or a file). */
export function displayNameOf(manifest: { name: string; tags?: Record<string, string> }): string {
  return manifest.tags?.[NAME_TAG] ?? manifest.name;
}

/** Two GAIA names name the same server when they map to the same resource name (same slug). */
export function sameGaiaName(projectId: string, a: string, b: string): boolean {
  return resourceNameFor(projectId, a) === resourceNameFor(projectId, b);
}

/** The collaborator subject of a principal, as RoleAccessPolicy matches it. */
export function subjectOf(principal: Principal): string {
  const s = principal.subject;
  return `${s.subjectType}:${s.subjectSlug}`;
}

// ---------------------------------------------------------------------------------------------------
// Body → manifest.

/** A manifest being built; Intake.apply validates it. */
export type ManifestDraft = Record<string, unknown> & { type: string; name: string };

export function toHeaderMap(headers: GaiaHeaders, errors: FieldError[]): Record<string, string> {
  if (!Array.isArray(headers)) return { ...headers };
  const out: Record<string, string> = {};
  const seen = new Map<string, number>();
  headers.forEach((h, i) => {
    const first = seen.get(h.name.toLowerCase());
    if (first !== undefined) {
      errors.push({ path: `/customHeaders/${i}/name`, message: `duplicate header name "${h.name}" (also at /customHeaders/${first}/name): header names are case-insensitive` });
      return;
    }
    seen.set(h.name.toLowerCase(), i);
    out[h.name] = h.value;
  });
  return out;
}

/** args as one string: split on whitespace; single or double quotes group words (no escapes). */
export function splitArgs(args: string[] | string): string[] {
  if (Array.isArray(args)) return [...args];
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let current: string | undefined;
  let lastEnd = -1;
  for (let m = re.exec(args); m; m = re.exec(args)) {
    const part = m[1] ?? m[2] ?? m[3] ?? '';
    // Adjacent pieces without whitespace between them form one word: a"b c" → ab c.
    if (current !== undefined && m.index === lastEnd) current += part;
    else {
      if (current !== undefined) out.push(current);
      current = part;
    }
    lastEnd = m.index + m[0].length;
  }
  if (current !== undefined) out.push(current);
  return out;
}

function scopesOf(scope: string): string[] {
  return [...new Set(scope.split(/\s+/).filter((s) => s.length > 0))];
}

/**
 * Lays GAIA fields over a manifest draft (in place). `current` is what the draft holds now (for PATCH,
 * the stored manifest), so partial OAuth, proxy and timeout fields merge with what is stored.
 */
function overlay(m: ManifestDraft, f: Partial<GaiaServerFields>, cleared: ReadonlySet<GaiaField>, errors: FieldError[]): void {
  const has = (k: GaiaField) => f[k] !== undefined;
  const tags = isPlainObject(m.tags) ? { ...(m.tags as Record<string, string>) } : {};
  if (f.name !== undefined) tags[NAME_TAG] = f.name;
  m.tags = tags;
  const displayName = tags[NAME_TAG] ?? m.name;
  if (has('description') || cleared.has('description')) m.description = f.description ? f.description : displayName;

  if (has('requestTimeout') || has('maxTotalTimeout') || cleared.has('requestTimeout') || cleared.has('maxTotalTimeout')) {
    const current = isPlainObject(m.timeouts) ? (m.timeouts as { request_ms?: number; total_ms?: number }) : {};
    m.timeouts = {
      request_ms: f.requestTimeout ?? (cleared.has('requestTimeout') ? DEFAULTS.requestTimeout : (current.request_ms ?? DEFAULTS.requestTimeout)),
      total_ms: f.maxTotalTimeout ?? (cleared.has('maxTotalTimeout') ? DEFAULTS.maxTotalTimeout : (current.total_ms ?? DEFAULTS.maxTotalTimeout)),
    };
  }

  if (m.type === STDIO_TYPE) {
    if (has('command')) m.command = f.command;
    if (has('args') || cleared.has('args')) m.args = f.args !== undefined ? splitArgs(f.args) : [];
    // The reference shape: the environment lives in auth_data (a top-level env is its deprecated alias).
    if (has('env') || cleared.has('env')) {
      delete m.env;
      m.auth_data = { type: 'env', env: { ...(f.env ?? {}) } };
    }
    return;
  }

  if (has('url')) m.url = f.url;
  if (f.transportType === 'http') m.transport = 'streamable-http';
  else if (f.transportType === 'sse') m.transport = 'sse';
  if (has('connectionType')) m.connection_type = f.connectionType;
  if (has('customHeaders') || cleared.has('customHeaders')) m.additional_headers = f.customHeaders ? toHeaderMap(f.customHeaders, errors) : {};

  // upstream_proxy: proxyUrl, proxyAuthToken and proxyAuthHeader merge with the stored proxy.
  const proxyFields: GaiaField[] = ['proxyUrl', 'proxyAuthToken', 'proxyAuthHeader'];
  if (cleared.has('proxyUrl')) {
    delete m.upstream_proxy;
    for (const k of ['proxyAuthToken', 'proxyAuthHeader'] as const) {
      if (has(k)) errors.push({ path: `/${k}`, message: 'needs proxyUrl, which this request clears' });
    }
  } else if (proxyFields.some((k) => has(k) || cleared.has(k))) {
    const current = isPlainObject(m.upstream_proxy) ? (m.upstream_proxy as { url?: string; auth_header?: string; auth_token?: string }) : {};
    const url = f.proxyUrl ?? current.url;
    if (url === undefined) {
      for (const k of ['proxyAuthToken', 'proxyAuthHeader'] as const) {
        if (has(k)) errors.push({ path: `/${k}`, message: 'needs proxyUrl: the token and its header are for an HTTP proxy in front of the server' });
      }
    } else {
      const token = f.proxyAuthToken ?? (cleared.has('proxyAuthToken') ? undefined : current.auth_token);
      m.upstream_proxy = {
        url,
        auth_header: f.proxyAuthHeader ?? (cleared.has('proxyAuthHeader') ? DEFAULTS.proxyAuthHeader : (current.auth_header ?? DEFAULTS.proxyAuthHeader)),
        ...(token !== undefined ? { auth_token: token } : {}),
      };
    }
  }

  // auth_data: the OAuth fields merge with a stored oauth2 auth_data (client credentials).
  const oauthFields: GaiaField[] = ['oauthClientId', 'oauthClientSecret', 'oauthScope', 'oauthTokenUrl', 'oauthAuthorizationUrl'];
  const storedAuthorizationUrl = isPlainObject(m.auth_data) && m.auth_data.type === 'oauth2' ? (m.auth_data as { authorization_url?: string }).authorization_url : undefined;
  if (cleared.has('oauthClientId') && f.oauthAuthorizationUrl === undefined && storedAuthorizationUrl === undefined) {
    if (isPlainObject(m.auth_data) && m.auth_data.type === 'oauth2') delete m.auth_data;
    for (const k of ['oauthClientSecret', 'oauthScope', 'oauthTokenUrl'] as const) {
      if (has(k)) errors.push({ path: `/${k}`, message: 'needs oauthClientId, which this request clears' });
    }
  } else if (oauthFields.some((k) => has(k) || cleared.has(k))) {
    const current =
      isPlainObject(m.auth_data) && m.auth_data.type === 'oauth2'
        ? (m.auth_data as { client_id?: string; client_secret?: string; token_url?: string; scopes?: string[]; jwt_source?: string; authorization_url?: string })
        : {};
    const clientId = cleared.has('oauthClientId') ? undefined : (f.oauthClientId ?? current.client_id);
    const clientSecret = cleared.has('oauthClientId') ? undefined : (f.oauthClientSecret ?? current.client_secret);
    const tokenUrl = f.oauthTokenUrl ?? current.token_url;
    const scopes = f.oauthScope !== undefined ? scopesOf(f.oauthScope) : cleared.has('oauthScope') ? [] : (current.scopes ?? []);
    const authorizationUrl = f.oauthAuthorizationUrl ?? current.authorization_url;
    if (authorizationUrl !== undefined) {
      // Each user's own account (authorization code): every other OAuth field is optional.
      m.auth_data = {
        type: 'oauth2',
        grant_type: 'authorization_code',
        authorization_url: authorizationUrl,
        ...(tokenUrl !== undefined ? { token_url: tokenUrl } : {}),
        ...(current.jwt_source ? { jwt_source: current.jwt_source } : {}),
        ...(clientId !== undefined ? { client_id: clientId } : {}),
        ...(clientSecret !== undefined ? { client_secret: clientSecret } : {}),
        ...(scopes.length > 0 ? { scopes } : {}),
      };
      return;
    }
    if (clientId === undefined) {
      errors.push({ path: '/oauthClientId', message: 'is required with the other OAuth fields: the client credentials grant needs a client id' });
    }
    if (clientSecret === undefined) {
      errors.push({ path: '/oauthClientSecret', message: 'is required with oauthClientId: the client credentials grant needs the client secret' });
    }
    if (tokenUrl === undefined) {
      errors.push({
        path: '/oauthTokenUrl',
        message:
          'is required with oauthClientId: the OAuth client credentials grant needs a token endpoint and none can be derived from the other fields; ' +
          'send oauthTokenUrl (an extension of this API), or oauthAuthorizationUrl for each user to connect their own account, or create the server through PUT /api/svc/v1/mcp-servers with auth_data.token_url',
      });
    }
    if (clientId !== undefined && clientSecret !== undefined && tokenUrl !== undefined) {
      m.auth_data = {
        type: 'oauth2',
        grant_type: 'client_credentials',
        token_url: tokenUrl,
        ...(current.jwt_source ? { jwt_source: current.jwt_source } : {}),
        client_id: clientId,
        client_secret: clientSecret,
        ...(scopes.length > 0 ? { scopes } : {}),
      };
    }
  }
}

export interface CreateContext {
  principal: Principal;
}

/** A create body → a complete manifest. Errors are at GAIA pointers. */
export function manifestFromCreate(f: GaiaServerFields, ctx: CreateContext): Validated<ManifestDraft> {
  const errors: FieldError[] = [];
  const stdio = f.transportType === 'stdio';
  const name = resourceNameFor(f.projectId, f.name);
  const m: ManifestDraft = {
    type: stdio ? STDIO_TYPE : REMOTE_TYPE,
    name,
    description: f.description ? f.description : f.name,
    // The creator manages it; everyone in the project (the owning account) may use it.
    collaborators: [
      { subject: subjectOf(ctx.principal), role_id: 'mcp-server-manager' },
      { subject: 'team:everyone', role_id: 'mcp-server-user' },
    ],
    ownedBy: { account: f.projectId },
    tags: {},
  };
  // The reference's defaults are written into the manifest, so a GAIA server behaves as GAIA documents it.
  const withDefaults: Partial<GaiaServerFields> = {
    ...f,
    requestTimeout: f.requestTimeout ?? DEFAULTS.requestTimeout,
    maxTotalTimeout: f.maxTotalTimeout ?? DEFAULTS.maxTotalTimeout,
    ...(stdio ? {} : { connectionType: f.connectionType ?? DEFAULTS.connectionType }),
  };
  // stdio: connectionType proxy is the only possibility, so it is not stored.
  if (stdio) delete withDefaults.connectionType;
  overlay(m, withDefaults, new Set(), errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: m };
}

/** The GAIA transportType of a stored manifest: stdio, or the remote's transport (http when not preset). */
export function transportTypeOf(manifest: { type: string; transport?: string }): GaiaTransportType {
  if (manifest.type === STDIO_TYPE) return 'stdio';
  return manifest.transport === 'sse' ? 'sse' : 'http';
}

/**
 * A PATCH over the stored manifest → the new manifest. projectId may be sent but not changed;
 * transportType may switch between http and sse, not to or from stdio.
 */
export function manifestFromPatch(stored: ManifestDraft, accountId: string, patch: GaiaPatch): Validated<ManifestDraft> {
  const { fields, cleared } = patch;
  const errors: FieldError[] = [];
  if (fields.projectId !== undefined && fields.projectId !== accountId) {
    errors.push({ path: '/projectId', message: `cannot change (the server belongs to project "${accountId}"); create the server in the other project instead` });
  }
  const kind = transportTypeOf(stored as { type: string; transport?: string });
  if (fields.transportType !== undefined && (fields.transportType === 'stdio') !== (kind === 'stdio')) {
    errors.push({
      path: '/transportType',
      message: `cannot change from ${kind} to ${fields.transportType}: stdio and http/sse servers are different kinds; create a new server and delete this one`,
    });
  }
  errors.push(...checkFieldsForKind(fields, kind === 'stdio' ? 'stdio' : (fields.transportType ?? kind), cleared));
  if (errors.length > 0) return { ok: false, errors };
  const m = structuredClone(stored);
  overlay(m, fields, cleared, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: m };
}

// ---------------------------------------------------------------------------------------------------
// Manifest pointers → GAIA pointers, for errors Intake finds.

const POINTER_MAP: [string, string][] = [
  ['/ownedBy/account', '/projectId'],
  ['/ownedBy', '/projectId'],
  ['/tags/gaia~1name', '/name'],
  ['/name', '/name'],
  ['/description', '/description'],
  ['/url', '/url'],
  ['/transport', '/transportType'],
  ['/connection_type', '/connectionType'],
  ['/additional_headers', '/customHeaders'],
  ['/auth_data/client_id', '/oauthClientId'],
  ['/auth_data/client_secret', '/oauthClientSecret'],
  ['/auth_data/scopes', '/oauthScope'],
  ['/auth_data/token_url', '/oauthTokenUrl'],
  ['/auth_data/authorization_url', '/oauthAuthorizationUrl'],
  ['/upstream_proxy/url', '/proxyUrl'],
  ['/upstream_proxy/auth_token', '/proxyAuthToken'],
  ['/upstream_proxy/auth_header', '/proxyAuthHeader'],
  ['/timeouts/request_ms', '/requestTimeout'],
  ['/timeouts/total_ms', '/maxTotalTimeout'],
  ['/command', '/command'],
  ['/args', '/args'],
  ['/auth_data/env', '/env'],
  ['/env', '/env'],
];

/** Where a manifest error belongs in the GAIA body; fields GAIA has no name for stay under /manifest. */
export function manifestPointerToGaia(pointer: string): string {
  for (const [from, to] of POINTER_MAP) {
    if (pointer === from || pointer.startsWith(`${from}/`)) return to + pointer.slice(from.length);
  }
  return `/manifest${pointer}`;
}
