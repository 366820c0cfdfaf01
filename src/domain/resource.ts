// The stored resource: desired state (manifest, generation) plus observed state (status).
import type { McpServerManifest } from './manifest.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Kubernetes-style condition. `reason` is PascalCase; `message` says what to do. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

/** Who manages a resource. Writes from another manager are refused (409). */
export type SourceRef =
  | { kind: 'api' }
  | {
      kind: 'file';
      /** The watched directory, as configured. */
      root: string;
      /** Path of the file relative to `root`, with forward slashes. */
      path: string;
      /** 0-based index of the document in a multi-document file. */
      document: number;
    };

export type SubjectType = 'user' | 'team' | 'serviceaccount' | 'virtualaccount';

/** The caller of a write, as the reference API answers it in `createdBySubject`. */
export interface Subject {
  subjectId: string;
  subjectType: SubjectType;
  subjectSlug: string;
  subjectDisplayName: string;
}

export type AuthStatusValue = 'authenticated' | 'authentication_required' | 'authentication_not_required' | 'unknown';

export interface AuthStatus {
  status: AuthStatusValue;
  method: 'oauth' | 'auth-override' | 'header' | 'passthrough' | null;
  message: string;
  /** A per-user OAuth server the caller has not connected: where they start (POST). */
  authorizeUrl?: string;
}

/** A tool as discovered upstream, with the manifest's tool_settings applied. */
export interface DiscoveredTool {
  name: string;
  /** What the gateway shows: the tool_settings override, else the upstream description. */
  description?: string;
  upstreamDescription?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  disabled: boolean;
  /** mcp-server/virtual: the source server that serves the tool. */
  source?: string;
}

export interface ResourceStatus {
  /** The generation this status describes. 0 before the first reconcile. */
  observedGeneration: number;
  conditions: Condition[];
  tools: DiscoveredTool[];
  authStatus: AuthStatus;
  /** The MCP transport discovery found (shown as metadata.detected_transport). */
  detectedTransport?: 'streamable-http' | 'sse' | 'stdio' | 'openapi';
}

export interface McpServerResource {
  id: string;
  tenant: string;
  name: string;
  /** `<tenant>:mcp-server:<name>`; also the reconcile key. */
  fqn: string;
  /** Normalised, with secret values present. Mask before it leaves the process. */
  manifest: McpServerManifest;
  specHash: string;
  /** Increases only when the normalised spec changes. */
  generation: number;
  /** Global, monotonically increasing; changes on every write, status included. */
  resourceVersion: number;
  source: SourceRef;
  /** Stored as given on apply; auto-detected values (e.g. detected_transport) land here too. */
  metadata: Record<string, unknown>;
  createdBy: Subject;
  updatedBy: Subject;
  accountId: string;
  createdAt: string;
  updatedAt: string;
  status: ResourceStatus;
}

export function serverFqn(tenant: string, name: string): string {
  return `${tenant}:mcp-server:${name}`;
}

export function initialStatus(): ResourceStatus {
  return {
    observedGeneration: 0,
    conditions: [],
    tools: [],
    authStatus: { status: 'unknown', method: null, message: 'Not yet discovered.' },
  };
}

export function describeSource(source: SourceRef): string {
  return source.kind === 'api' ? 'the API' : `file ${source.path} (document ${source.document}) in ${source.root}`;
}
