// How resources look on the wire. Secrets are masked here, at the edge, for every answer.
import type { McpServerResource } from '../domain/resource.js';
import type { StoredGatewayEntry } from '../gateway/gateway-store.js';
import type { StoredEvent } from '../store/index.js';
import { maskManifest, MASK } from '../manifest/index.js';

export interface PresentOptions {
  publicUrl: string;
}

export function proxyUrlOf(publicUrl: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/mcp/${encodeURIComponent(name)}`;
}

/** connection_type: direct (only remote servers have one; absent means proxy). */
export function isDirect(r: McpServerResource): boolean {
  return (r.manifest as { connection_type?: string }).connection_type === 'direct';
}

export function presentServer(r: McpServerResource, options: PresentOptions) {
  return {
    id: r.id,
    fqn: r.fqn,
    name: r.name,
    manifest: maskManifest(r.manifest),
    createdBySubject: r.createdBy,
    accountId: r.accountId,
    tools: r.status.tools,
    specEndpoints: [],
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    // connection_type direct: the gateway does not serve it, so there is no proxy URL.
    proxyUrl: isDirect(r) ? null : proxyUrlOf(options.publicUrl, r.name),
    authStatus: r.status.authStatus,
    generation: r.generation,
    resourceVersion: String(r.resourceVersion),
    source: r.source,
    // Auto-detected values land in metadata beside what the caller gave.
    metadata: r.status.detectedTransport ? { ...r.metadata, detected_transport: r.status.detectedTransport } : r.metadata,
    status: { observedGeneration: r.status.observedGeneration, conditions: r.status.conditions },
  };
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
