// reconcile(key) of an mcp-server/virtual server: no discovery of its own. It reads each source's stored
// resource (manifest and status), composes the union of their served tools, and writes the gateway entry
// (the sources by fqn, their tools, auth_data overrides resolved) and status. Ready=False, and the entry
// unavailable, while a source is missing (SourceNotFound), not for its writer to use (SourceForbidden), virtual itself (SourceIsVirtual), not Ready
// (SourceNotReady), cannot take the override (SourceAuthNotApplicable), or two sources serve one tool name
// (ToolNameConflict). Every reconcile of a source requeues the virtual servers that reference it (see
// VirtualSourceIndex), so status follows the sources level-triggered.
import type { Clock } from '../domain/clock.js';
import { isoTime } from '../domain/clock.js';
import { APPLIED, DISCOVERED, findCondition, READY, RECONCILING, STALLED, removeCondition, setCondition } from '../domain/conditions.js';
import type { Logger } from '../domain/logger.js';
import {
  isOpenApiManifest,
  isStdioManifest,
  isVirtualManifest,
  type RemoteMcpServerManifest,
  type VirtualMcpServerManifest,
  type VirtualSource,
} from '../domain/manifest.js';
import { serverFqn, type Condition, type DiscoveredTool, type McpServerResource, type ResourceStatus } from '../domain/resource.js';
import type { SecretResolver } from '../domain/secret-reference.js';
import { upstreamHeaders } from '../discovery/upstream-settings.js';
import { gatewayEntryHash, virtualHeaderKey, type GatewayEntry, type StoredGatewayEntry, type ToolOverride, type VirtualSourceEntry } from '../gateway/gateway-entry.js';
import type { GatewayReader, GatewayWriter, ResourceReader, StatusWriter, Transactions } from '../store/index.js';
import type { ReconcileResult } from './reconcile.js';
import type { VirtualSourceIndex } from './virtual-sources.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import { EventReason } from '../domain/event-reasons.js';

export interface VirtualReconcilerOptions {
  store: ResourceReader & StatusWriter & Transactions;
  gateway: GatewayReader & GatewayWriter;
  secrets: SecretResolver;
  configHashKey?: Uint8Array;
  clock: Clock;
  logger: Logger;
  index: VirtualSourceIndex;
  /** Whether the virtual server's writer may use this source now (else SourceForbidden). Default: always. */
  mayCompose?: (virtual: McpServerResource, source: McpServerResource) => boolean;
  event(resource: { fqn: string; id: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  /** Events for the changes between two statuses (tools, Ready), as for every server. */
  recordTransitions(resource: McpServerResource, before: ResourceStatus, after: ResourceStatus): Promise<void>;
  /** The status to write with the PolicyCompliant condition laid over it (see policy-compliance.ts). */
  compliant?(status: ResourceStatus, resource: McpServerResource): ResourceStatus;
}

/** Why the virtual server is not served; the first problem found, in the order of the sources. */
interface Problem {
  reason: typeof ConditionReason.SourceNotFound | typeof ConditionReason.SourceForbidden | typeof ConditionReason.SourceIsVirtual | typeof ConditionReason.SourceNotReady | typeof ConditionReason.SourceAuthNotApplicable | typeof ConditionReason.ToolNameConflict;
  message: string;
}

/** One source as this reconcile found it. */
interface ResolvedSource {
  entry: VirtualSourceEntry;
  /** Its served tools as status shows them (empty when unknown). */
  tools: DiscoveredTool[];
  /** Its auth_data override's headers, resolved. */
  headers: Record<string, string>;
  /** enabled_tools that name no tool the source serves. */
  unknownEnabled: string[];
}

export type VirtualReconciler = (key: string, resource: McpServerResource, entry: StoredGatewayEntry | undefined) => Promise<ReconcileResult>;

export function createVirtualReconciler(options: VirtualReconcilerOptions): VirtualReconciler {
  const { store, gateway, logger } = options;

  const resolve = (spec: VirtualSource, source: McpServerResource): ResolvedSource | Problem => {
    const m = source.manifest;
    if (isVirtualManifest(m)) {
      return { reason: ConditionReason.SourceIsVirtual, message: `Source "${spec.name}" is itself a virtual server; a virtual server composes mcp-server/remote, mcp-server/stdio and mcp-server/openapi servers only.` };
    }
    const ready = findCondition(source.status.conditions, READY);
    if (ready?.status !== 'True' || source.status.observedGeneration !== source.generation) {
      const why = ready && ready.observedGeneration === source.generation ? ` (${ready.reason}: ${ready.message})` : ' (it has not been reconciled yet)';
      return { reason: ConditionReason.SourceNotReady, message: `Source "${spec.name}" is not Ready${why}.` };
    }
    if (spec.auth_data && isStdioManifest(m)) {
      return {
        reason: ConditionReason.SourceAuthNotApplicable,
        message: `The auth_data given for source "${spec.name}" overrides HTTP authentication, and "${spec.name}" is an mcp-server/stdio server; remove the override.`,
      };
    }
    const discovered = findCondition(source.status.conditions, DISCOVERED)?.status === 'True';
    const served = source.status.tools.filter((t) => !t.disabled);
    const servedNames = new Set(served.map((t) => t.name));
    const enabled = spec.enabled_tools;
    let tools: DiscoveredTool[] = [];
    let names: string[] | null;
    let unknownEnabled: string[] = [];
    if (discovered) {
      tools = enabled ? served.filter((t) => enabled.includes(t.name)) : served;
      names = tools.map((t) => t.name);
      unknownEnabled = enabled ? enabled.filter((n) => !servedNames.has(n)) : [];
    } else {
      // Per-user authentication: the control plane has no list of its tools; enabled_tools is the list.
      names = enabled ? [...enabled] : null;
    }
    // An mcp-server/openapi source's tool_settings were applied when its tools were made: nothing to carry.
    const settings = isOpenApiManifest(m) ? [] : m.tool_settings;
    const overrides: Record<string, ToolOverride> = {};
    for (const t of settings) {
      const o: ToolOverride = {};
      if (t.description !== undefined) o.description = t.description;
      if (t.annotations !== undefined) o.annotations = { ...t.annotations };
      if (Object.keys(o).length > 0) overrides[t.name] = o;
    }
    const entry: VirtualSourceEntry = {
      name: spec.name,
      fqn: source.fqn,
      tools: names,
      disabledTools: settings.filter((t) => t.disabled).map((t) => t.name),
      toolOverrides: overrides,
    };
    let headers: Record<string, string> = {};
    if (spec.auth_data) {
      const auth = spec.auth_data;
      headers = upstreamHeaders({ ...(m as RemoteMcpServerManifest), auth_data: auth }, options.secrets);
      entry.authOverride = { passthroughAuth: auth.type === 'passthrough' || auth.auth_level === 'per_user' };
    }
    return { entry, tools: tools.map((t) => ({ ...t, source: spec.name })), headers, unknownEnabled };
  };

  return async function reconcileVirtual(key, resource, current) {
    const m = resource.manifest as VirtualMcpServerManifest;
    options.index.set(
      key,
      m.servers.map((s) => serverFqn(resource.tenant, s.name)),
    );
    const missing: string[] = [];
    let problem: Problem | undefined;
    const resolved: ResolvedSource[] = [];
    for (const spec of m.servers) {
      const source = await store.get(serverFqn(resource.tenant, spec.name));
      if (!source) {
        missing.push(spec.name);
        continue;
      }
      if (options.mayCompose && !options.mayCompose(resource, source)) {
        problem ??= {
          reason: ConditionReason.SourceForbidden,
          message: `Source "${spec.name}" may not be used by whoever last wrote this virtual server (${resource.updatedBy.subjectDisplayName}); a virtual server composes only servers its writer may use. Ask the source's managers to add them, or remove it from servers.`,
        };
        continue;
      }
      const r = resolve(spec, source);
      if ('reason' in r) problem ??= r;
      else resolved.push(r);
    }
    if (missing.length > 0) {
      const names = missing.map((n) => `"${n}"`).join(', ');
      problem = {
        reason: ConditionReason.SourceNotFound,
        message: `No server named ${names} exists in this tenant; create ${missing.length === 1 ? 'it' : 'them'} or remove ${missing.length === 1 ? 'it' : 'them'} from servers.`,
      };
    }

    // The union; a name served by two sources is a conflict (names are never rewritten).
    const owners = new Map<string, string[]>();
    for (const r of resolved) for (const name of r.entry.tools ?? []) owners.set(name, [...(owners.get(name) ?? []), r.entry.name]);
    const conflicts = [...owners].filter(([, sources]) => sources.length > 1);
    if (!problem && conflicts.length > 0) {
      const each = conflicts.slice(0, 10).map(([name, sources]) => `"${name}" (${sources.map((s) => `"${s}"`).join(' and ')})`);
      const more = conflicts.length > 10 ? ` and ${conflicts.length - 10} more` : '';
      problem = {
        reason: ConditionReason.ToolNameConflict,
        message: `Two sources serve the same tool name: ${each.join(', ')}${more}; list each name in the enabled_tools of one source only.`,
      };
    }

    const headers: Record<string, string> = {};
    for (const r of resolved) for (const [name, value] of Object.entries(r.headers)) headers[virtualHeaderKey(r.entry.name, name)] = value;
    const desired: GatewayEntry = {
      fqn: resource.fqn,
      tenant: resource.tenant,
      name: resource.name,
      resourceId: resource.id,
      accountId: resource.accountId,
      upstreamUrl: `virtual:${resource.name}`,
      transport: null,
      headers,
      passthroughAuth: false,
      tls: { rejectUnauthorized: true },
      disabledTools: [],
      toolOverrides: {},
      collaborators: m.collaborators.map((c) => ({ ...c })),
      generation: resource.generation,
      virtual: { sources: resolved.map((r) => r.entry) },
      ...(problem ? { unavailable: { reason: problem.reason, message: problem.message } } : {}),
    };
    // Shown whatever the problem, each with its source (a conflict's two tools included), as a failing server keeps its last tools.
    const tools = resolved.flatMap((r) => r.tools);
    const unknownEnabled = resolved.flatMap((r) => r.unknownEnabled.map((n) => `"${n}" of "${r.entry.name}"`));
    const built = virtualStatus(resource, problem, tools, resolved.length, unknownEnabled, isoTime(options.clock.now()));
    const status = options.compliant ? options.compliant(built, resource) : built;

    await store.transaction(async () => {
      const hash = gatewayEntryHash(desired, options.configHashKey);
      if (!current || current.configHash !== hash) {
        await gateway.apply(desired, { hash, current });
        if (current && current.writtenHash !== current.configHash) {
          await options.event(resource, 'Warning', EventReason.DriftRepaired, `The gateway entry differed from generation ${resource.generation}; restored it.`);
        } else if (!current || current.generation !== resource.generation) {
          await options.event(resource, 'Normal', EventReason.Applied, `Applied generation ${resource.generation} to the gateway store.`);
        }
        logger.info({ key, generation: resource.generation }, 'virtual gateway entry applied');
      }
      await store.setStatus(key, status, { id: resource.id, generation: resource.generation });
      await options.recordTransitions(resource, resource.status, status);
    });
    return {};
  };
}

function virtualStatus(
  resource: McpServerResource,
  problem: Problem | undefined,
  tools: DiscoveredTool[],
  sources: number,
  unknownEnabled: string[],
  now: string,
): ResourceStatus {
  const g = resource.generation;
  const set = (conditions: Condition[], type: string, status: Condition['status'], reason: string, message: string) =>
    setCondition(conditions, { type, status, reason, message, observedGeneration: g }, now);
  let c = set(resource.status.conditions, APPLIED, 'True', ConditionReason.Applied, `The gateway store holds generation ${g}.`);
  c = removeCondition(removeCondition(c, STALLED), RECONCILING);
  if (problem) {
    c = set(c, DISCOVERED, 'False', problem.reason, problem.message);
    c = set(c, READY, 'False', problem.reason, `${problem.message} The gateway does not serve this virtual server until then.`);
  } else {
    const summary = `Composed ${tools.length} tool${tools.length === 1 ? '' : 's'} from ${sources} source${sources === 1 ? '' : 's'}.`;
    const warning = unknownEnabled.length > 0 ? ` enabled_tools name tools their source does not serve: ${unknownEnabled.slice(0, 10).join(', ')}.` : '';
    c = set(c, DISCOVERED, 'True', unknownEnabled.length > 0 ? 'UnknownTool' : 'Composed', `${summary}${warning}`);
    c = set(c, READY, 'True', ConditionReason.Ready, `Generation ${g} is applied: ${summary}`);
  }
  return {
    observedGeneration: g,
    conditions: c,
    tools,
    authStatus: { status: 'authentication_not_required', method: null, message: 'The gateway reaches each source with that source\'s own authentication (or this server\'s override).' },
  };
}
