// The gateway data plane: /mcp/<name> speaks Streamable HTTP to MCP clients and relays each client
// session to one upstream session of the server the gateway store describes. It reads the gateway
// store and nothing else, so it can run as a process of its own next to a copy of that store.
//
// Every HTTP request is admitted on its own: a bearer token (401 without one, and 401 with error="invalid_token"
// for one the gateway does not know, as RFC 6750 and MCP's authorization spec ask; the body names the
// problem, and an OAuth client that signs in anyway is refused at /register with the same words:
// http/oauth-refusal.ts), an entry in the
// gateway store that the subject may use (404 for both: a server the caller may not use answers exactly
// what a missing one does, so names do not leak across accounts), an entry that is served (503). A
// session is bound to the subject that opened it. The caller's token stays here: an upstream that
// authenticates callers gets a token minted for the caller (callerTokens).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, type Authenticator } from '../../auth/authenticator.js';
import type { CallerTokenLease } from '../../auth/caller-tokens.js';
import type { EgressPolicy } from '../../upstream/egress.js';
import type { UpstreamLimits } from '../../upstream/response-limits.js';
import type { Clock } from '../../domain/clock.js';
import type { Collaborator } from '../../domain/manifest.js';
import type { Logger } from '../../domain/logger.js';
import type { Principal } from '../../domain/principal.js';
import { serverFqn } from '../../domain/resource.js';
import type { GatewayReader } from '../../store/gateway-reader.js';
import { virtualSourceHeaders, type GatewayEntry, type StoredGatewayEntry } from '../gateway-entry.js';
import { GatewayCatalog } from './gateway-catalog.js';
import { GatewaySession } from './gateway-session.js';
import { BodyError, readJsonBody } from './json-body.js';
import { noopDataPlaneMetrics, type DataPlaneErrorKind, type DataPlaneMetrics } from './metrics.js';
import { toolSettingsKey } from './tool-policy.js';
import { connectUpstream, UpstreamConnectError, type StdioSessions } from './upstream.js';
import { CREDENTIALS_REQUIRED, refreshTokenOnRejection } from './caller-token-refresh.js';
import { HttpUpstreamTransport } from './upstream-http.js';
import { noUpstreamHealthReporter, type UpstreamHealthReporter } from './upstream-health.js';
import { forwardSessionRequest } from './session-forward.js';
import { FORWARD_TOKEN_HEADER, FORWARDED_BY_HEADER, type SessionOwners } from './session-owners.js';
import { VirtualSession, virtualToolsKey, type VirtualSourceSession } from './virtual-session.js';
import { ConditionReason } from '../../domain/condition-reasons.js';
import type { CallerCredentials, CallerEntry, CredentialsRefusal } from '../../credentials/caller-credentials.js';

export interface UsePolicy {
  canUse(principal: Principal, collaborators: readonly Collaborator[], accountId: string): boolean;
}

export interface DataPlaneOptions {
  gateway: GatewayReader;
  authenticator: Authenticator;
  policy: UsePolicy;
  tenant: string;
  logger: Logger;
  metrics?: DataPlaneMetrics;
  /** Budget for opening an upstream session (both transports when the entry's is unknown). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * How long one upstream request may stay unanswered (progress restarts it), for entries without
   * timeouts.request_ms. Default 0: no deadline; the client's own timeout applies, as MCP leaves it.
   */
  requestTimeoutMs?: number;
  /**
   * The longest silence within one upstream answer's body. Default 0: none, so an HTTP+SSE session's
   * stream, a GET stream or a long call's streamed answer stays up however quiet (a dead upstream is found
   * by TCP keep-alive); when it does drop, the session ends and its open requests get an error at once.
   */
  upstreamBodyTimeoutMs?: number;
  /** The clock of request deadlines and of a POST's switch to an event stream after 200 ms (tests inject one). Default: the system clock. */
  clock?: Clock;
  /** Sessions without requests or an open GET stream for this long are ended; 0 never. Default 30 min. */
  idleSessionTimeoutMs?: number;
  /** How often to look for gateway store writes by other processes; 0 never. Default 1 s. */
  storePollIntervalMs?: number;
  /** Which addresses upstream connections may reach (the same policy as discovery's). */
  egress?: EgressPolicy;
  /** Byte caps on upstream answers (the message cap applies: per answer and per event). */
  upstreamLimits?: UpstreamLimits;
  /** Runs mcp-server/stdio servers (the control plane's stdio supervisor, shared with discovery). */
  stdio?: StdioSessions;
  /**
   * Mints the bearer token a passthroughAuth entry's upstream gets for a caller (src/auth/caller-tokens.ts);
   * absent, such entries answer 502.
   */
  callerTokens?: { lease(subject: string, audience: string): Promise<CallerTokenLease> };
  /** Told when an upstream session opens, cannot be opened, or is lost, so the server's status follows. */
  upstreamHealth?: UpstreamHealthReporter;
  /**
   * Several replicas behind one load balancer: session ids name their replica, and a request for a session
   * another live replica holds is forwarded there (session-owners.ts). Absent: every session is this process's.
   */
  sessionOwners?: SessionOwners;
  /**
   * Fills in a per-user entry (entry.perUser) for each caller: their own header values or OAuth token
   * (src/credentials). Absent: such entries answer 502.
   */
  callerCredentials?: Pick<CallerCredentials, 'entryFor' | 'afterRejection'>;
}

const WWW_AUTHENTICATE = 'Bearer realm="mcp-control-plane"';
/** The JSON-RPC error code of a caller who has not set up their own credentials for a per-user server. */
export { CREDENTIALS_REQUIRED };

/** A source of a virtual server refused the caller (no credentials of their own for it). */
class CallerRefused extends Error {
  constructor(readonly refusal: CredentialsRefusal) {
    super(refusal.message);
  }
}
/** No resource_metadata: the gateway has no authorization server, only tokens its administrators issue. */
const INVALID_TOKEN = 'Bearer realm="mcp-control-plane", error="invalid_token", error_description="The bearer token is not valid"';

interface Admission {
  principal: Principal;
  entry: StoredGatewayEntry;
}

export class DataPlane {
  /**
   * Serves `/<name>`: the path below the mount point (e.g. app.use('/mcp', handler)), and `next` for any
   * other path (with the URIError of a malformed %-escape). A plain node handler, so the server can
   * hand it requests without express, whose per-request work costs a relayed message more than the relay.
   */
  readonly handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const name = nameOf(req.url ?? '/');
    if (name === undefined || name instanceof URIError) return next(name);
    this.serveNamed(name, req, res);
  };

  /** As handler, for a server that passes on other paths itself: false (nothing answered) when the path is not `/<name>`. */
  serves(req: IncomingMessage, res: ServerResponse): boolean {
    const name = nameOf(req.url ?? '/');
    if (name === undefined || name instanceof URIError) return false;
    this.serveNamed(name, req, res);
    return true;
  }

  private serveNamed(name: string, req: IncomingMessage, res: ServerResponse): void {
    // A request another replica forwarded is admitted on that replica's credential, never the caller's.
    if (this.options.sessionOwners && req.headers[FORWARDED_BY_HEADER] !== undefined) {
      this.admitForwarded(req, res, this.options.sessionOwners)
        .then((principal) => principal && this.withEntry(name, req, res, principal))
        .catch((error: unknown) => this.failed(name, res, error));
      return;
    }
    const principal = this.authenticate(req, res);
    if (!principal) return;
    this.withEntry(name, req, res, principal);
  }

  private withEntry(name: string, req: IncomingMessage, res: ServerResponse, principal: Principal): void {
    // A cached entry (every server with sessions) is served without waiting for the store.
    const fqn = serverFqn(this.options.tenant, name);
    const cached = this.catalog.cached(fqn);
    if (cached) return this.dispatch(name, req, res, principal, cached);
    this.catalog
      .get(fqn)
      .then((entry) => this.dispatch(name, req, res, principal, entry))
      .catch((error: unknown) => this.failed(name, res, error));
  }

  /** The principal the forwarding replica admitted, or undefined once the request was refused (401). */
  private async admitForwarded(req: IncomingMessage, res: ServerResponse, owners: SessionOwners): Promise<Principal | undefined> {
    const credential = req.headers[FORWARD_TOKEN_HEADER];
    const sessionId = req.headers['mcp-session-id'];
    const principal = typeof credential === 'string' && typeof sessionId === 'string' ? await owners.admitForwarded(credential, sessionId) : undefined;
    if (principal) return principal;
    const message = 'A request forwarded by another replica must carry a valid forwarding credential for its session; this one does not.';
    return this.refuse(res, 401, 'InvalidToken', message, '', 'unauthenticated');
  }

  private dispatch(name: string, req: IncomingMessage, res: ServerResponse, principal: Principal, entry: StoredGatewayEntry | undefined): void {
    const admission = this.admit(name, res, principal, entry);
    if (!admission) return;
    const sessionId = req.headers['mcp-session-id'];
    const owners = this.options.sessionOwners;
    if (owners && typeof sessionId === 'string' && !this.sessions.has(sessionId) && req.headers[FORWARDED_BY_HEADER] === undefined) {
      this.serveElsewhere(req, res, admission, owners, sessionId, name).catch((error: unknown) => {
        this.options.logger.warn({ server: name, err: error instanceof Error ? error.message : String(error) }, 'could not forward a session request');
        this.metrics.error(name, 'upstream_connect');
        if (!res.headersSent) answerJson(res, 502, rpcError(-32000, 'The request could not be forwarded to the gateway replica that holds this session; retry it.'));
        else res.end();
      });
      return;
    }
    this.serveHere(req, res, admission, name);
  }

  private serveHere(req: IncomingMessage, res: ServerResponse, admission: Admission, name: string): void {
    if (req.method !== 'POST') return this.serveCaught(req, res, admission, undefined, name);
    readJsonBody(req, (error, body) => (error ? this.failed(name, res, error) : this.serveCaught(req, res, admission, body, name)));
  }

  /** serve(), its failure answered (it may run inside the request body's 'end' event: nothing may escape). */
  private serveCaught(req: IncomingMessage, res: ServerResponse, admission: Admission, body: unknown, name: string): void {
    try {
      this.serve(req, res, admission, body)?.catch((error: unknown) => this.failed(name, res, error));
    } catch (error) {
      this.failed(name, res, error);
    }
  }

  /**
   * A session this replica does not hold: forwarded to the live replica that owns it, or answered here
   * (404: unknown session) when none does. Admission ran here first: a request this replica would refuse
   * is never forwarded.
   */
  private async serveElsewhere(req: IncomingMessage, res: ServerResponse, admission: Admission, owners: SessionOwners, sessionId: string, name: string): Promise<void> {
    const owner = await owners.ownerOf(sessionId).catch((error: unknown) => {
      this.options.logger.warn({ server: name, err: error instanceof Error ? error.message : String(error) }, 'could not look up the owner of a session');
      return { kind: 'unknown' as const };
    });
    if (owner.kind !== 'elsewhere') return this.serveHere(req, res, admission, name);
    const query = (req.url ?? '').indexOf('?');
    const target = new URL(`/mcp/${encodeURIComponent(name)}${query === -1 ? '' : (req.url ?? '').slice(query)}`, owner.url);
    const credential = await owners.forwardCredential(owner.id, sessionId, admission.principal);
    forwardSessionRequest(req, res, {
      target,
      selfId: owners.selfId,
      credential,
      ownerGone: (r) => {
        this.metrics.error(name, 'unknown_session');
        answerJson(r, 404, rpcError(-32001, 'Session not found: the replica that held it is gone; start a new session with initialize.'));
      },
      onError: (error) => this.options.logger.info({ server: name, owner: owner.url, err: error.message }, 'forwarding a session request failed'),
    });
  }

  private failed(name: string, res: ServerResponse, error: unknown): void {
    if (error instanceof BodyError) return answerJson(res, error.status, rpcError(error.code, error.message));
    this.options.logger.error({ server: name, err: error instanceof Error ? error.message : String(error) }, 'the data plane failed a request');
    if (!res.headersSent) answerJson(res, 500, rpcError(-32603, 'Internal error: the gateway failed this request.'));
    else res.end();
  }

  private readonly sessions = new Map<string, GatewaySession | VirtualSession>();
  private readonly catalog: GatewayCatalog;
  private readonly metrics: DataPlaneMetrics;
  private readonly health: UpstreamHealthReporter;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: DataPlaneOptions) {
    this.metrics = options.metrics ?? noopDataPlaneMetrics;
    this.health = options.upstreamHealth ?? noUpstreamHealthReporter;
    this.catalog = new GatewayCatalog({
      store: options.gateway,
      onChange: (fqn, entry) => this.entryChanged(fqn, entry),
      ...(options.storePollIntervalMs !== undefined ? { pollIntervalMs: options.storePollIntervalMs } : {}),
    });
    const idle = options.idleSessionTimeoutMs ?? 30 * 60_000;
    if (idle > 0) {
      this.sweeper = setInterval(() => this.endIdleSessions(idle), Math.min(idle / 4, 60_000));
      this.sweeper.unref();
    }
  }

  /** Open sessions, of one server (by name) or of all. */
  sessionCount(name?: string): number {
    if (name === undefined) return this.sessions.size;
    const fqn = serverFqn(this.options.tenant, name);
    return [...this.sessions.values()].filter((s) => s.fqn === fqn).length;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.catalog.close();
    await Promise.all([...this.sessions.values()].map((s) => s.close('the gateway is shutting down')));
  }

  /** The caller, or undefined when refused (answered 401/403 here). */
  private authenticate(req: IncomingMessage, res: ServerResponse): Principal | undefined {
    const token = bearerToken(req.headers.authorization);
    const principal = token === undefined ? undefined : this.options.authenticator.authenticate(token);
    if (token === undefined) {
      res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
      const message = 'Send a bearer token: Authorization: Bearer <token> (a token an administrator of this gateway issued; it offers no OAuth sign-in).';
      return this.refuse(res, 401, 'Unauthorized', message, '', 'unauthenticated');
    }
    if (!principal) {
      res.setHeader('WWW-Authenticate', INVALID_TOKEN);
      const message = 'The bearer token is not valid: check the token you passed, or ask an administrator of this gateway for a new one (it offers no OAuth sign-in).';
      return this.refuse(res, 401, 'InvalidToken', message, '', 'unauthenticated');
    }
    return principal;
  }

  private admit(name: string, res: ServerResponse, principal: Principal, entry: StoredGatewayEntry | undefined): Admission | undefined {
    // connection_type: direct: clients reach that server themselves; the gateway does not serve it.
    // Not the caller's to use: the same answer, byte for byte (only the metrics tell them apart).
    const usable = entry !== undefined && this.options.policy.canUse(principal, entry.collaborators, entry.accountId);
    if (!entry || entry.connectionType === 'direct' || !usable) {
      const message = `No MCP server "${name}" is served to you by this gateway; check the name, whether it was deleted, or ask its managers to add you as a collaborator.`;
      return this.refuse(res, 404, 'NotFound', message, entry && !usable ? name : '', entry && !usable ? 'forbidden' : 'not_found');
    }
    if (entry.unavailable) {
      const { reason, message } = entry.unavailable;
      return this.refuse(res, 503, 'Unavailable', `MCP server "${name}" is not served right now (${reason}): ${message}`, name, 'unavailable');
    }
    return { principal, entry };
  }

  /**
   * `body`: the parsed JSON of a POST (undefined when it was not JSON). A request of an open session is
   * handed to it now (no promise); opening a session answers the promise of its work.
   */
  private serve(req: IncomingMessage, res: ServerResponse, { principal, entry }: Admission, body: unknown): Promise<void> | undefined {
    const sessionId = req.headers['mcp-session-id'];
    if (sessionId !== undefined) {
      const session = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
      if (!session || session.fqn !== entry.fqn || session.principal.subject.subjectId !== principal.subject.subjectId) {
        this.metrics.error(entry.name, 'unknown_session');
        // 404 tells a Streamable HTTP client to start a new session.
        answerJson(res, 404, rpcError(-32001, 'Session not found; start a new session with initialize.'));
        return undefined;
      }
      session.handle(req, res, body);
      return undefined;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      answerJson(res, 400, rpcError(-32000, 'Bad Request: send initialize first, or the Mcp-Session-Id of your session.'));
      return undefined;
    }
    if (entry.virtual) return this.serveVirtual(req, res, principal, entry, body);
    return this.open(req, res, principal, entry, body);
  }

  /** A new session of a proxied server: its upstream session opened with the client's initialize. */
  private async open(req: IncomingMessage, res: ServerResponse, principal: Principal, entry: StoredGatewayEntry, body: InitializeRequest): Promise<void> {

    let upstream;
    try {
      // A per-user server: the caller's own credentials, or 401 naming where to set them up (nothing goes upstream).
      let caller = await this.callerEntry(entry, principal);
      if ('refusal' in caller) return this.refuseCaller(res, entry.name, caller.refusal, body.id);
      const callerToken = entry.passthroughAuth && !entry.stdio ? await this.options.callerTokens?.lease(principal.subject.subjectId, entry.upstreamUrl) : undefined;
      const connect = (upstreamEntry: GatewayEntry) =>
        connectUpstream({ entry: upstreamEntry, ...(callerToken ? { callerToken } : {}), initialize: body, ...this.connectOptions(upstreamEntry) });
      try {
        upstream = await connect(caller.entry);
      } catch (error) {
        // The upstream refused the caller's own credentials: an OAuth token is refreshed once and tried again;
        // else 401 naming where to set them up again.
        if (!(error instanceof UpstreamConnectError && error.credentialsRefused && entry.perUser)) throw error;
        caller = await this.options.callerCredentials!.afterRejection(entry, principal.subject.subjectId, caller.token ?? '');
        if ('refusal' in caller) return this.refuseCaller(res, entry.name, caller.refusal, body.id);
        upstream = await connect(caller.entry);
      }
      // A 401 later in the session: the caller's token refreshed once, as here.
      if (caller.token !== undefined && upstream.transport instanceof HttpUpstreamTransport) {
        refreshTokenOnRejection(upstream.transport, entry, principal.subject.subjectId, caller.token, this.options.callerCredentials!);
      }
    } catch (error) {
      if (!(error instanceof UpstreamConnectError)) throw error;
      this.options.logger.info({ server: entry.name, status: error.status, err: error.message }, 'could not open an upstream session');
      this.metrics.error(entry.name, 'upstream_connect');
      this.metrics.request(entry.name, 'initialize', 'error');
      // Only a server down for everyone flips Ready: one caller's refusal says nothing of the server.
      if (error.unreachable) this.health.report(entry.fqn, { ok: false, reason: ConditionReason.Unreachable, message: error.message });
      return answerJson(res, error.status, rpcError(-32000, error.message, body.id));
    }
    this.health.report(entry.fqn, { ok: true });
    const session = new GatewaySession({
      serverName: entry.name,
      fqn: entry.fqn,
      principal,
      upstream,
      toolSettings: () => this.catalog.cached(entry.fqn),
      requestTimeoutMs: entry.timeouts?.requestMs ?? this.options.requestTimeoutMs ?? 0,
      ...this.sessionBasics(entry.name),
      onUpstreamFailed: (message) => this.health.report(entry.fqn, { ok: false, reason: ConditionReason.Unreachable, message }),
      ...(this.options.sessionOwners ? { newSessionId: () => this.options.sessionOwners!.newSessionId() } : {}),
    });
    session.handle(req, res, body);
    // The transport refused the request (say, a bad Accept header): no session, so no upstream either.
    if (session.id === undefined) await session.close('initialize was not accepted');
  }

  /** The entry with the caller's own credentials (an entry without perUser as it is). */
  private async callerEntry(entry: GatewayEntry, principal: Principal): Promise<CallerEntry> {
    if (!entry.perUser) return { entry };
    const credentials = this.options.callerCredentials;
    if (!credentials) {
      throw new UpstreamConnectError(502, `MCP server "${entry.name}" takes each caller's own credentials, and this gateway has no credential store.`);
    }
    return credentials.entryFor(entry, principal.subject.subjectId);
  }

  /**
   * A caller without the credentials a per-user server takes: 401 with a JSON-RPC error whose message and
   * data name where they set them up. No WWW-Authenticate resource metadata: the gateway itself is no
   * authorization server (its clients keep their token for it; the account is connected elsewhere).
   */
  private refuseCaller(res: ServerResponse, server: string, refusal: CredentialsRefusal, id: string | number): void {
    this.metrics.error(server, 'unauthenticated');
    res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
    answerJson(res, 401, { jsonrpc: '2.0', error: { code: CREDENTIALS_REQUIRED, message: refusal.message, data: refusal.data }, id });
  }

  /** Ends the sessions of one caller on one server (they disconnected their account); answers how many. */
  endSessionsOf(fqn: string, subjectId: string, why: string): number {
    let ended = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.fqn !== fqn || session.principal.subject.subjectId !== subjectId) continue;
      void session.close(why);
      ended++;
    }
    return ended;
  }

  private entryChanged(fqn: string, entry: StoredGatewayEntry | undefined): void {
    // A virtual session over this source whose caller may no longer use the source ends (the virtual server may stay served).
    if (entry) {
      for (const session of this.sessions.values()) {
        if (!(session instanceof VirtualSession) || session.fqn === fqn) continue;
        const composes = this.catalog.cached(session.fqn)?.virtual?.sources.some((s) => s.fqn === fqn) === true;
        if (composes && !this.options.policy.canUse(session.principal, entry.collaborators, entry.accountId)) void session.close('access to a source was withdrawn');
      }
    }
    const affected = [...this.sessions.values()].filter((s) => s.fqn === fqn);
    if (affected.length === 0) return;
    const key = entry && toolSettingsKey(entry);
    for (const session of affected) {
      if (!entry) void session.close('the server was deleted');
      else if (entry.connectionType === 'direct') void session.close('the server is no longer proxied');
      else if (entry.unavailable) void session.close(`the server is not served (${entry.unavailable.reason})`);
      else if (!this.options.policy.canUse(session.principal, entry.collaborators, entry.accountId)) void session.close('access was withdrawn');
      else session.toolsChanged(session instanceof VirtualSession ? virtualToolsKey(entry) : key!);
    }
  }

  /**
   * A new session of an mcp-server/virtual server: one upstream session per source, each opened from the
   * source's own gateway entry (with the virtual server's auth_data override, if any), the client's
   * initialize forwarded to each. The caller needs use rights on the virtual server (checked in admit)
   * and on every source: a virtual server never lends its sources' credentials to someone the sources'
   * own collaborators do not name (403, naming no source).
   */
  private async serveVirtual(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    entry: StoredGatewayEntry,
    initialize: InitializeRequest,
  ): Promise<void> {
    const sources = entry.virtual!.sources;
    const entries = await Promise.all(sources.map(async (source) => ({ source, entry: await this.catalog.get(source.fqn) })));
    if (entries.some((e) => e.entry && !this.options.policy.canUse(principal, e.entry.collaborators, e.entry.accountId))) {
      const message = `You may not use MCP server "${entry.name}": it composes servers you are not a collaborator of; ask its managers which, and theirs to add you.`;
      return void this.refuse(res, 403, 'Forbidden', message, entry.name, 'forbidden');
    }
    const missing = entries.find((e) => !e.entry || e.entry.unavailable);
    if (missing) {
      const why = missing.entry?.unavailable ? `it is not served (${missing.entry.unavailable.reason})` : 'it is gone';
      return void this.refuse(res, 503, 'Unavailable', `MCP server "${entry.name}" is not served right now: its source "${missing.source.name}" cannot be reached (${why}).`, entry.name, 'unavailable');
    }
    const opened = await Promise.allSettled(
      entries.map(async ({ source, entry: stored }): Promise<VirtualSourceSession> => {
        const upstreamEntry = source.authOverride
          ? // The virtual server's override replaces the source's auth, per-user credentials included.
            { ...stored!, headers: virtualSourceHeaders(entry, source.name), passthroughAuth: source.authOverride.passthroughAuth, perUser: undefined }
          : stored!;
        const caller = await this.callerEntry(upstreamEntry, principal);
        if ('refusal' in caller) throw new CallerRefused(caller.refusal);
        const callerToken =
          upstreamEntry.passthroughAuth && !upstreamEntry.stdio ? await this.options.callerTokens?.lease(principal.subject.subjectId, upstreamEntry.upstreamUrl) : undefined;
        try {
          const upstream = await connectUpstream({
            entry: caller.entry,
            ...(callerToken ? { callerToken } : {}),
            initialize,
            ...this.connectOptions(upstreamEntry),
          });
          this.health.report(upstreamEntry.fqn, { ok: true });
          return { name: source.name, upstream, requestTimeoutMs: upstreamEntry.timeouts?.requestMs ?? this.options.requestTimeoutMs ?? 0 };
        } catch (error) {
          if (error instanceof UpstreamConnectError && error.unreachable) this.health.report(upstreamEntry.fqn, { ok: false, reason: ConditionReason.Unreachable, message: error.message });
          throw error;
        }
      }),
    );
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.upstream.close() : undefined)));
      if (failed.reason instanceof CallerRefused) return this.refuseCaller(res, entry.name, failed.reason.refusal, initialize.id);
      if (!(failed.reason instanceof UpstreamConnectError)) throw failed.reason;
      this.options.logger.info({ server: entry.name, status: failed.reason.status, err: failed.reason.message }, 'could not open the upstream sessions of a virtual server');
      this.metrics.error(entry.name, 'upstream_connect');
      this.metrics.request(entry.name, 'initialize', 'error');
      return answerJson(res, failed.reason.status, rpcError(-32000, failed.reason.message, initialize.id));
    }
    const session = new VirtualSession({
      serverName: entry.name,
      fqn: entry.fqn,
      principal,
      sources: opened.map((o) => (o as PromiseFulfilledResult<VirtualSourceSession>).value),
      current: () => this.catalog.cached(entry.fqn)?.virtual?.sources,
      ...this.sessionBasics(entry.name),
      onUpstreamFailed: (source, message) => {
        const fqn = sources.find((x) => x.name === source)?.fqn;
        if (fqn) this.health.report(fqn, { ok: false, reason: ConditionReason.Unreachable, message });
      },
      ...(this.options.sessionOwners ? { newSessionId: () => this.options.sessionOwners!.newSessionId() } : {}),
    });
    session.handle(req, res, initialize);
    if (session.id === undefined) await session.close('initialize was not accepted');
  }

  /**
   * What every session of server `serverName` (proxied or virtual) is given alike: the clock, metrics and
   * logger, and its place among the open sessions (and in the metrics) from initialize until it closes.
   */
  private sessionBasics(serverName: string) {
    return {
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      metrics: this.metrics,
      logger: this.options.logger,
      onInitialized: (s: GatewaySession | VirtualSession) => {
        this.sessions.set(s.id!, s);
        this.metrics.sessionOpened(serverName);
      },
      onClosed: (s: GatewaySession | VirtualSession) => {
        if (s.id !== undefined && this.sessions.delete(s.id)) this.metrics.sessionClosed(serverName);
      },
    };
  }

  /** What connecting to an entry's upstream takes besides the entry, its caller token and the initialize request. */
  private connectOptions(entry: GatewayEntry) {
    return {
      timeoutMs: entry.timeouts?.totalMs ?? this.options.connectTimeoutMs ?? 10_000,
      ...(this.options.egress ? { egress: this.options.egress } : {}),
      ...(this.options.upstreamLimits ? { maxMessageBytes: this.options.upstreamLimits.maxMessageBytes } : {}),
      ...(this.options.stdio ? { stdio: this.options.stdio } : {}),
      ...(this.options.upstreamBodyTimeoutMs !== undefined ? { bodyTimeoutMs: this.options.upstreamBodyTimeoutMs } : {}),
      // mcp-server/openapi: its session serves the tools of the entry as it is now.
      latest: () => this.catalog.cached(entry.fqn),
    };
  }

  private endIdleSessions(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of this.sessions.values()) {
      if (!session.isStreaming && session.lastActivity < cutoff) void session.close('idle');
    }
  }

  private refuse(res: ServerResponse, status: number, code: string, message: string, server: string, kind: DataPlaneErrorKind): undefined {
    this.metrics.error(server, kind);
    answerJson(res, status, { error: { code, message } });
    return undefined;
  }
}

/**
 * The server name of a path below the mount point (`/<name>`, a trailing slash allowed, any query
 * ignored); undefined for any other path, a URIError for a malformed %-escape.
 */
function nameOf(url: string): string | URIError | undefined {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const end = path.length > 1 && path.endsWith('/') ? path.length - 1 : path.length;
  const slash = path.indexOf('/', 1);
  if (end <= 1 || (slash !== -1 && slash < end)) return undefined;
  try {
    return decodeURIComponent(path.slice(1, end));
  } catch (error) {
    return error as URIError;
  }
}

/** As express's res.status(status).json(body). */
function answerJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function rpcError(code: number, message: string, id: string | number | null = null) {
  return { jsonrpc: '2.0', error: { code, message }, id };
}

type InitializeRequest = { jsonrpc: '2.0'; id: string | number; method: 'initialize'; params: Record<string, unknown> };

function isInitializeRequest(body: unknown): body is InitializeRequest {
  const b = body as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown } | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    b.jsonrpc === '2.0' &&
    b.method === 'initialize' &&
    (typeof b.id === 'string' || typeof b.id === 'number') &&
    typeof b.params === 'object' &&
    b.params !== null
  );
}
