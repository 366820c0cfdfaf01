// One mcp-server/stdio process, supervised: spawned with a clean environment (the manifest's env plus
// PATH, nothing inherited), initialized once by the control plane, shared by every user (discovery and
// each gateway session) through a StdioMultiplexer, restarted with exponential backoff when it crashes,
// killed when idle (started again on the next use) and killed for good by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../domain/logger.js';
import { sanitize } from '../upstream/redaction.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../upstream/response-limits.js';
import { LineReader, LineTooLongError } from './line-reader.js';
import { StdioExitError, StdioMultiplexer, StdioTimeoutError, type InitializeResult, type Session } from './stdio-multiplexer.js';
import { CLIENT_INFO } from '../upstream/listing-client.js';

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
  /** The longest line (one message) read from the process (--upstream-max-message-bytes); past it the process is killed. */
  maxMessageBytes?: number;
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

/** A process that has been ready this long is healthy again: the crash count starts over. */
const STABLE_MS = 10_000;

/**
 * What the control plane's handshake declares for the clients it relays: the server may ask for
 * sampling, form elicitation and roots, and the multiplexer sends each such request to the one session
 * it is for, whose client declared the capability (else the server is answered an error).
 */
const RELAYED_CLIENT_CAPABILITIES = { sampling: {}, elicitation: { form: {} }, roots: {} };
const STDERR_TAIL = 2048;

export class SupervisedServer {
  readonly key: string;
  readonly spec: StdioSpec;
  private child: ChildProcess | undefined;
  private state: SupervisedState = 'stopped';
  private starting: Promise<InitializeResult> | undefined;
  private initializeResult: InitializeResult | undefined;
  private readonly multiplexer = new StdioMultiplexer({
    ready: () => this.ready(),
    write: (message) => this.write(message),
    isReady: () => this.state === 'ready',
    secrets: () => Object.values(this.spec.env),
  });
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
  /** Why the control plane killed the running process, when it did so for misbehaving. */
  private killedFor: Error | undefined;
  /** How the last process ended unexpectedly (its stderr tail included; `cause`: why it was killed, when it was). */
  private exitError: StdioExitError | undefined;

  constructor(private readonly options: SupervisedServerOptions) {
    this.key = options.key;
    this.spec = options.spec;
    if (options.idleMs > 0) {
      this.idleTimer = setInterval(() => this.checkIdle(), Math.max(10, Math.min(options.idleMs / 4, 10_000)));
      this.idleTimer.unref();
    }
  }

  /** How the last process ended unexpectedly, as the requests it left unanswered learnt it; a new object per exit. */
  get lastExit(): StdioExitError | undefined {
    return this.exitError;
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

  /** A multiplexed connection for one user (a gateway session). */
  openSession(): Session {
    if (this.state === 'closed') throw new StdioExitError('the stdio server was stopped');
    return this.multiplexer.openSession();
  }

  /** Kills the process for good (the resource was deleted or changed); sessions are closed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'closed';
      if (this.idleTimer) clearInterval(this.idleTimer);
      if (this.restartTimer) clearTimeout(this.restartTimer);
      if (this.stableTimer) clearTimeout(this.stableTimer);
      await this.kill();
      this.multiplexer.closeSessions();
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
    const lines = new LineReader(this.options.maxMessageBytes ?? DEFAULT_UPSTREAM_LIMITS.maxMessageBytes, (line) => {
      let message: JSONRPCMessage;
      try {
        message = deserializeMessage(line);
      } catch (err) {
        logger.warn({ key: this.key, err: (err as Error).name }, 'stdio server wrote a line that is not JSON-RPC');
        return;
      }
      this.lastActivity = Date.now();
      this.multiplexer.route(message);
    });
    let overflowed = false;
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
      child.once('error', (err) => {
        // Spawning failed (say, not executable): there will be no exit event.
        fail(new StdioStartError(`could not start "${spec.command}": ${err.message}`));
        if (this.child === child && child.pid === undefined) {
          this.child = undefined;
          this.state = 'stopped';
          resolveExit();
        }
      });
      this.multiplexer.call('initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: RELAYED_CLIENT_CAPABILITIES, clientInfo: CLIENT_INFO }).then((result) => {
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
      }, fail);
    });
    handshake.catch(() => undefined);

    child.stdout?.on('data', (chunk: Buffer) => {
      if (overflowed) return;
      try {
        lines.push(chunk);
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        // Nothing more is read from it; it is killed and, like a crash, started again after a backoff.
        overflowed = true;
        if (this.child === child) this.killedFor = err;
        logger.warn({ key: this.key, limitBytes: err.limitBytes }, 'stdio server wrote a line past the cap; killing it');
        void this.kill();
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
    const killedFor = this.killedFor;
    this.killedFor = undefined;
    const why = killedFor
      ? `the stdio server "${this.spec.command}" was stopped: it ${killedFor.message} (--upstream-max-message-bytes)`
      : `the stdio server "${this.spec.command}" exited (${signal ? `signal ${signal}` : `code ${code}`})`;
    this.exitError = new StdioExitError(`${why}${this.stderrHint()}`, killedFor ? { cause: killedFor } : undefined);
    this.multiplexer.failPending(why, this.stderrHint(), killedFor);
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
    if (this.state !== 'ready' || this.multiplexer.busy) return;
    if (Date.now() - this.lastActivity < this.options.idleMs) return;
    this.options.logger.info({ key: this.key }, 'stdio server idle; stopping it until it is used again');
    this.state = 'stopped';
    this.initializeResult = undefined;
    void this.kill();
  }

  /** The last 400 characters of the process's stderr, sanitised; env values are secrets, never in a log or a message. */
  private stderrTail(): string {
    const text = sanitize(this.stderr, Object.values(this.spec.env), Number.MAX_SAFE_INTEGER);
    return text.length > 400 ? `…${text.slice(-399)}` : text;
  }

  private stderrHint(): string {
    const tail = this.stderrTail();
    return tail ? `; stderr: ${tail}` : '';
  }

  private write(message: JSONRPCMessage): void {
    this.lastActivity = Date.now();
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(serializeMessage(message));
  }
}

export class StdioStartError extends Error {}
