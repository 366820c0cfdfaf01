// Many users over one stdio process: discovery and each gateway session share the process a
// SupervisedServer keeps running.
//
// Each user is a Session (an SDK Transport). A session's requests get a process-wide id and their
// answers go back to that session with the original id; progress tokens are renumbered the same way;
// notifications/cancelled follows its request. A session's `initialize` is answered from the process's
// own handshake, and its notifications/initialized is dropped. Server notifications without a progress
// token go to every session.
//
// Requests from the server to a client (sampling, elicitation, roots/list, and any other) go to the one
// session they can be for: the only session with requests in flight (related to its request, when it has
// one in flight), or the only session open when none has. The session's answer goes back to the process
// under the server's id; a cancellation of it goes to that session alone. Where no session, or more than
// one, could be meant (a guess could show one user's data to another), or the session's client did not
// declare the capability the method needs, the server is answered an error saying so; ping is answered
// here.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { excerpt } from '../upstream/redaction.js';

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version: string };
  instructions?: string;
  [key: string]: unknown;
}

/** The process side, as the multiplexer sees it. */
export interface MultiplexedProcess {
  /** Starts the process when it is not running; answers its initialize result. */
  ready(): Promise<InitializeResult>;
  /** Writes a message to the process (dropped when it is not running). */
  write(message: JSONRPCMessage): void;
  /** Whether the process is running and initialized. */
  isReady(): boolean;
  /** Values never shown in an error (the process's env values). */
  secrets(): string[];
}

/** The client capability a request of the server needs (methods not named here go to any client). */
const CAPABILITY_OF: Record<string, string> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };

export class StdioExitError extends Error {}
export class StdioTimeoutError extends Error {}
export class StdioRequestError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A request of the control plane itself (the handshake; discovery is a session like any other). */
interface Internal {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

interface PendingRequest {
  owner: Session | Internal;
  /** The id the owner gave the request. */
  id: RequestId;
  method: string;
}

export class StdioMultiplexer {
  private readonly sessions = new Set<Session>();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly progress = new Map<string, { session: Session; token: string | number }>();
  /** Requests of the server waiting for a session's answer, by the server's id. */
  private readonly serverRequests = new Map<RequestId, Session>();
  private nextId = 1;

  constructor(private readonly process: MultiplexedProcess) {}

  /** Whether a request waits for its answer. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Sends a request of the control plane's own now, whether or not the process is ready (the handshake). */
  call(method: string, params: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    return this.send(method, params).answered;
  }

  private send(method: string, params: Record<string, unknown> | undefined): { id: number; answered: Promise<Record<string, unknown>> } {
    const id = this.nextId++;
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.set(id, { owner: { resolve, reject }, id, method });
    });
    this.process.write({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    return { id, answered };
  }

  /** A multiplexed connection for one user (a gateway session). */
  openSession(): Session {
    const session = new Session(this);
    this.sessions.add(session);
    return session;
  }

  /** The process exited: every request waiting for an answer fails (`cause`: why it was killed, when it was). */
  failPending(why: string, detail: string, cause?: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.owner instanceof Session) p.owner.deliver({ jsonrpc: '2.0', id: p.id, error: { code: -32000, message: `${why}; retry the request` } });
      else p.owner.reject(new StdioExitError(`${why}${detail}`, cause ? { cause } : undefined));
    }
    this.progress.clear();
    this.serverRequests.clear();
  }

  /** The process was stopped for good: every session ends. */
  closeSessions(): void {
    for (const s of [...this.sessions]) s.closedByServer();
  }

  /** A message from the process. */
  route(message: JSONRPCMessage): void {
    if ('id' in message && !('method' in message)) {
      const id = typeof message.id === 'number' ? message.id : Number(message.id);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (p.owner instanceof Session) {
        p.owner.deliver({ ...message, id: p.id } as JSONRPCMessage);
      } else if ('result' in message) {
        p.owner.resolve(message.result as Record<string, unknown>);
      } else if ('error' in message) {
        // The process's own words: a bounded excerpt, its secrets redacted.
        const said = typeof message.error.message === 'string' ? excerpt(message.error.message, this.process.secrets()) : '';
        p.owner.reject(new StdioRequestError(`${p.method} failed${said ? `: ${said}` : ''}`, message.error.code));
      }
      return;
    }
    if ('id' in message && 'method' in message) {
      if (message.method === 'ping') return this.process.write({ jsonrpc: '2.0', id: message.id, result: {} });
      const target = this.targetOf(message.method);
      if (typeof target === 'string') return this.process.write({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: target } });
      this.serverRequests.set(message.id, target.session);
      target.session.deliver(message, target.relatedRequestId);
      return;
    }
    if ('method' in message) {
      const params = (message.params ?? {}) as Record<string, unknown>;
      if (message.method === 'notifications/cancelled' && params.requestId !== undefined && this.serverRequests.has(params.requestId as RequestId)) {
        const owner = this.serverRequests.get(params.requestId as RequestId)!;
        this.serverRequests.delete(params.requestId as RequestId);
        owner.deliver(message);
        return;
      }
      const token = params.progressToken;
      if (token !== undefined) {
        const owner = this.progress.get(String(token));
        if (owner) owner.session.deliver({ ...message, params: { ...params, progressToken: owner.token } } as JSONRPCMessage);
        return;
      }
      for (const s of this.sessions) s.deliver(message);
    }
  }

  /** A message from a session, on its way to the process. */
  async fromSession(session: Session, message: JSONRPCMessage): Promise<void> {
    if ('method' in message && 'id' in message && message.method === 'initialize') {
      const capabilities = (message.params as { capabilities?: unknown } | undefined)?.capabilities;
      session.clientCapabilities = typeof capabilities === 'object' && capabilities !== null ? (capabilities as Record<string, unknown>) : {};
    }
    if ('method' in message && 'id' in message) {
      let init: InitializeResult;
      try {
        init = await this.process.ready();
      } catch (err) {
        session.deliver({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: (err as Error).message } });
        return;
      }
      if (message.method === 'initialize') {
        session.deliver({ jsonrpc: '2.0', id: message.id, result: init });
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { owner: session, id: message.id, method: message.method });
      let params = message.params as Record<string, unknown> | undefined;
      const meta = params?._meta as Record<string, unknown> | undefined;
      if (meta?.progressToken !== undefined) {
        const token = `p${id}`;
        this.progress.set(token, { session, token: meta.progressToken as string | number });
        params = { ...params, _meta: { ...meta, progressToken: token } };
      }
      this.process.write({ ...message, id, ...(params ? { params } : {}) } as JSONRPCMessage);
      return;
    }
    if ('method' in message) {
      if (message.method === 'notifications/initialized') return; // the process was initialized by the control plane
      if (message.method === 'notifications/cancelled') {
        const params = (message.params ?? {}) as Record<string, unknown>;
        const entry = [...this.pending.entries()].find(([, p]) => p.owner === session && p.id === params.requestId);
        if (!entry) return;
        this.process.write({ ...message, params: { ...params, requestId: entry[0] } } as JSONRPCMessage);
        return;
      }
      if (this.process.isReady()) this.process.write(message);
      return;
    }
    // An answer to a request of the server: only from the session it was sent to.
    if (message.id !== undefined && this.serverRequests.get(message.id) === session) {
      this.serverRequests.delete(message.id);
      this.process.write(message);
    }
  }

  detach(session: Session): void {
    this.sessions.delete(session);
    for (const [id, p] of this.pending) if (p.owner === session) this.pending.delete(id);
    for (const [token, p] of this.progress) if (p.session === session) this.progress.delete(token);
    for (const [id, owner] of this.serverRequests) {
      if (owner !== session) continue;
      this.serverRequests.delete(id);
      this.process.write({ jsonrpc: '2.0', id, error: { code: -32603, message: 'The client session this request was sent to ended before answering it.' } });
    }
  }

  /**
   * The session a request of the server is for, and the session's request it came during (when it has
   * one in flight); or why there is none (the error the server is answered).
   */
  private targetOf(method: string): { session: Session; relatedRequestId?: RequestId } | string {
    const busy = new Map<Session, RequestId[]>();
    for (const p of this.pending.values()) if (p.owner instanceof Session) busy.set(p.owner, [...(busy.get(p.owner) ?? []), p.id]);
    let session: Session | undefined;
    if (busy.size === 1) session = [...busy.keys()][0];
    else if (busy.size === 0 && this.sessions.size === 1) session = [...this.sessions][0];
    if (!session) {
      const why = busy.size > 1 ? `${busy.size} client sessions have requests in flight` : this.sessions.size === 0 ? 'no client session is open' : `${this.sessions.size} client sessions are open and none has a request in flight`;
      return `The gateway cannot tell which client this ${method} request is for (${why}): it shares this stdio server among its client sessions and sends a request of the server to one only when one alone can be meant.`;
    }
    const needed = CAPABILITY_OF[method];
    if (needed && session.clientCapabilities?.[needed] === undefined) {
      return `The client of this session did not declare the ${needed} capability, so the gateway does not send it ${method}.`;
    }
    const inFlight = busy.get(session);
    return { session, ...(inFlight?.length === 1 ? { relatedRequestId: inFlight[0]! } : {}) };
  }
}

/** One user's connection to a supervised process, as an SDK Transport (what the gateway relays over). */
export class Session implements Transport {
  /** `extra.relatedRequestId` (beside MessageExtraInfo): the session's request the message came during. */
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** What the session's client declared in its initialize. */
  clientCapabilities: Record<string, unknown> | undefined;
  private closed = false;

  constructor(private readonly multiplexer: StdioMultiplexer) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('the stdio session is closed');
    await this.multiplexer.fromSession(this, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.multiplexer.detach(this);
    this.onclose?.();
  }

  /** The process was stopped for good. */
  closedByServer(): void {
    void this.close();
  }

  /** `relatedRequestId`: the session's request (its own id) during which the server sent the message. */
  deliver(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    if (!this.closed) this.onmessage?.(message, relatedRequestId === undefined ? undefined : ({ relatedRequestId } as MessageExtraInfo));
  }
}
