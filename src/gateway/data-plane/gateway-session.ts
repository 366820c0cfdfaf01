// One client session relayed to one upstream session, message by message. JSON-RPC ids pass through
// unchanged in both directions (one upstream per client, so they cannot collide); the gateway's own
// upstream requests use ids of their own. Every request and notification goes through, whatever its
// method (tasks/*, and methods newer than this code): the upstream answers what it does not support,
// as it would directly. The gateway answers by itself only where the manifest decides (a disabled or
// unknown tool: a tools/call result with isError, as servers answer) and where an operator's deadline
// (timeouts.request_ms) passed. Ending either side ends the other; requests still unanswered then get
// an error at once.
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type JSONRPCMessage, type JSONRPCRequest, type MessageExtraInfo, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { listAllTools } from '../../upstream/tools-pager.js';
import { ClientSession, type ClientSessionOptions } from './client-session.js';
import type { DataPlaneMetrics } from './metrics.js';
import { PendingRequests, type PendingRequest } from './pending-requests.js';
import { presentToolList, toolNames, toolRefusal, toolSettingsKey, type ToolSettings } from './tool-policy.js';
import type { Upstream } from './upstream.js';
import type { AnswerPipe } from './answer-pipe.js';
import { HttpUpstreamTransport, type UpstreamMessageExtra } from './upstream-http.js';
import { CallerMustConnect } from './caller-token-refresh.js';

export interface GatewaySessionOptions extends ClientSessionOptions {
  upstream: Upstream;
  /** The entry's tool settings as the gateway store holds them now; undefined once it is gone. */
  toolSettings: () => ToolSettings | undefined;
  /** The deadline of each relayed request (timeouts.request_ms); 0: none, the client decides. */
  requestTimeoutMs: number;
  metrics: DataPlaneMetrics;
  onInitialized: (session: GatewaySession) => void;
  onClosed: (session: GatewaySession) => void;
  /** The upstream session was lost, or a message could not be sent to it (one sentence, no secrets). */
  onUpstreamFailed?: (message: string) => void;
}

export class GatewaySession extends ClientSession {
  /** toolSettingsKey of the settings the client last saw announced. */
  toolKey: string;
  private readonly pending: PendingRequests;
  private readonly upstreamTools = new Set<string>();
  private listing: Promise<void> | undefined;
  /** tools/call requests being checked, and whether the client cancelled them meanwhile. */
  private readonly checking = new Map<RequestId, boolean>();
  private ownIds = 0;

  constructor(private readonly options: GatewaySessionOptions) {
    super(options);
    this.toolKey = toolSettingsKey(options.toolSettings() ?? { disabledTools: [], toolOverrides: {} });
    this.pending = new PendingRequests({
      timeoutMs: options.requestTimeoutMs,
      onTimeout: (id, request) => this.timedOut(id, request),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const upstream = options.upstream.transport;
    upstream.onmessage = (message, extra?: MessageExtraInfo) => this.fromUpstream(message, (extra as UpstreamMessageExtra | undefined)?.relatedRequestId);
    upstream.onclose = () => void this.close('the upstream session closed');
    if (upstream instanceof HttpUpstreamTransport) upstream.answerPipe = (id, contentLength) => this.pipeAnswer(id, contentLength);
    upstream.onerror = (error) => {
      if (upstreamSessionGone(error)) {
        options.metrics.error(options.serverName, 'upstream_closed');
        options.onUpstreamFailed?.(`The gateway lost its session with MCP server "${options.serverName}" (${failureCode(error)}).`);
        // Not from inside the transport's error dispatch: EventSource arms its reconnect timer after it,
        // and only a close() that comes later clears that timer.
        queueMicrotask(() => void this.close(`the upstream session ended (${error.message})`));
      } else options.logger.debug({ server: options.serverName, err: error.message }, 'upstream transport error');
    };
  }

  /** The entry's tool settings changed: tell the client to list again. */
  toolsChanged(key: string): void {
    if (key === this.toolKey) return;
    this.toolKey = key;
    this.deliver({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    const message = `The gateway session with MCP server "${this.options.serverName}" ended (${reason}); start a new session.`;
    for (const [id, request] of this.pending.clear()) {
      const error: JSONRPCMessage = { jsonrpc: '2.0', id, error: { code: ErrorCode.ConnectionClosed, message } };
      if (request.answer) request.answer(error);
      else {
        this.options.metrics.request(this.options.serverName, request.method, 'error');
        this.send(error);
      }
    }
    for (const id of this.checking.keys()) this.send({ jsonrpc: '2.0', id, error: { code: ErrorCode.ConnectionClosed, message } });
    this.checking.clear();
    this.closed = true;
    this.options.logger.debug({ server: this.options.serverName, session: this.id, reason }, 'gateway session closed');
    this.options.onClosed(this);
    this.downstream.close();
    await this.options.upstream.close();
  }

  protected initialized(): void {
    this.options.onInitialized(this);
  }

  protected fromClient(message: JSONRPCMessage): void {
    if (!('method' in message)) return this.toUpstream(message); // the client's answer to an upstream request
    if (!('id' in message)) {
      if (message.method === 'notifications/cancelled') {
        const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (requestId !== undefined) {
          if (this.checking.has(requestId)) this.checking.set(requestId, true);
          this.pending.take(requestId);
        }
      }
      return this.toUpstream(message);
    }
    const request = message;
    if (request.method === 'initialize') return this.answerInitialize(request);
    if (request.method === 'tools/call') return this.callTool(request);
    this.forward(request);
  }

  private answerInitialize(request: JSONRPCRequest): void {
    const result = { ...this.options.upstream.initializeResult };
    const capabilities = { ...((result.capabilities as Record<string, unknown> | undefined) ?? {}) };
    // The gateway announces tool list changes itself, when the manifest's tool settings change.
    if (capabilities.tools) capabilities.tools = { ...(capabilities.tools as object), listChanged: true };
    result.capabilities = capabilities;
    this.options.metrics.request(this.options.serverName, 'initialize', 'ok');
    this.send({ jsonrpc: '2.0', id: request.id, result });
  }

  private callTool(request: JSONRPCRequest): void {
    const name = String((request.params as { name?: unknown } | undefined)?.name ?? '');
    const settings = this.options.toolSettings();
    if (!settings) return this.refuseTool(request, `MCP server "${this.options.serverName}" is no longer served.`);
    // A tool the session knows of (or one disabled anyway) is decided now; another one after listing the upstream's tools.
    if (settings.disabledTools.includes(name) || this.upstreamTools.has(name)) return this.callChecked(request, name, settings);
    void this.callAfterListing(request, name, settings);
  }

  private async callAfterListing(request: JSONRPCRequest, name: string, settings: ToolSettings): Promise<void> {
    this.checking.set(request.id, false);
    try {
      await this.learnUpstreamTools();
    } catch (error) {
      this.checking.delete(request.id);
      if (error instanceof CallerMustConnect) return this.refuseCaller(request, error);
      const detail = error instanceof Error ? error.message : String(error);
      return this.refuse(request, ErrorCode.InternalError, `The gateway could not list the tools of "${this.options.serverName}" to check "${name}": ${detail}`);
    }
    const cancelled = this.checking.get(request.id);
    this.checking.delete(request.id);
    if (cancelled || this.closed) return;
    this.callChecked(request, name, this.options.toolSettings() ?? settings);
  }

  private callChecked(request: JSONRPCRequest, name: string, settings: ToolSettings): void {
    const refusal = toolRefusal(name, this.options.serverName, settings, this.upstreamTools);
    if (refusal) return this.refuseTool(request, refusal);
    this.forward(request);
  }

  private forward(request: JSONRPCRequest): void {
    const progressToken = (request.params as { _meta?: { progressToken?: string | number } } | undefined)?._meta?.progressToken;
    this.pending.add(request.id, progressToken === undefined ? { method: request.method } : { method: request.method, progressToken });
    const failed = (error: unknown) => {
      if (!this.pending.take(request.id)) return;
      if (error instanceof CallerMustConnect) return this.refuseCaller(request, error);
      this.options.metrics.error(this.options.serverName, 'upstream_send');
      const detail = error instanceof Error ? error.message : String(error);
      this.refuse(request, ErrorCode.InternalError, `The gateway could not send ${request.method} to MCP server "${this.options.serverName}": ${detail}`, 'error');
      if (upstreamFailed(error)) this.options.onUpstreamFailed?.(`The gateway could not send ${request.method} to MCP server "${this.options.serverName}" (${failureCode(error)}).`);
      if (upstreamSessionGone(error)) void this.close('the upstream session ended');
    };
    const transport = this.options.upstream.transport;
    // Streamable HTTP: no promise per relayed request.
    if (transport instanceof HttpUpstreamTransport) transport.relay(request, failed);
    else transport.send(request).catch(failed);
  }

  /** `relatedRequestId`: the client's request whose upstream POST stream carried the message. */
  private fromUpstream(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    this.lastActivity = Date.now();
    if ('method' in message) {
      if (message.method === 'notifications/tools/list_changed') this.upstreamTools.clear();
      if (message.method === 'notifications/progress' && !('id' in message)) {
        const token = (message.params as { progressToken?: string | number } | undefined)?.progressToken;
        const related = token === undefined ? undefined : this.pending.progress(token);
        if (related !== undefined) return this.send(message, related);
      }
      // About a request of the client's (a request to the client during a tool call, a log line): on
      // that request's stream while it is open.
      if (relatedRequestId !== undefined && this.pending.has(relatedRequestId) && this.downstream.send(message, relatedRequestId)) return;
      return this.deliver(message); // an upstream notification, or a request to the client (sampling, roots, …)
    }
    const request = message.id === undefined ? undefined : this.pending.take(message.id);
    if (!request) return; // answered already (timed out or cancelled), or an error about no request
    this.options.metrics.upstreamLatency(this.options.serverName, request.method, (performance.now() - request.sentAt) / 1000);
    if (request.answer) return request.answer(message);
    let answer = message;
    if ('result' in message && request.method === 'tools/list') {
      for (const name of toolNames(message.result)) this.upstreamTools.add(name);
      const settings = this.options.toolSettings();
      if (settings) answer = { ...message, result: presentToolList(message.result, settings) as typeof message.result };
    }
    this.options.metrics.request(this.options.serverName, request.method, 'error' in message ? 'error' : 'ok');
    this.send(answer);
  }

  /**
   * A large answer to a client's request, passed on as it arrives (answer-pipe.ts): not for the gateway's
   * own requests, nor tools/list (the gateway rewrites its result). Once it started, the request is
   * answered: no deadline or cancellation applies to it.
   */
  private pipeAnswer(id: RequestId, contentLength: number | undefined): AnswerPipe | undefined {
    const request = this.pending.get(id);
    if (!request || request.answer || request.method === 'tools/list' || this.closed) return undefined;
    const pipe = this.downstream.pipeAnswer(id, contentLength);
    if (!pipe) return undefined;
    this.pending.take(id);
    const { serverName, metrics, logger } = this.options;
    return {
      ...pipe,
      end: (envelope) => {
        this.lastActivity = Date.now();
        metrics.upstreamLatency(serverName, request.method, (performance.now() - request.sentAt) / 1000);
        metrics.request(serverName, request.method, envelope.isError ? 'error' : 'ok');
        pipe.end(envelope);
      },
      abort: (reason, data) => {
        metrics.error(serverName, 'upstream_answer');
        metrics.request(serverName, request.method, 'error');
        logger.debug({ server: serverName, session: this.id, reason }, 'an answer failed in the middle of passing it on');
        pipe.abort(reason, data);
      },
    };
  }

  private toUpstream(message: JSONRPCMessage): void {
    this.options.upstream.transport.send(message).catch((error: unknown) => {
      this.options.logger.debug({ server: this.options.serverName, err: String(error) }, 'could not relay a message upstream');
    });
  }

  /** Lists every upstream tool with the gateway's own requests (once at a time), through the one pager. */
  private learnUpstreamTools(): Promise<void> {
    this.listing ??= (async () => {
      const announcesTools = Boolean((this.options.upstream.initializeResult.capabilities as { tools?: unknown } | undefined)?.tools);
      const tools = await listAllTools((cursor) => this.requestUpstream('tools/list', cursor === undefined ? {} : { cursor }), announcesTools);
      for (const tool of tools) this.upstreamTools.add(tool.name);
    })().finally(() => (this.listing = undefined));
    return this.listing;
  }

  private requestUpstream(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `mcp-gateway-${++this.ownIds}`;
    return new Promise((resolve, reject) => {
      this.pending.add(id, {
        method,
        answer: (message) => {
          if ('result' in message) resolve(message.result as Record<string, unknown>);
          else reject('error' in message ? new McpError(message.error.code, message.error.message) : new Error('no answer'));
        },
      });
      this.options.upstream.transport.send({ jsonrpc: '2.0', id, method, params }).catch((error: unknown) => {
        if (this.pending.take(id)) reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  private timedOut(id: RequestId, request: PendingRequest): void {
    const message = `MCP server "${this.options.serverName}" did not answer ${request.method} within ${this.options.requestTimeoutMs} ms (timeouts.request_ms of its manifest).`;
    this.options.metrics.error(this.options.serverName, 'upstream_timeout');
    this.toUpstream({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'timed out at the gateway' } });
    if (request.answer) return request.answer({ jsonrpc: '2.0', id, error: { code: ErrorCode.RequestTimeout, message } });
    this.options.metrics.request(this.options.serverName, request.method, 'timeout');
    this.send({ jsonrpc: '2.0', id, error: { code: ErrorCode.RequestTimeout, message } });
  }

  /** A tools/call the gateway does not relay: answered as servers answer a tool they cannot run. */
  private refuseTool(request: JSONRPCRequest, message: string): void {
    this.options.metrics.request(this.options.serverName, request.method, 'refused');
    this.send({ jsonrpc: '2.0', id: request.id, result: { content: [{ type: 'text', text: message }], isError: true } });
  }

  /** The upstream refused the caller's credentials and they could not be renewed: the error that says where to connect. */
  private refuseCaller(request: JSONRPCRequest, error: CallerMustConnect): void {
    this.options.metrics.error(this.options.serverName, 'unauthenticated');
    this.options.metrics.request(this.options.serverName, request.method, 'refused');
    this.send({ jsonrpc: '2.0', id: request.id, error: error.rpcError });
  }

  private refuse(request: JSONRPCRequest, code: number, message: string, outcome: 'refused' | 'error' = 'refused'): void {
    this.options.metrics.request(this.options.serverName, request.method, outcome);
    this.send({ jsonrpc: '2.0', id: request.id, error: { code, message } });
  }

  /**
   * A message no request of the client's carries: the GET stream, else kept until it opens. An upstream
   * that cannot tell which request a message is about (HTTP+SSE and stdio carry every message on one
   * stream) has its messages ride on the client's latest open request, as they would have directly.
   */
  private deliver(message: JSONRPCMessage): void {
    if (this.downstream.streaming) return this.send(message);
    const related = this.options.upstream.kind === 'streamable-http' ? undefined : this.pending.latestClientRequest();
    if (related !== undefined) return this.send(message, related);
    this.keep(message);
  }
}

/** The upstream no longer has our session: Streamable HTTP answered 404, or the SSE stream dropped. */
export function upstreamSessionGone(error: unknown): boolean {
  if (error instanceof StreamableHTTPError) return error.code === 404;
  if (error instanceof SseError) return true;
  return error instanceof Error && /Maximum reconnection attempts/.test(error.message);
}

/** A send failed because of the upstream (not reached, session gone, 5xx), not because of the message (a 4xx). */
function upstreamFailed(error: unknown): boolean {
  if (error instanceof StreamableHTTPError && typeof error.code === 'number') return error.code === 404 || error.code >= 500;
  return true;
}

/** What a status message may say of an upstream error: a network code or an HTTP status, never its text (it may echo anything). */
export function failureCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    if (e instanceof StreamableHTTPError && typeof code === 'number') return `HTTP ${code}`;
  }
  const text = error instanceof Error ? error.message : String(error);
  if (/Maximum reconnection attempts/.test(text)) return 'its event stream could not be reopened';
  if (error instanceof SseError) return 'its event stream ended';
  return /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH)\b/.exec(text)?.[1] ?? 'the connection failed';
}
