// The stdio processes of the control plane, one per mcp-server/stdio resource (keyed by fqn), shared by
// discovery and the gateway. A process starts on first use, is restarted with backoff when it crashes,
// is killed when idle (and started again on the next use), and is killed for good by stop(key) — the
// reconciler calls it when the resource is deleted or its command, args or env change.
//
// Every start checks the StdioPolicy again, so a command an operator removed from --stdio-allow never
// runs, whatever the stores hold.
import { createHash } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../domain/logger.js';
import { authStatusOnSuccess } from '../discovery/auth-status.js';
import { excerpt, sanitize } from '../upstream/redaction.js';
import type { DiscoveryFailureReason, DiscoveryResult } from '../discovery/types.js';
import { Budget, BudgetExceededError } from '../upstream/budget.js';
import { listingClient } from '../upstream/listing-client.js';
import { listAllTools } from '../upstream/tools-pager.js';
import { MAX_TOOLS, TooManyToolsError } from '../upstream/response-limits.js';
import { LineTooLongError } from './line-reader.js';
import { stableStringify } from '../manifest/stable-stringify.js';
import { stdioRefusal, type StdioPolicy } from './stdio-policy.js';
import { StdioExitError, StdioRequestError, StdioTimeoutError, type Session } from './stdio-multiplexer.js';
import { StdioStartError, SupervisedServer, type StdioSpec, type SupervisedInfo } from './supervised-server.js';
import { ConditionReason } from '../domain/condition-reasons.js';

export interface StdioSupervisorOptions {
  policy: StdioPolicy;
  logger: Logger;
  /** Kill a process nobody used for this long. Default 5 min; 0 never. */
  idleMs?: number;
  /** First restart delay after a crash; doubles per crash in a row. Default 500 ms. */
  restartBaseMs?: number;
  /** Default 30 s. */
  restartMaxMs?: number;
  /** Default 10 s. */
  initializeTimeoutMs?: number;
  /** The longest line (one message) read from a process (--upstream-max-message-bytes). Default: DEFAULT_UPSTREAM_LIMITS'. */
  maxMessageBytes?: number;
}

export class StdioNotAllowedError extends Error {}

export class StdioSupervisor {
  private readonly servers = new Map<string, { server: SupervisedServer; specHash: string }>();
  private closed = false;

  constructor(private readonly options: StdioSupervisorOptions) {}

  get policy(): StdioPolicy {
    return this.options.policy;
  }

  /** The process for key, (re)created when the spec changed. Throws StdioNotAllowedError. */
  server(key: string, spec: StdioSpec): SupervisedServer {
    if (this.closed) throw new StdioExitError('the control plane is shutting down');
    const refusal = stdioRefusal(this.options.policy, spec.command);
    if (refusal) throw new StdioNotAllowedError(refusal);
    const specHash = hashSpec(spec);
    const current = this.servers.get(key);
    if (current && current.specHash === specHash) return current.server;
    if (current) void current.server.stop();
    const program = this.options.policy.resolveCommand(spec.command);
    const server = new SupervisedServer({
      key,
      spec: { command: spec.command, args: [...spec.args], env: { ...spec.env } },
      program,
      path: this.options.policy.childPath,
      logger: this.options.logger.child({ key }),
      idleMs: this.options.idleMs ?? 5 * 60_000,
      restartBaseMs: this.options.restartBaseMs ?? 500,
      restartMaxMs: this.options.restartMaxMs ?? 30_000,
      initializeTimeoutMs: this.options.initializeTimeoutMs ?? 10_000,
      ...(this.options.maxMessageBytes !== undefined ? { maxMessageBytes: this.options.maxMessageBytes } : {}),
    });
    this.servers.set(key, { server, specHash });
    return server;
  }

  /** A gateway session on key's process (started if needed when the session sends). */
  openSession(key: string, spec: StdioSpec): Session {
    return this.server(key, spec).openSession();
  }

  info(key: string): SupervisedInfo | undefined {
    return this.servers.get(key)?.server.info();
  }

  /** Kills key's process for good and forgets it (the resource is gone or changed kind). */
  async stop(key: string): Promise<void> {
    const current = this.servers.get(key);
    if (!current) return;
    this.servers.delete(key);
    await current.server.stop();
  }

  has(key: string): boolean {
    return this.servers.has(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.servers.keys()].map((k) => this.stop(k)));
  }

  /**
   * Discovery over the supervised process: start it if needed, then an SDK Client over a session of its
   * own lists every tool page (the one pager), all within one Budget. Never throws; failures are
   * DiscoveryResults like the HTTP transports'.
   */
  async discover(key: string, spec: StdioSpec, limits: { timeoutMs: number; requestTimeoutMs?: number }): Promise<DiscoveryResult> {
    const budget = new Budget(limits.timeoutMs, limits.requestTimeoutMs);
    const secrets = Object.values(spec.env);
    let client: Client | undefined;
    try {
      const server = this.server(key, spec);
      const init = await budget.run(server.ready()).catch((err: unknown) => {
        throw err instanceof BudgetExceededError ? new StdioTimeoutError(`"${spec.command}" did not start and answer initialize within ${limits.timeoutMs} ms`) : err;
      });
      const exitBefore = server.lastExit;
      // A request the session could not get answered: the process's exit (with its stderr tail) when it
      // died meanwhile, the budget, or the process's own error (a bounded excerpt, its env redacted).
      const failure = (method: string) => (err: unknown): never => {
        if (server.lastExit !== exitBefore && server.lastExit) throw server.lastExit;
        if (err instanceof BudgetExceededError || (err instanceof McpError && err.code === ErrorCode.RequestTimeout)) {
          const ms = err instanceof BudgetExceededError ? limits.timeoutMs : (limits.requestTimeoutMs ?? limits.timeoutMs);
          throw new StdioTimeoutError(`${method} was not answered within ${ms} ms`);
        }
        if (err instanceof McpError) {
          const said = excerpt(err.message.replace(/^MCP error -?\d+: /, ''), secrets);
          throw new StdioRequestError(`${method} failed${said ? `: ${said}` : ''}`, err.code);
        }
        throw err;
      };
      client = listingClient();
      // The session's initialize is answered from the process's own handshake.
      await budget.run(client.connect(server.openSession(), budget.requestOptions())).catch(failure('initialize'));
      const lister = client;
      const tools = await listAllTools(
        (cursor) => budget.run(lister.listTools(cursor === undefined ? undefined : { cursor }, budget.requestOptions())).catch(failure('tools/list')),
        Boolean(init.capabilities.tools),
      );
      return {
        ok: true,
        transport: 'stdio',
        serverInfo: { name: String(init.serverInfo?.name ?? ''), version: String(init.serverInfo?.version ?? '') },
        capabilities: { ...(init.capabilities ?? {}) },
        ...(typeof init.instructions === 'string' && init.instructions ? { instructions: init.instructions } : {}),
        tools,
        authStatus: authStatusOnSuccess('none'),
      };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof TooManyToolsError || (err instanceof Error && err.cause instanceof LineTooLongError)) {
        const text = `stdio server ${key}: ${err instanceof TooManyToolsError ? `lists more than ${MAX_TOOLS} tools; the control plane keeps at most ${MAX_TOOLS} per server` : message}`;
        return failed('ResponseTooLarge', text, spec);
      }
      const reason =
        err instanceof StdioTimeoutError
          ? ConditionReason.Timeout
          : err instanceof StdioStartError || err instanceof StdioNotAllowedError || (err instanceof Error && /not found on the control plane's PATH/.test(message))
            ? ConditionReason.Unreachable
            : 'ProtocolError';
      return failed(reason, `stdio server ${key}: ${message}`, spec);
    } finally {
      budget.dispose();
      // Closing the client closes its session (the process stays for the gateway and the next discovery).
      await client?.close().catch(() => undefined);
    }
  }
}

/** A failed discovery whose message may carry the process's words (its stderr, its errors): sanitised, env values redacted, bounded. */
function failed(reason: DiscoveryFailureReason, text: string, spec: StdioSpec): DiscoveryResult {
  const secrets = Object.values(spec.env);
  return { ok: false, reason, message: sanitize(text, secrets, 1000), authStatus: { status: 'unknown', method: null, message: sanitize(text, secrets, 240) } };
}

function hashSpec(spec: StdioSpec): string {
  return createHash('sha256').update(stableStringify({ command: spec.command, args: spec.args, env: spec.env })).digest('hex');
}
