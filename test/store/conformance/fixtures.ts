// Resources and gateway entries for the conformance suite.
import type { McpServerManifest } from '../../../src/domain/manifest.js';
import { initialStatus, type ResourceStatus, type SourceRef } from '../../../src/domain/resource.js';
import type { GatewayEntry } from '../../../src/gateway/gateway-entry.js';
import type { NewResource, ResourceUpdate } from '../../../src/store/index.js';

export const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];
export const other = { ...subject, subjectId: 'other', subjectSlug: 'other' } as NewResource['createdBy'];
export const SECRET = 'Bearer s3cret-value';
export const fqnOf = (name: string, tenant = 'default') => `${tenant}:mcp-server:${name}`;

export function manifest(name: string, description = `Server ${name}`, secret = SECRET): McpServerManifest {
  return {
    type: 'mcp-server/remote',
    name,
    description,
    url: 'http://127.0.0.1:9/mcp',
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    auth_data: { type: 'header', headers: { Authorization: secret } },
    tags: { team: name.length % 2 === 0 ? 'red' : 'blue' },
  } as unknown as McpServerManifest;
}

export function newResource(name: string, options: { source?: SourceRef; id?: string; tenant?: string } = {}): NewResource {
  const tenant = options.tenant ?? 'default';
  return {
    id: options.id ?? `id-${name}`,
    tenant,
    name,
    fqn: fqnOf(name, tenant),
    manifest: manifest(name),
    specHash: `hash-${name}`,
    source: options.source ?? { kind: 'api' },
    metadata: { note: name },
    accountId: 'default',
    createdBy: subject,
    status: initialStatus(),
  };
}

export function updateOf(name: string, generation: number, changes: Partial<ResourceUpdate> = {}): ResourceUpdate {
  return {
    manifest: manifest(name, `Server ${name}, generation ${generation}`),
    specHash: `hash-${name}-${generation}`,
    generation,
    source: { kind: 'api' },
    metadata: { note: name },
    accountId: 'default',
    updatedBy: other,
    status: initialStatus(),
    ...changes,
  };
}

export function readyStatus(generation: number, ready: 'True' | 'False' = 'True'): ResourceStatus {
  return {
    ...initialStatus(),
    observedGeneration: generation,
    conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'Ready' : 'DiscoveryFailed', message: '', lastTransitionTime: '2026-01-01T00:00:00.000Z', observedGeneration: generation }],
  };
}

export const fileSource = (path: string, root = '/manifests', document = 0): SourceRef => ({ kind: 'file', root, path, document });

export function gatewayEntry(name: string, generation = 1, token = `${name}-token`): GatewayEntry {
  return {
    fqn: fqnOf(name),
    tenant: 'default',
    name,
    resourceId: `id-${name}`,
    accountId: 'default',
    upstreamUrl: `https://${name}.example.com/mcp`,
    transport: null,
    headers: { Authorization: `Bearer ${token}` },
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    disabledTools: [],
    toolOverrides: {},
    collaborators: [],
    generation,
    upstreamProxy: { url: 'http://proxy.example:3128', headers: { 'Proxy-Authorization': `Basic ${token}-proxy` } },
  };
}
