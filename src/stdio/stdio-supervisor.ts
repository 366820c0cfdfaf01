// The stdio processes of the control plane, one per mcp-server/stdio resource (keyed by fqn), shared by
// discovery and the gateway. A process starts on first use, is restarted with backoff when it crashes,
// is killed when idle (and started again on the next use), and is killed for good by stop(key) — the
// reconciler calls it when the resource is deleted or its command, args or env change.
//
// Every start checks the StdioPolicy again, so a command an operator removed from --stdio-allow never
// runs, whatever the stores hold.
import { createHash } from 'node:crypto';
import type { Logger } from '../domain/logger.js';
import { authStatusOnSuccess } from '../discovery/auth-status.js';
import { sanitize } from '../upstream/redaction.js';
import type { DiscoveryFailureReason, DiscoveryResult } from '../discovery/types.js';
import type { UpstreamTool } from '../upstream/types.js';
import { MAX_TOOLS, TooManyToolsError } from '../upstream/response-limits.js';
import { LineTooLongError } from './line-reader.js';
import { stableStringify } from '../manifest/index.js';
import type { StdioPolicy } from './stdio-policy.js';
import { StdioExitError, StdioRequestError, StdioTimeoutError, type Session } from './stdio-multiplexer.js';
import { StdioStartError, SupervisedServer, type StdioSpec, type SupervisedInfo } from './supervised-server.js';

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

const MAX_TOOL_PAGES = 100;

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
    const refusal = this.options.policy.refusal(spec.command);
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
   * Discovery over the supervised process: start it if needed (within the budget), then list every
   * tool page. Never throws; failures are DiscoveryResults like the HTTP transports'.
   */
  async discover(key: string, spec: StdioSpec, budget: { timeoutMs: number; requestTimeoutMs?: number }): Promise<DiscoveryResult> {
    const deadline = Date.now() + budget.timeoutMs;
    const remaining = () => Math.max(1, deadline - Date.now());
    const perRequest = () => Math.min(remaining(), budget.requestTimeoutMs ?? Number.MAX_SAFE_INTEGER);
    try {
      const server = this.server(key, spec);
      const init = await withTimeout(server.ready(), remaining(), `"${spec.command}" did not start and answer initialize within ${budget.timeoutMs} ms`);
      const tools: UpstreamTool[] = [];
      let cursor: string | undefined;
      const seen = new Set<string>();
      for (let page = 0; ; page++) {
        if (page >= MAX_TOOL_PAGES) throw new StdioRequestError(`tools/list returned more than ${MAX_TOOL_PAGES} pages`, -32603);
        let result: Record<string, unknown>;
        try {
          result = await server.request('tools/list', cursor === undefined ? undefined : { cursor }, perRequest());
        } catch (err) {
          // A server without tools may answer "method not found": no tools.
          if (page === 0 && err instanceof StdioRequestError && err.code === -32601 && !init.capabilities.tools) break;
          throw err;
        }
        const listed = (result.tools as Record<string, unknown>[] | undefined) ?? [];
        if (listed.length > MAX_TOOLS - tools.length) throw new TooManyToolsError(MAX_TOOLS);
        for (const t of listed) tools.push(toUpstreamTool(t));
        const next = result.nextCursor;
        if (typeof next !== 'string' || next === '') break;
        if (seen.has(next)) throw new StdioRequestError(`tools/list returned cursor "${next.slice(0, 40)}" twice`, -32603);
        seen.add(next);
        cursor = next;
      }
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
        err instanceof StdioTimeoutError || err instanceof BudgetError
          ? 'Timeout'
          : err instanceof StdioStartError || err instanceof StdioNotAllowedError || (err instanceof Error && /not found on the control plane's PATH/.test(message))
            ? 'Unreachable'
            : 'ProtocolError';
      return failed(reason, `stdio server ${key}: ${message}`, spec);
    }
  }
}

/** A failed discovery whose message may carry the process's words (its stderr, its errors): sanitised, env values redacted, bounded. */
function failed(reason: DiscoveryFailureReason, text: string, spec: StdioSpec): DiscoveryResult {
  const secrets = Object.values(spec.env);
  return { ok: false, reason, message: sanitize(text, secrets, 1000), authStatus: { status: 'unknown', method: null, message: sanitize(text, secrets, 240) } };
}

class BudgetError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function hashSpec(spec: StdioSpec): string {
  return createHash('sha256').update(stableStringify({ command: spec.command, args: spec.args, env: spec.env })).digest('hex');
}

function toUpstreamTool(tool: Record<string, unknown>): UpstreamTool {
  const obj = (v: unknown) => (typeof v === 'object' && v !== null ? { ...(v as Record<string, unknown>) } : undefined);
  const out: UpstreamTool = { name: String(tool.name ?? ''), inputSchema: obj(tool.inputSchema) ?? { type: 'object' } };
  if (typeof tool.title === 'string') out.title = tool.title;
  if (typeof tool.description === 'string') out.description = tool.description;
  const outputSchema = obj(tool.outputSchema);
  if (outputSchema) out.outputSchema = outputSchema;
  const annotations = obj(tool.annotations);
  if (annotations) out.annotations = annotations;
  return out;
}
