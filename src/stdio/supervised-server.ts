// One mcp-server/stdio process, supervised: spawned with a clean environment (the manifest's env plus
// PATH, nothing inherited), initialized once by the control plane, shared by every user (discovery and
// each gateway session) through a multiplexer that renumbers request ids, restarted with exponential
// backoff when it crashes, killed when idle (started again on the next use) and killed for good by stop().
//
// The multiplexer: each user is a Session (an SDK Transport). A session's requests get a process-wide id
// and their answers go back to that session with the original id; progress tokens are renumbered the
// same way; notifications/cancelled follows its request. A session's `initialize` is answered from the
// process's own handshake, and its notifications/initialized is dropped. Server notifications without a
// progress token go to every session. Requests from the server to a client (sampling, roots, elicitation)
// cannot be routed to one client, so they are refused (ping is answered).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../domain/logger.js';

export interface StdioSpec {
  command: string;
  args: readonly string[];
  /** Values are secrets. */
  env: Readonly<Record<string, string>>;
}

export interface SupervisedServerOptions {
  key: string;
  spec: StdioSpec;
  /** The program to spawn (see StdioPolicy.resolveCommand). */
  program: string;
  /** PATH of the child unless spec.env sets one. */
  path: string;
  logger: Logger;
  /** No message in or out for this long: the process is killed (started again on the next use). 0: never. */
  idleMs: number;
  restartBaseMs: number;
  restartMaxMs: number;
  /** How long the initialize handshake may take. */
  initializeTimeoutMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  killGraceMs?: number;
}

export type SupervisedState = 'stopped' | 'starting' | 'ready' | 'backoff' | 'closed';

export interface SupervisedInfo {
  state: SupervisedState;
  pid: number | undefined;
  /** Processes started after the first (crash restarts and restarts after idle). */
  restarts: number;
  /** Consecutive crashes; reset once a process has been ready for a while. */
  crashes: number;
}

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version: string };
  instructions?: string;
  [key: string]: unknown;
}

/** A process that has been ready this long is healthy again: the crash count starts over. */
const STABLE_MS = 10_000;
const CLIENT_INFO = { name: 'mcp-control-plane', version: '0.1.0' };
const STDERR_TAIL = 2048;

type Owner = Session | Internal;

interface Internal {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

interface PendingRequest {
  owner: Owner;
  id: RequestId;
  method: string;
}

export class StdioExitError extends Error {}

export class SupervisedServer {
  readonly key: string;
  readonly spec: StdioSpec;
  private child: ChildProcess | undefined;
  private state: SupervisedState = 'stopped';
  private starting: Promise<InitializeResult> | undefined;
  private initializeResult: InitializeResult | undefined;
  private readonly sessions = new Set<Session>();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly progress = new Map<string, { session: Session; token: string | number }>();
  private nextId = 1;
  private started = 0;
  private crashes = 0;
  private lastActivity = Date.now();
  private stderr = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private exited: Promise<void> = Promise.resolve();
  private afterBackoff: Promise<InitializeResult> | undefined;

  constructor(private readonly options: SupervisedServerOptions) {
    this.key = options.key;
    this.spec = options.spec;
    if (options.idleMs > 0) {
      this.idleTimer = setInterval(() => this.checkIdle(), Math.max(10, Math.min(options.idleMs / 4, 10_000)));
      this.idleTimer.unref();
    }
  }

  info(): SupervisedInfo {
    return { state: this.state, pid: this.state === 'ready' || this.state === 'starting' ? this.child?.pid : undefined, restarts: Math.max(0, this.started - 1), crashes: this.crashes };
  }

  /** Starts the process when it is not running (or waits for the restart in progress); answers its initialize result. */
  ready(): Promise<InitializeResult> {
    if (this.state === 'closed') return Promise.reject(new StdioExitError('the stdio server was stopped'));
    this.lastActivity = Date.now();
    if (this.state === 'ready' && this.initializeResult) return Promise.resolve(this.initializeResult);
    if (this.starting) return this.starting;
    // After a crash, a use waits for the backoff: a crashing server is not restarted faster because it is busy.
    if (this.state === 'backoff' && this.afterBackoff) return this.afterBackoff;
    // stopped: never started, or killed when idle.
    return this.start();
  }

  /** A request of the control plane itself (discovery), answered with its result or an error. */
  async request(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    await this.ready();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StdioTimeoutError(`${method} was not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      this.pending.set(id, {
        owner: { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) },
        id,
        method,
      });
      this.write({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    });
  }

  /** A multiplexed connection for one user (a gateway session). */
  openSession(): Session {
    if (this.state === 'closed') throw new StdioExitError('the stdio server was stopped');
    const session = new Session(this);
    this.sessions.add(session);
    return session;
  }

  /** Kills the process for good (the resource was deleted or changed); sessions are closed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'closed';
      if (this.idleTimer) clearInterval(this.idleTimer);
      if (this.restartTimer) clearTimeout(this.restartTimer);
      if (this.stableTimer) clearTimeout(this.stableTimer);
      await this.kill();
      for (const s of [...this.sessions]) s.closedByServer();
    })();
    return this.stopping;
  }

  // ------------------------------------------------------------------------------------------------

  private start(): Promise<InitializeResult> {
    this.state = 'starting';
    this.stderr = '';
    this.started++;
    const { spec, logger } = this.options;
    let child: ChildProcess;
    try {
      child = spawn(this.options.program, [...spec.args], {
        // A clean environment: PATH and the manifest's env, nothing of the control plane's own.
        env: { PATH: this.options.path, ...spec.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group, so a wrapper's children are killed with it.
        detached: true,
        shell: false,
        windowsHide: true,
      });
    } catch (err) {
      this.state = 'stopped';
      return Promise.reject(new StdioStartError(`could not start "${spec.command}": ${(err as Error).message}`));
    }
    this.child = child;
    const readBuffer = new ReadBuffer();
    let resolveExit!: () => void;
    this.exited = new Promise<void>((r) => (resolveExit = r));

    const handshake = new Promise<InitializeResult>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(new StdioTimeoutError(`"${spec.command}" did not answer initialize within ${this.options.initializeTimeoutMs} ms${this.stderrHint()}`));
        void this.kill();
      }, this.options.initializeTimeoutMs);
      const id = this.nextId++;
      this.pending.set(id, {
        id,
        method: 'initialize',
        owner: {
          resolve: (result) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const init = result as InitializeResult;
            this.initializeResult = init;
            this.state = 'ready';
            this.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
            this.stableTimer = setTimeout(() => (this.crashes = 0), STABLE_MS);
            this.stableTimer.unref();
            resolve(init);
          },
          reject: fail,
        },
      });
      child.once('error', (err) => {
        // Spawning failed (say, not executable): there will be no exit event.
        fail(new StdioStartError(`could not start "${spec.command}": ${err.message}`));
        if (this.child === child && child.pid === undefined) {
          this.child = undefined;
          this.state = 'stopped';
          resolveExit();
        }
      });
      this.write({
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
      });
    });
    handshake.catch(() => undefined);

    child.stdout?.on('data', (chunk: Buffer) => {
      readBuffer.append(chunk);
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = readBuffer.readMessage();
        } catch (err) {
          logger.warn({ key: this.key, err: (err as Error).message }, 'stdio server wrote a line that is not JSON-RPC');
          continue;
        }
        if (!message) break;
        this.lastActivity = Date.now();
        this.route(message);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.stdin?.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      resolveExit();
      if (this.child !== child) return;
      this.child = undefined;
      this.exitedUnexpectedly(code, signal);
    });

    this.starting = handshake.finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private exitedUnexpectedly(code: number | null, signal: NodeJS.Signals | null): void {
    const wasState = this.state;
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.initializeResult = undefined;
    const why = `the stdio server "${this.spec.command}" exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.owner instanceof Session) p.owner.deliver({ jsonrpc: '2.0', id: p.id, error: { code: -32000, message: `${why}; retry the request` } });
      else p.owner.reject(new StdioExitError(`${why}${this.stderrHint()}`));
    }
    this.progress.clear();
    if (wasState === 'closed' || wasState === 'stopped') return;
    // A crash: start again after a backoff that doubles with each crash in a row.
    this.crashes++;
    const delay = Math.min(this.options.restartBaseMs * 2 ** Math.min(this.crashes - 1, 30), this.options.restartMaxMs);
    this.state = 'backoff';
    this.options.logger.warn({ key: this.key, code, signal, restartInMs: delay, stderr: this.stderrTail() }, 'stdio server crashed; restarting');
    let release!: () => void;
    const waited = new Promise<void>((r) => (release = r));
    this.afterBackoff = waited.then(() => this.ready());
    this.afterBackoff.catch(() => undefined);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.afterBackoff = undefined;
      if (this.state !== 'backoff') return release();
      // Nobody used it for the idle time: stay down until the next use, instead of restarting forever.
      if (this.options.idleMs > 0 && Date.now() - this.lastActivity >= this.options.idleMs) this.state = 'stopped';
      else this.start().catch(() => undefined);
      release();
    }, delay);
    this.restartTimer.unref();
  }

  /** Kills the current process (group): stdin closed, SIGTERM, SIGKILL after the grace period. */
  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = this.exited;
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    child.stdin?.end();
    signal('SIGTERM');
    const grace = setTimeout(() => signal('SIGKILL'), this.options.killGraceMs ?? 2000);
    await exited;
    clearTimeout(grace);
  }

  private checkIdle(): void {
    if (this.state !== 'ready' || this.pending.size > 0) return;
    if (Date.now() - this.lastActivity < this.options.idleMs) return;
    this.options.logger.info({ key: this.key }, 'stdio server idle; stopping it until it is used again');
    this.state = 'stopped';
    this.initializeResult = undefined;
    void this.kill();
  }

  private stderrTail(): string {
    // Env values are secrets: never in a log or a message.
    let text = this.stderr;
    for (const value of Object.values(this.spec.env)) if (value.length >= 4) text = text.split(value).join('[redacted]');
    return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]+/g, ' ').trim().slice(-400);
  }

  private stderrHint(): string {
    const tail = this.stderrTail();
    return tail ? `; stderr: ${tail}` : '';
  }

  write(message: JSONRPCMessage): void {
    this.lastActivity = Date.now();
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(serializeMessage(message));
  }

  private route(message: JSONRPCMessage): void {
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
        p.owner.reject(new StdioRequestError(`${p.method} failed: ${message.error.message}`, message.error.code));
      }
      return;
    }
    if ('id' in message && 'method' in message) {
      // A request from the server to its client: only ping can be answered for every client at once.
      if (message.method === 'ping') this.write({ jsonrpc: '2.0', id: message.id, result: {} });
      else this.write({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `${message.method} is not available through the gateway's stdio bridge` } });
      return;
    }
    if ('method' in message) {
      const params = (message.params ?? {}) as Record<string, unknown>;
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
    if ('method' in message && 'id' in message) {
      if (message.method === 'initialize') {
        try {
          const init = await this.ready();
          session.deliver({ jsonrpc: '2.0', id: message.id, result: init });
        } catch (err) {
          session.deliver({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: (err as Error).message } });
        }
        return;
      }
      try {
        await this.ready();
      } catch (err) {
        session.deliver({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: (err as Error).message } });
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
      this.write({ ...message, id, ...(params ? { params } : {}) } as JSONRPCMessage);
      return;
    }
    if ('method' in message) {
      if (message.method === 'notifications/initialized') return; // the process was initialized by the control plane
      if (message.method === 'notifications/cancelled') {
        const params = (message.params ?? {}) as Record<string, unknown>;
        const entry = [...this.pending.entries()].find(([, p]) => p.owner === session && p.id === params.requestId);
        if (!entry) return;
        this.write({ ...message, params: { ...params, requestId: entry[0] } } as JSONRPCMessage);
        return;
      }
      if (this.state === 'ready') this.write(message);
    }
    // Responses: the server's requests are never forwarded to sessions, so there is nothing to answer.
  }

  detach(session: Session): void {
    this.sessions.delete(session);
    for (const [id, p] of this.pending) if (p.owner === session) this.pending.delete(id);
    for (const [token, p] of this.progress) if (p.session === session) this.progress.delete(token);
  }
}

export class StdioStartError extends Error {}
export class StdioTimeoutError extends Error {}
export class StdioRequestError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** One user's connection to a supervised process, as an SDK Transport (what the gateway relays over). */
export class Session implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private closed = false;

  constructor(private readonly server: SupervisedServer) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('the stdio session is closed');
    await this.server.fromSession(this, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.detach(this);
    this.onclose?.();
  }

  /** The process was stopped for good. */
  closedByServer(): void {
    void this.close();
  }

  deliver(message: JSONRPCMessage): void {
    if (!this.closed) this.onmessage?.(message);
  }
}
