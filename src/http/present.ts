// How resources look on the wire. Secrets are masked here, at the edge, for every answer.
import type { McpServerResource } from '../domain/resource.js';
import type { StoredGatewayEntry } from '../gateway/gateway-entry.js';
import type { StoredEvent } from '../store/index.js';
import { maskManifest, MASK } from '../manifest/index.js';
import { proxyPathOf, resourceView } from './resource-view.js';

export interface PresentOptions {
  publicUrl: string;
}

export function proxyUrlOf(publicUrl: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${proxyPathOf(name)}`;
}

/** The view of a resource (see ./resource-view.ts), for a resource at hand rather than a stored view. */
export function presentServer(r: McpServerResource, options: PresentOptions) {
  const view = resourceView({ ...r, manifest: maskManifest(r.manifest) });
  return { ...view, proxyUrl: view.proxyUrl === null ? null : proxyUrlOf(options.publicUrl, r.name) };
}

export function presentGatewayEntry(e: StoredGatewayEntry) {
  return {
    fqn: e.fqn,
    name: e.name,
    resourceId: e.resourceId,
    accountId: e.accountId,
    upstreamUrl: e.upstreamUrl,
    transport: e.transport,
    headers: Object.fromEntries(Object.keys(e.headers).map((k) => [k, MASK])),
    passthroughAuth: e.passthroughAuth,
    tls: { rejectUnauthorized: e.tls.rejectUnauthorized, caCert: e.tls.caCert !== undefined },
    disabledTools: e.disabledTools,
    toolOverrides: e.toolOverrides,
    connectionType: e.connectionType ?? 'proxy',
    transportPinned: e.transportPinned === true,
    timeouts: e.timeouts ?? null,
    upstreamProxy: e.upstreamProxy
      ? { url: e.upstreamProxy.url, headers: Object.fromEntries(Object.keys(e.upstreamProxy.headers).map((k) => [k, MASK])) }
      : null,
    // mcp-server/stdio: what the gateway runs; env values are secrets.
    stdio: e.stdio ? { command: e.stdio.command, args: e.stdio.args, env: Object.fromEntries(Object.keys(e.stdio.env).map((k) => [k, MASK])) } : null,
    // mcp-server/virtual: its sources (their auth_data overrides are among the masked headers).
    virtual: e.virtual ?? null,
    // mcp-server/openapi: the document served and the operations the gateway makes tools of.
    openapi: e.openapi ? { specHash: e.openapi.specHash, operations: e.openapi.operations.map((o) => ({ tool: o.tool.name, method: o.method, path: o.path })) } : null,
    generation: e.generation,
    configHash: e.configHash,
    updatedAt: e.updatedAt,
  };
}

export function presentEvent(e: StoredEvent) {
  return {
    type: e.type,
    reason: e.reason,
    message: e.message,
    count: e.count,
    firstTimestamp: e.firstTimestamp,
    lastTimestamp: e.lastTimestamp,
    subject: { fqn: e.fqn, id: e.resourceId },
    actor: e.actor,
  };
}
