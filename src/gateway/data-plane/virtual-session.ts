// One client session of an mcp-server/virtual server: one downstream channel, one upstream session per
// source (the same connectUpstream as any server's). The gateway is the MCP server here: it answers
// initialize and ping itself, lists by asking every source (all pages) and merging, and routes each
// request that names something (tools/call, resources/read and (un)subscribe, prompts/get,
// completion/complete) to the source that listed it. Client request ids go upstream unchanged (each
// request reaches one source); an upstream's requests to the client (sampling, elicitation, roots) get
// ids of the gateway's own, so two sources cannot collide, and the client's answer goes back renumbered.
// A tool is served only when the virtual entry says its source serves it (enabled_tools, the source's
// own tool_settings, no conflict): that list is the reconciler's, level-triggered; tool descriptions and
// annotations follow the source's tool_settings. Each source's requests keep its timeouts.request_ms
// (PendingRequests, as for a server of its own).
import { ErrorCode, type JSONRPCMessage, type JSONRPCRequest, type MessageExtraInfo, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../../domain/clock.js';
import { stableStringify } from '../../manifest/stable-stringify.js';
import type { GatewayEntry, VirtualSourceEntry } from '../gateway-entry.js';
import { ClientSession, type ClientSessionOptions } from './client-session.js';
import { failureCode, upstreamSessionGone } from './gateway-session.js';
import type { DataPlaneMetrics } from './metrics.js';
import { PendingRequests, type PendingRequest } from './pending-requests.js';
import { presentToolList } from './tool-policy.js';
import type { Upstream } from './upstream.js';
import type { UpstreamMessageExtra } from './upstream-http.js';

/** Pages the gateway follows per source and list. */
const MAX_PAGES = 100;
/** Sources' requests to the client awaiting its answer, per session. */
const MAX_OPEN_CLIENT_REQUESTS = 1000;

/** What the client sees change when the virtual entry changes: the sources' served tools and their settings. */
export function virtualToolsKey(entry: Pick<GatewayEntry, 'virtual'>): string {
  return stableStringify(entry.virtual?.sources.map((s) => [s.name, s.tools, s.disabledTools, s.toolOverrides]) ?? []);
}

export interface VirtualSourceSession {
  name: string;
  upstream: Upstream;
  /** The deadline of each request to this source (its timeouts.request_ms); 0: none. */
  requestTimeoutMs: number;
}

export interface VirtualSessionOptions extends ClientSessionOptions {
  /** One open upstream session per source, in the entry's order. */
  sources: VirtualSourceSession[];
  /** The virtual entry's sources as the gateway store holds them now; undefined once it is gone. */
  current: () => VirtualSourceEntry[] | undefined;
  /** The clock of request deadlines. Default: the system clock. */
  clock?: Clock;
  metrics: DataPlaneMetrics;
  onInitialized: (session: VirtualSession) => void;
  onClosed: (session: VirtualSession) => void;
  /** A source's upstream session was lost (one sentence, no secrets). */
  onUpstreamFailed?: (source: string, message: string) => void;
}

/** The list methods the gateway answers by merging, with the member that holds the items and what names an item. */
const LISTS = {
  'tools/list': { member: 'tools', capability: 'tools', key: 'name' },
  'resources/list': { member: 'resources', capability: 'resources', key: 'uri' },
  'resources/templates/list': { member: 'resourceTemplates', capability: 'resources', key: 'uriTemplate' },
  'prompts/list': { member: 'prompts', capability: 'prompts', key: 'name' },
} as const;
type ListMethod = keyof typeof LISTS;

interface SourceState extends VirtualSourceSession {
  /** Requests sent to this source: the client's (relayed) and the gateway's own (answer set). */
  pending: PendingRequests;
}

export class VirtualSession extends ClientSession {
  /** virtualToolsKey of the entry the client last saw announced. */
  private toolKey: string;
  private readonly sources = new Map<string, SourceState>();
  /** Which source each client request still open was relayed to, by the client's id (in the order sent). */
  private readonly routes = new Map<RequestId, string>();
  /** Upstream requests relayed to the client, by the gateway's id. */
  private readonly toClient = new Map<string, { source: string; id: RequestId }>();
  /** Which source listed a tool name, resource URI or prompt name last. */
  private readonly owners = { tool: new Map<string, string>(), resource: new Map<string, string>(), prompt: new Map<string, string>() };
  private ownIds = 0;

  constructor(private readonly options: VirtualSessionOptions) {
    super(options);
    const current = options.current();
    this.toolKey = virtualToolsKey({ virtual: { sources: current ?? [] } });
    for (const source of options.sources) {
      const pending = new PendingRequests({
        timeoutMs: source.requestTimeoutMs,
        onTimeout: (id, request) => this.timedOut(source.name, source.requestTimeoutMs, id, request),
        ...(options.clock ? { clock: options.clock } : {}),
      });
      this.sources.set(source.name, { ...source, pending });
      const transport = source.upstream.transport;
      transport.onmessage = (message, extra?: MessageExtraInfo) =>
        this.fromUpstream(source.name, message, (extra as UpstreamMessageExtra | undefined)?.relatedRequestId);
      transport.onclose = () => void this.close(`the upstream session of source "${source.name}" closed`);
      transport.onerror = (error) => {
        if (!upstreamSessionGone(error)) return options.logger.debug({ server: options.serverName, source: source.name, err: error.message }, 'upstream transport error');
        options.metrics.error(options.serverName, 'upstream_closed');
        options.onUpstreamFailed?.(source.name, `The gateway lost its session with MCP server "${source.name}" (${failureCode(error)}).`);
        queueMicrotask(() => void this.close(`the upstream session of source "${source.name}" ended`));
      };
    }
  }

  /** The virtual entry changed: when what the client would list changed, tell it to list again. */
  toolsChanged(key: string): void {
    if (key === this.toolKey) return;
    this.toolKey = key;
    this.owners.tool.clear();
    this.deliver({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  }

  /** Ends the client's side and every source's; open requests get an error naming `reason`. Idempotent. */
  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const message = `The gateway session with MCP server "${this.options.serverName}" ended (${reason}); start a new session.`;
    for (const source of this.sources.values()) {
      for (const [id, request] of source.pending.clear()) {
        const error: JSONRPCMessage = { jsonrpc: '2.0', id, error: { code: ErrorCode.ConnectionClosed, message } };
        if (request.answer) request.answer(error);
        else {
          this.options.metrics.request(this.options.serverName, request.method, 'error');
          this.downstream.send(error);
        }
      }
    }
    this.routes.clear();
    this.options.logger.debug({ server: this.options.serverName, session: this.id, reason }, 'virtual gateway session closed');
    this.options.onClosed(this);
    this.downstream.close();
    await Promise.all([...this.sources.values()].map((s) => s.upstream.close()));
  }

  protected initialized(): void {
    this.options.onInitialized(this);
  }

  protected fromClient(message: JSONRPCMessage): void {
    if (!('method' in message)) {
      // The client's answer to a request of a source's.
      const target = this.toClient.get(String(message.id));
      if (!target) return;
      this.toClient.delete(String(message.id));
      return this.toSource(target.source, { ...message, id: target.id } as JSONRPCMessage);
    }
    if (!('id' in message)) {
      if (message.method === 'notifications/cancelled') {
        const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        const source = requestId === undefined ? undefined : this.routes.get(requestId);
        if (source !== undefined) {
          this.routes.delete(requestId!);
          this.sources.get(source)?.pending.take(requestId!);
          this.toSource(source, message);
        }
        return;
      }
      // notifications/initialized, roots/list_changed, …: every source takes part in the session.
      for (const name of this.sources.keys()) this.toSource(name, message);
      return;
    }
    const request = message;
    switch (request.method) {
      case 'initialize':
        return this.answerInitialize(request);
      case 'ping':
        return this.answer(request, {});
      case 'tools/list':
      case 'resources/list':
      case 'resources/templates/list':
      case 'prompts/list':
        return void this.answerList(request, request.method);
      case 'tools/call':
        return void this.callTool(request);
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return void this.routeByOwner(request, 'resource', String((request.params as { uri?: unknown } | undefined)?.uri ?? ''));
      case 'prompts/get':
        return void this.routeByOwner(request, 'prompt', String((request.params as { name?: unknown } | undefined)?.name ?? ''));
      case 'completion/complete': {
        const ref = (request.params as { ref?: { type?: unknown; name?: unknown; uri?: unknown } } | undefined)?.ref;
        if (ref?.type === 'ref/prompt') return void this.routeByOwner(request, 'prompt', String(ref.name ?? ''));
        return void this.routeByOwner(request, 'resource', String(ref?.uri ?? ''));
      }
      case 'logging/setLevel':
        return void this.setLevel(request);
      default:
        return this.refuse(request, ErrorCode.MethodNotFound, `Method not found: ${request.method} is not served by virtual MCP server "${this.options.serverName}".`);
    }
  }

  private answerInitialize(request: JSONRPCRequest): void {
    const results = [...this.sources.values()].map((s) => s.upstream.initializeResult);
    const has = (capability: string) => results.some((r) => (r.capabilities as Record<string, unknown> | undefined)?.[capability] !== undefined);
    const subscribe = results.some((r) => (r.capabilities as { resources?: { subscribe?: boolean } } | undefined)?.resources?.subscribe === true);
    const capabilities: Record<string, unknown> = { tools: { listChanged: true } };
    if (has('resources')) capabilities.resources = { listChanged: true, ...(subscribe ? { subscribe: true } : {}) };
    if (has('prompts')) capabilities.prompts = { listChanged: true };
    if (has('logging')) capabilities.logging = {};
    if (has('completions')) capabilities.completions = {};
    const requested = (request.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    // Every source answered the client's initialize; the version they agreed on, else the first source's.
    const versions = results.map((r) => r.protocolVersion);
    const protocolVersion = versions.every((v) => v === requested) ? requested : versions[0];
    this.options.metrics.request(this.options.serverName, 'initialize', 'ok');
    this.send({
      jsonrpc: '2.0',
      id: request.id,
      result: { protocolVersion, capabilities, serverInfo: { name: this.options.serverName, version: '1.0.0' } },
    });
  }

  /** Every source's list (all pages) merged; a name (URI) listed by two sources is served by the first only. */
  private async answerList(request: JSONRPCRequest, method: ListMethod): Promise<void> {
    try {
      const items = await this.collect(method);
      if (this.closed) return;
      this.answer(request, { [LISTS[method].member]: items });
    } catch (error) {
      this.refuse(request, ErrorCode.InternalError, (error as Error).message, 'error');
    }
  }

  private async collect(method: ListMethod): Promise<Record<string, unknown>[]> {
    const { member, capability, key } = LISTS[method];
    const settings = new Map((this.options.current() ?? []).map((s) => [s.name, s]));
    const sources = [...this.sources.values()].filter(
      (s) => settings.has(s.name) && (s.upstream.initializeResult.capabilities as Record<string, unknown> | undefined)?.[capability] !== undefined,
    );
    const lists = await Promise.all(
      sources.map(async (s) => {
        try {
          return { source: s.name, items: await this.listAll(s.name, method, member) };
        } catch (error) {
          throw new Error(`The gateway could not list ${member} of source "${s.name}" of virtual MCP server "${this.options.serverName}": ${(error as Error).message}`);
        }
      }),
    );
    const owners = method === 'tools/list' ? this.owners.tool : method === 'prompts/list' ? this.owners.prompt : this.owners.resource;
    if (method !== 'resources/templates/list') owners.clear();
    const merged: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (const { source, items } of lists) {
      let shown = items;
      if (method === 'tools/list') {
        const s = settings.get(source)!;
        const served = s.tools === null ? undefined : new Set(s.tools);
        shown = (presentToolList({ tools: items }, s).tools as Record<string, unknown>[]).filter((t) => served === undefined || served.has(String(t.name)));
      }
      for (const item of shown) {
        const id = String(item[key]);
        if (seen.has(id)) continue;
        seen.add(id);
        if (method !== 'resources/templates/list') owners.set(id, source);
        merged.push(item);
      }
    }
    return merged;
  }

  /** Every page of one list of one source, through the gateway's own requests. */
  private async listAll(source: string, method: string, member: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.requestSource(source, method, cursor === undefined ? {} : { cursor });
      const got = result[member];
      if (Array.isArray(got)) items.push(...(got as Record<string, unknown>[]));
      cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return items;
  }

  private async callTool(request: JSONRPCRequest): Promise<void> {
    const name = String((request.params as { name?: unknown } | undefined)?.name ?? '');
    let owner = this.owners.tool.get(name);
    if (owner === undefined) {
      try {
        await this.collect('tools/list');
      } catch (error) {
        return this.refuse(request, ErrorCode.InternalError, (error as Error).message, 'error');
      }
      if (this.closed) return;
      owner = this.owners.tool.get(name);
    }
    // What the virtual entry says now: the tool may have been withdrawn since it was listed.
    const settings = (this.options.current() ?? []).find((s) => s.name === owner);
    const served = settings !== undefined && !settings.disabledTools.includes(name) && (settings.tools === null || settings.tools.includes(name));
    if (owner === undefined || !served) {
      this.options.metrics.request(this.options.serverName, request.method, 'refused');
      const text = `Tool "${name}" is not a tool of virtual MCP server "${this.options.serverName}"; call tools/list for the tools it serves.`;
      return this.send({ jsonrpc: '2.0', id: request.id, result: { content: [{ type: 'text', text }], isError: true } });
    }
    this.forward(owner, request);
  }

  /** A request about one tool, resource or prompt: to the source that listed it (listing first when none has). */
  private async routeByOwner(request: JSONRPCRequest, kind: 'resource' | 'prompt', id: string): Promise<void> {
    const owners = this.owners[kind];
    if (!owners.has(id)) {
      try {
        await this.collect(kind === 'prompt' ? 'prompts/list' : 'resources/list');
      } catch (error) {
        return this.refuse(request, ErrorCode.InternalError, (error as Error).message, 'error');
      }
      if (this.closed) return;
    }
    // A URI no source listed (say, one of a resource template) goes to the only source with resources, if there is one.
    const owner = owners.get(id) ?? (kind === 'resource' ? this.onlySourceWith('resources') : undefined);
    if (owner === undefined) {
      return this.refuse(request, ErrorCode.InvalidParams, `No source of virtual MCP server "${this.options.serverName}" lists the ${kind} "${id}".`);
    }
    this.forward(owner, request);
  }

  private onlySourceWith(capability: string): string | undefined {
    const withIt = [...this.sources.values()].filter((s) => (s.upstream.initializeResult.capabilities as Record<string, unknown> | undefined)?.[capability] !== undefined);
    return withIt.length === 1 ? withIt[0]!.name : undefined;
  }

  private async setLevel(request: JSONRPCRequest): Promise<void> {
    const targets = [...this.sources.values()].filter((s) => (s.upstream.initializeResult.capabilities as Record<string, unknown> | undefined)?.logging !== undefined);
    try {
      await Promise.all(targets.map((s) => this.requestSource(s.name, 'logging/setLevel', (request.params ?? {}) as Record<string, unknown>)));
      this.answer(request, {});
    } catch (error) {
      this.refuse(request, ErrorCode.InternalError, `The gateway could not set the log level of every source: ${(error as Error).message}`, 'error');
    }
  }

  private forward(source: string, request: JSONRPCRequest): void {
    const progressToken = (request.params as { _meta?: { progressToken?: string | number } } | undefined)?._meta?.progressToken;
    const state = this.sources.get(source)!;
    this.routes.set(request.id, source);
    state.pending.add(request.id, { method: request.method, ...(progressToken !== undefined ? { progressToken } : {}) });
    state.upstream.transport.send(request).catch((error: unknown) => {
      if (!state.pending.take(request.id)) return;
      this.routes.delete(request.id);
      this.options.metrics.error(this.options.serverName, 'upstream_send');
      this.refuse(request, ErrorCode.InternalError, `The gateway could not send ${request.method} to source "${source}" of virtual MCP server "${this.options.serverName}": ${(error as Error).message}`, 'error');
      if (upstreamSessionGone(error)) void this.close(`the upstream session of source "${source}" ended`);
    });
  }

  private fromUpstream(source: string, message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    this.lastActivity = Date.now();
    const state = this.sources.get(source)!;
    const related = relatedRequestId !== undefined && this.routes.get(relatedRequestId) === source ? relatedRequestId : undefined;
    if ('method' in message) {
      if ('id' in message) {
        // A request of the source's to the client: under an id of the gateway's own.
        if (message.method === 'ping') return this.toSource(source, { jsonrpc: '2.0', id: message.id, result: {} });
        const id = `mcp-gateway-virtual-${++this.ownIds}`;
        this.toClient.set(id, { source, id: message.id });
        // Bounded: requests the client never answers are forgotten, oldest first.
        if (this.toClient.size > MAX_OPEN_CLIENT_REQUESTS) this.toClient.delete(this.toClient.keys().next().value!);
        const renumbered = { ...message, id } as JSONRPCMessage;
        if (related !== undefined && this.downstream.send(renumbered, related)) return;
        return this.deliver(renumbered);
      }
      if (message.method === 'notifications/tools/list_changed') this.owners.tool.clear();
      if (message.method === 'notifications/resources/list_changed') this.owners.resource.clear();
      if (message.method === 'notifications/prompts/list_changed') this.owners.prompt.clear();
      if (message.method === 'notifications/progress') {
        // Restarts the request's deadline, as for a server of its own.
        const token = (message.params as { progressToken?: string | number } | undefined)?.progressToken;
        const about = token === undefined ? undefined : state.pending.progress(token);
        if (about !== undefined && this.downstream.send(message, about)) return;
      }
      if (related !== undefined && this.downstream.send(message, related)) return;
      return this.deliver(message);
    }
    const request = message.id === undefined ? undefined : state.pending.take(message.id);
    if (!request) return; // answered already (timed out or cancelled)
    if (request.answer) return request.answer(message);
    this.routes.delete(message.id!);
    this.options.metrics.upstreamLatency(this.options.serverName, request.method, (performance.now() - request.sentAt) / 1000);
    this.options.metrics.request(this.options.serverName, request.method, 'error' in message ? 'error' : 'ok');
    this.send(message);
  }

  private requestSource(source: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `mcp-gateway-virtual-${++this.ownIds}`;
    const state = this.sources.get(source)!;
    return new Promise((resolve, reject) => {
      state.pending.add(id, {
        method,
        answer: (message) => {
          if ('result' in message) resolve(message.result as Record<string, unknown>);
          else reject(new Error('error' in message ? message.error.message : 'no answer'));
        },
      });
      state.upstream.transport.send({ jsonrpc: '2.0', id, method, params }).catch((error: unknown) => {
        if (state.pending.take(id)) reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  /** A request to `source` passed its deadline: the source is told to cancel it, the requester gets an error. */
  private timedOut(source: string, timeoutMs: number, id: RequestId, request: PendingRequest): void {
    const message = `Source "${source}" of virtual MCP server "${this.options.serverName}" did not answer ${request.method} within ${timeoutMs} ms (timeouts.request_ms of its manifest).`;
    this.options.metrics.error(this.options.serverName, 'upstream_timeout');
    this.toSource(source, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'timed out at the gateway' } });
    const error: JSONRPCMessage = { jsonrpc: '2.0', id, error: { code: ErrorCode.RequestTimeout, message } };
    if (request.answer) return request.answer(error);
    this.routes.delete(id);
    this.options.metrics.request(this.options.serverName, request.method, 'timeout');
    this.send(error);
  }

  private toSource(source: string, message: JSONRPCMessage): void {
    this.sources.get(source)?.upstream.transport.send(message).catch((error: unknown) => {
      this.options.logger.debug({ server: this.options.serverName, source, err: String(error) }, 'could not relay a message upstream');
    });
  }

  private answer(request: JSONRPCRequest, result: Record<string, unknown>): void {
    this.options.metrics.request(this.options.serverName, request.method, 'ok');
    this.send({ jsonrpc: '2.0', id: request.id, result });
  }

  private refuse(request: JSONRPCRequest, code: number, message: string, outcome: 'refused' | 'error' = 'refused'): void {
    this.options.metrics.request(this.options.serverName, request.method, outcome);
    this.send({ jsonrpc: '2.0', id: request.id, error: { code, message } });
  }

  /** A message about no request of the client's: the GET stream, else its latest open request, else kept until the stream opens. */
  private deliver(message: JSONRPCMessage): void {
    if (this.downstream.streaming) return this.send(message);
    const latest = [...this.routes.keys()].at(-1);
    if (latest !== undefined && this.downstream.send(message, latest)) return;
    this.keep(message);
  }
}
