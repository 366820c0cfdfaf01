// A resource as the API answers it (its "view"): the one place its JSON layout is made. The store calls
// `resourceViews` (a ViewRenderer) at every write and keeps the text beside the row as an opaque column,
// so reads (a page of a list, a GET, an unchanged PUT) answer stored text: nothing is decoded, decrypted,
// masked or serialised per read. Secrets are masked: the view is made from the masked resource.
//
// The proxy URL depends on where the control plane is reached (--public-url, or the bound port), so
// the stored text holds the path only (`/mcp/<name>`, or null for connection_type direct) as its last
// member, and viewAnswerer puts the base in front when answering.
import type { McpServerResource, ResourceStatus } from '../domain/resource.js';
import type { StoredResourceText, ViewRenderer } from '../store/index.js';

/**
 * The format of the rendered views. Bump it with any change of resourceView (or of its JSON): a store
 * opened on views of another format renders every row again.
 */
export const VIEW_FORMAT = 1;

/** connection_type: direct (only remote servers have one; absent means proxy). */
export function isDirect(r: McpServerResource): boolean {
  return (r.manifest as { connection_type?: string }).connection_type === 'direct';
}

/** Where the gateway serves a server, below the public URL. */
export function proxyPathOf(name: string): string {
  return `/mcp/${encodeURIComponent(name)}`;
}

/** The view of a resource whose secrets are masked already; proxyUrl is the path only (see viewAnswerer). */
export function resourceView(masked: McpServerResource) {
  return {
    id: masked.id,
    fqn: masked.fqn,
    name: masked.name,
    manifest: masked.manifest,
    createdBySubject: masked.createdBy,
    accountId: masked.accountId,
    tools: masked.status.tools,
    specEndpoints: [],
    createdAt: masked.createdAt,
    updatedAt: masked.updatedAt,
    authStatus: masked.status.authStatus,
    generation: masked.generation,
    resourceVersion: String(masked.resourceVersion),
    source: masked.source,
    // Auto-detected values land in metadata beside what the caller gave.
    metadata: masked.status.detectedTransport ? { ...masked.metadata, detected_transport: masked.status.detectedTransport } : masked.metadata,
    status: { observedGeneration: masked.status.observedGeneration, conditions: masked.status.conditions },
    // connection_type direct: the gateway does not serve it, so there is no proxy URL. Last, see viewAnswerer.
    proxyUrl: isDirect(masked) ? null : proxyPathOf(masked.name),
  };
}

export type ResourceView = ReturnType<typeof resourceView>;

/** The text the store keeps. */
export function renderView(masked: McpServerResource): string {
  return JSON.stringify(resourceView(masked));
}

/**
 * renderView of a stored resource with this status and resourceVersion, made from its column texts:
 * a write (a status write is one per reconcile) neither decodes nor serialises the manifest again. The
 * same text as renderView (the members of resourceView, in its order; tested).
 */
export function renderStatusView(r: StoredResourceText, status: ResourceStatus, resourceVersion: number): string {
  const members: string[] = [];
  // JSON.stringify leaves out an undefined member; so does this.
  const add = (name: string, json: string | undefined) => {
    if (json !== undefined) members.push(`"${name}":${json}`);
  };
  const json = JSON.stringify;
  add('id', json(r.id));
  add('fqn', json(r.fqn));
  add('name', json(r.name));
  add('manifest', r.spec);
  add('createdBySubject', r.createdBy);
  add('accountId', json(r.accountId));
  add('tools', json(status.tools));
  add('specEndpoints', '[]');
  add('createdAt', json(r.createdAt));
  add('updatedAt', json(r.updatedAt));
  add('authStatus', json(status.authStatus));
  add('generation', json(r.generation));
  add('resourceVersion', json(String(resourceVersion)));
  add('source', r.source);
  add('metadata', status.detectedTransport ? json({ ...JSON.parse(r.metadata), detected_transport: status.detectedTransport }) : r.metadata);
  add('status', json({ observedGeneration: status.observedGeneration, conditions: status.conditions }));
  add('proxyUrl', json(isDirectSpec(r.spec) ? null : proxyPathOf(r.name)));
  return `{${members.join(',')}}`;
}

/**
 * isDirect of a spec column's text. A top-level `connection_type: direct` is serialised as this
 * substring, so only a spec holding it (it may be nested elsewhere) is decoded to be sure.
 */
function isDirectSpec(spec: string): boolean {
  return spec.includes('"connection_type":"direct"') && (JSON.parse(spec) as { connection_type?: string }).connection_type === 'direct';
}

/** The renderer the store keeps views of. */
export const resourceViews: ViewRenderer = { format: VIEW_FORMAT, render: renderStatusView };

const PROXY_MEMBER = '"proxyUrl":"';
const NO_PROXY = '"proxyUrl":null}';

/**
 * Answers stored views with their proxy paths made absolute under `publicUrl`. The path is a view's
 * last member and comes from encodeURIComponent (no quote or backslash in it), so it is found from the end.
 */
export function viewAnswerer(publicUrl: string): (view: string) => string {
  const base = JSON.stringify(publicUrl.replace(/\/+$/, '')).slice(1, -1);
  return (view) => {
    if (view.endsWith(NO_PROXY)) return view;
    const at = view.lastIndexOf(PROXY_MEMBER) + PROXY_MEMBER.length;
    return view.slice(0, at) + base + view.slice(at);
  };
}
