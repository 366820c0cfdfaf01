// The gateway store: the resolved configuration the data plane serves, one entry per server.
// Only the reconciler writes it; the data plane reads nothing else.
import { createHash } from 'node:crypto';
import type { Collaborator } from '../domain/manifest.js';
import { stableStringify } from '../manifest/index.js';

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
  /** Forward the caller's own bearer token upstream (auth_data.type: passthrough). */
  passthroughAuth: boolean;
  tls: { rejectUnauthorized: boolean; caCert?: string };
  disabledTools: string[];
  toolOverrides: Record<string, ToolOverride>;
  /** Who may use the server through the gateway. */
  collaborators: Collaborator[];
  /** The resource generation this entry was built from. */
  generation: number;
}

export interface StoredGatewayEntry extends GatewayEntry {
  /** sha256 of the entry's content, computed from what is stored now. */
  configHash: string;
  /** The hash recorded when the reconciler wrote the entry; differs from configHash after an out-of-band edit. */
  writtenHash: string;
  updatedAt: string;
}

export interface GatewayStore {
  get(fqn: string): StoredGatewayEntry | undefined;
  list(): StoredGatewayEntry[];
  keys(): string[];
  /** Writes the entry unless the stored one has the same content; answers whether it wrote. */
  apply(entry: GatewayEntry): boolean;
  /** Answers whether there was an entry. */
  delete(fqn: string): boolean;
  close(): void;
}

export function gatewayEntryHash(entry: GatewayEntry): string {
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
  };
  return createHash('sha256').update(stableStringify(content)).digest('hex');
}
