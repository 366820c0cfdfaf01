// reconcile(key) for one MCP server, level-triggered: re-read the desired resource and the gateway
// entry, ignore what triggered the call, converge the gateway store, take the latest discovery into
// account (starting one when due), and write status once.
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import { APPLIED, DISCOVERED, findCondition, READY, STALLED } from '../domain/conditions.js';
import { ReconcileError, TerminalError } from './reconcile.js';
import type { Logger } from '../domain/logger.js';
import type { McpServerResource, ResourceStatus } from '../domain/resource.js';
import { applyToolSettings, discover as discoverServer, type DiscoveryFailureReason, type DiscoveryResult, type DiscoveryTarget } from '../discovery/index.js';
import { OAuthClientCredentials, OAuthError } from '../upstream/index.js';
import { authConfigured, targetOptionsOf, tlsOf, upstreamHeaders } from '../discovery/upstream-settings.js';
import { literalSecrets, type SecretResolver } from '../domain/secret-reference.js';
import { isOpenApiManifest, isStdioManifest, isVirtualManifest, type OpenApiMcpServerManifest, type RemoteMcpServerManifest, type StdioMcpServerManifest } from '../domain/manifest.js';
import { gatewayEntryHash, type GatewayEntry, type StoredGatewayEntry } from '../gateway/gateway-entry.js';
import type { StdioSupervisor } from '../stdio/stdio-supervisor.js';
import { stdioRefusal } from '../stdio/stdio-policy.js';
import type { CredentialStore, StoredCredential, GatewayReader, GatewayWriter, ResourceReader, StatusWriter, Transactions } from '../store/index.js';
import { WriteConflictError } from '../store/write-conflict.js';
import type { ReconcileResult } from './reconcile.js';
import type { DiscoveryManager, DiscoveryOutcome, DiscoveryRecord } from './discovery-manager.js';
import { buildGatewayEntry, buildStdioGatewayEntry, hashOf, isPerUserAuth, presetTransport, stdioSpecOf } from './resolve-gateway-entry.js';
import { credentialBinding, perUserKind } from '../credentials/binding.js';
import { perUserHeadersOf } from '../credentials/caller-credentials.js';
import { appliedStatus, failedStatus, toolSettingsRefusal, type DiscoveryView } from './server-status.js';
import type { UpstreamHealth } from './upstream-health.js';
import { createVirtualReconciler } from './virtual-reconciler.js';
import { VirtualSourceIndex } from './virtual-sources.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../upstream/response-limits.js';
import { discoverOpenApi, type DiscoverOpenApi } from '../openapi/discover-openapi.js';
import { findOAuthMetadata, type OAuthEndpointSettings, type OAuthMetadataVerdict } from '../credentials/oauth-server-metadata.js';
import { openApiDiscoveredTools, openApiDocumentName, openApiPlan } from './openapi-plan.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import { EventReason } from '../domain/event-reasons.js';
import { withPolicyCompliance, type PolicyCompliance } from './policy-compliance.js';

export interface ServerReconcilerOptions {
  /**
   * Whether a virtual server may still compose a source (its writer may use it). Default: always; the
   * control plane asks the access policy with the writer's current rights.
   */
  mayCompose?: (virtual: McpServerResource, source: McpServerResource) => boolean;
  store: ResourceReader & StatusWriter & Transactions;
  gateway: GatewayReader & GatewayWriter;
  discovery: DiscoveryManager;
  oauth: OAuthClientCredentials;
  /** The budget of one discovery (connect, fallback, every tools/list page). */
  discoveryTimeoutMs: number;
  clock?: Clock;
  logger: Logger;
  secrets?: SecretResolver;
  /** Keys the gateway config hash; must be the gateway store's hashKey (see SqliteGatewayStoreOptions). */
  configHashKey?: Uint8Array;
  /** Injected for tests; defaults to the real MCP client. */
  discover?: typeof discoverServer;
  /** Runs mcp-server/stdio processes; absent: stdio resources are Stalled (StdioNotAllowed). */
  stdio?: StdioSupervisor;
  /** What the data plane saw of each upstream since its latest discovery; absent: discovery alone decides. */
  upstreamHealth?: Pick<UpstreamHealth, 'failure' | 'supersede' | 'forget'>;
  /** Reads an mcp-server/openapi document and makes its tools; default: src/openapi's, with the default egress policy and caps. */
  discoverOpenApi?: DiscoverOpenApi;
  /** Requeues the mcp-server/virtual servers that reference a server after each reconcile of it; absent: they follow at resync. */
  enqueue?: (key: string) => void;
  /** The PolicyCompliant condition of a server (the admission policies' audit); absent: no such condition. */
  policyCompliance?: PolicyCompliance;
  /**
   * The per-user credentials beside the gateway entries: a server's are dropped with its entry, and those
   * made for another binding when its entry changes (a different URL, authorization server, client, scopes).
   */
  credentials?: Pick<CredentialStore, 'dropCredentials' | 'listCredentials'>;
  /**
   * Finds and judges an authorization_code server's OAuth metadata (src/credentials/oauth-server-metadata.ts);
   * default: with discovery's default egress policy and a budget of min(10 s, discoveryTimeoutMs).
   */
  oauthMetadata?: (server: { name: string; url: string }, settings: OAuthEndpointSettings) => Promise<OAuthMetadataVerdict>;
  /**
   * Revokes at their authorization server the OAuth tokens of callers' credentials this reconciler dropped;
   * called once the drop committed, not awaited (never throws). Absent: dropped tokens are only deleted.
   */
  revokeTokens?: (dropped: StoredCredential[]) => Promise<void>;
}

/** How many users' credentials a discovery of a per-user server tries, most recently set first. */
const DISCOVERY_CREDENTIALS = 3;
/** The most callers' OAuth credentials whose tokens are revoked when one server's are dropped (the rest are only deleted). */
const REVOKED_PER_DROP = 1000;

const RECONCILER = 'reconciler';

const OAUTH_FAILURE: Record<OAuthError['kind'], DiscoveryFailureReason> = {
  InvalidConfig: ConditionReason.ProtocolError,
  InvalidClient: ConditionReason.AuthenticationRequired,
  TokenRequestRejected: ConditionReason.AuthenticationRequired,
  InvalidTokenResponse: ConditionReason.ProtocolError,
  Unreachable: ConditionReason.Unreachable,
  TLSError: ConditionReason.TLSError,
  Timeout: ConditionReason.Timeout,
  EgressDenied: ConditionReason.EgressDenied,
  ResponseTooLarge: ConditionReason.ResponseTooLarge,
};

/**
 * Awaits only the store, so the controller can reconcile a batch of keys in one unit of work; what must
 * await something else (stopping a stdio process) is answered as `finish`, run after the batch.
 */
export type ServerReconciler = (key: string) => Promise<ReconcileResult>;

export function createServerReconciler(options: ServerReconcilerOptions): ServerReconciler {
  const { store, gateway, discovery, logger } = options;
  const clock = options.clock ?? systemClock;
  /** The status to write, with the PolicyCompliant condition the audit found. */
  const compliant = (status: ResourceStatus, resource: McpServerResource): ResourceStatus =>
    withPolicyCompliance(status, resource, options.policyCompliance, isoTime(clock.now()));
  const secrets = options.secrets ?? literalSecrets;
  const discover = options.discover ?? discoverServer;

  /**
   * Drops the server's credentials (all, or those of another binding than `keepBinding`); answers how many,
   * and what to run once that committed: the revocation of the dropped OAuth tokens.
   */
  const dropCredentials = async (key: string, keepBinding?: string): Promise<{ dropped: number; revoke?: () => void }> => {
    const store = options.credentials!;
    const revokeTokens = options.revokeTokens;
    const revoking = revokeTokens ? (await store.listCredentials(key, 'oauth', REVOKED_PER_DROP)).filter((c) => keepBinding === undefined || c.binding !== keepBinding) : [];
    const dropped = await store.dropCredentials(key, keepBinding);
    if (!revokeTokens || revoking.length === 0) return { dropped };
    return { dropped, revoke: () => void revokeTokens(revoking).catch(() => undefined) };
  };
  /** A result whose `committed` also runs `then` (once the unit of work committed). */
  const afterCommit = (result: ReconcileResult, then: (() => void) | undefined): ReconcileResult => {
    if (!then) return result;
    const before = result.committed;
    return {
      ...result,
      committed: () => {
        before?.();
        then();
      },
    };
  };
  const oauthMetadata = options.oauthMetadata ?? ((server, settings) => findOAuthMetadata(server, settings, { timeoutMs: Math.min(10_000, options.discoveryTimeoutMs) }));
  const discoverOpenApiDocument: DiscoverOpenApi = options.discoverOpenApi ?? ((input) => discoverOpenApi(input, { maxBytes: DEFAULT_UPSTREAM_LIMITS.maxMessageBytes }));

  const event = (r: { fqn: string; id: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> =>
    store.recordEvent({ fqn: r.fqn, resourceId: r.id, type, reason, message, actor: RECONCILER });

  /**
   * The job the discovery manager runs: an OAuth token when configured, then `run` (the MCP conversation, or
   * reading an OpenAPI document). A job waits in the discovery queue (a whole fleet's during a cold sync),
   * so it keeps only what it uses: the target and the manifest's auth_data, not the manifest.
   */
  const discoverRemote = async (t: DiscoveryTarget): Promise<DiscoveryOutcome> => ({ result: await discover(t) });
  // No default parameter: one with a closure would make a context and a function per job (≈90 B a server).
  const discoveryJob = (
    m: Pick<RemoteMcpServerManifest, 'auth_data'>,
    target: DiscoveryTarget,
    runWith?: (target: DiscoveryTarget) => Promise<DiscoveryOutcome>,
  ): (() => Promise<DiscoveryOutcome>) => {
    const auth = m.auth_data;
    const run = runWith ?? discoverRemote;
    return async () => {
      if (auth?.type === 'oauth2' && auth.grant_type === 'client_credentials') {
        const startedAt = Date.now();
        const credentials = {
          // client_credentials: the schema requires token_url.
          tokenUrl: auth.token_url ?? '',
          clientId: auth.client_id ?? '',
          clientSecret: secrets.resolve(auth.client_secret ?? ''),
          ...(auth.scopes ? { scopes: auth.scopes } : {}),
          jwtSource: auth.jwt_source,
          tls: target.tls,
        };
        let token;
        try {
          token = await options.oauth.getToken(credentials);
        } catch (err) {
          const reason = err instanceof OAuthError ? OAUTH_FAILURE[err.kind] : ConditionReason.ProtocolError;
          const message = `The OAuth token request failed: ${err instanceof Error ? err.message : String(err)}`;
          const result: DiscoveryResult = {
            ok: false,
            reason,
            message,
            authStatus: { status: reason === ConditionReason.AuthenticationRequired ? 'authentication_required' : 'unknown', method: 'oauth', message },
          };
          return { result };
        }
        const headers = { ...target.headers, Authorization: `Bearer ${token.accessToken}` };
        // The token request and the MCP conversation share one budget, so a refresh waits for one timeout.
        const timeoutMs = Math.max(1, target.timeoutMs - (Date.now() - startedAt));
        const outcome = await run({ ...target, headers, timeoutMs });
        // A rejected token may have been revoked before it expired: the next attempt asks for a new one.
        if (!outcome.result.ok && outcome.result.reason === ConditionReason.AuthenticationRequired) options.oauth.invalidate(credentials);
        const bearer = token.expiresAt !== undefined ? { token: token.accessToken, expiresAt: token.expiresAt } : { token: token.accessToken };
        return { ...outcome, bearer };
      }
      return run(target);
    };
  };

  /**
   * A per-user server's discovery: with the stored credentials of its users (their header values filled, or
   * their unexpired OAuth token), the most recently set first, until one lists the tools. None set (or none
   * works): AuthenticationRequired, which the status shows as per-user (Ready), nothing sent without credentials.
   * An authorization_code server's OAuth metadata is found first: without it no caller can connect, so the
   * discovery fails (OAuthMetadataUnavailable) and the server is not Ready.
   */
  const perUserDiscoveryJob =
    (key: string, m: RemoteMcpServerManifest, target: DiscoveryTarget, store: Pick<CredentialStore, 'listCredentials'>) =>
    async (): Promise<DiscoveryOutcome> => {
      const kind = perUserKind(m.auth_data)!;
      const auth = m.auth_data;
      if (auth?.type === 'oauth2') {
        const verdict = await oauthMetadata(
          { name: m.name, url: m.url },
          {
            ...(auth.authorization_url ? { authorizationUrl: auth.authorization_url } : {}),
            ...(auth.token_url ? { tokenUrl: auth.token_url } : {}),
            ...(auth.registration_url ? { registrationUrl: auth.registration_url } : {}),
          },
        );
        if (verdict.kind === 'unusable') {
          const message = `${verdict.message} No user can connect an account until it can.`;
          return { result: { ok: false, reason: ConditionReason.OAuthMetadataUnavailable, message, authStatus: { status: 'authentication_required', method: 'oauth', message } } };
        }
      }
      const binding = credentialBinding(m.url, m.auth_data);
      const stored = (await store.listCredentials(key, kind, DISCOVERY_CREDENTIALS)).filter((c) => c.binding === binding);
      let last: DiscoveryOutcome | undefined;
      for (const credential of stored) {
        const headers = perUserHeadersOf(m, credential, secrets, clock.now());
        if (!headers) continue;
        const outcome = { result: await discover({ ...target, headers: { ...target.headers, ...headers } }) };
        if (outcome.result.ok) return { result: { ...outcome.result, source: `with the credentials of one of its users (${kind === 'oauth' ? 'an OAuth token' : 'per-user header values'})` } };
        last = outcome;
        if (outcome.result.reason !== ConditionReason.AuthenticationRequired) return outcome;
      }
      if (last) return last;
      const message = kind === 'oauth' ? 'No user has connected an account to this server yet; its tools are discovered with the first that does.' : 'No user has set their values for this server yet; its tools are discovered with the first who does.';
      return { result: { ok: false, reason: ConditionReason.AuthenticationRequired, message, authStatus: { status: 'authentication_required', method: kind === 'oauth' ? 'oauth' : 'header', message } } };
    };

  /** A failure the gateway saw after the discovery `record` started (or with no discovery at all). */
  const upstreamFailure = (key: string, record: DiscoveryRecord | undefined) => {
    const health = options.upstreamHealth;
    if (!health) return undefined;
    if (record) health.supersede(key, record.startedAt);
    const failure = health.failure(key);
    return failure ? { upstreamFailure: failure } : {};
  };

  const discoveryView = (resource: McpServerResource, record: DiscoveryRecord | undefined): DiscoveryView => {
    const view = discoveryResultView(resource, record);
    if (view.kind === 'discovered' || view.kind === 'per-user') return { ...view, ...upstreamFailure(resource.fqn, record) };
    if (view.kind === 'failed') return { ...view, nextAttempt: record?.nextAttempt ?? { withinMs: discovery.retryCapMs(view.result.reason) } };
    return view;
  };

  const discoveryResultView = (resource: McpServerResource, record: DiscoveryRecord | undefined): DiscoveryView => {
    // Only servers with a discovery of their own come here (a virtual server takes reconcileVirtual).
    const m = resource.manifest as RemoteMcpServerManifest | StdioMcpServerManifest;
    const auth = isStdioManifest(m) ? undefined : m.auth_data;
    if (auth?.type === 'oauth2' && auth.grant_type === 'authorization_code' && (!options.credentials || !record?.outcome.result.ok)) {
      // With a credential store its discovery finds the OAuth metadata first: not Ready before it did.
      if (options.credentials && !record) return { kind: 'pending', url: (m as RemoteMcpServerManifest).url };
      const failure = record && !record.outcome.result.ok ? record.outcome.result : undefined;
      if (failure && failure.reason !== ConditionReason.AuthenticationRequired) return { kind: 'failed', result: failure };
      const message = `OAuth authorization_code is per user: each user authorizes through the gateway${options.credentials ? '; tools are discovered with the first connected account that works' : ', so the control plane does not list tools for it'}.`;
      return { kind: 'per-user', authStatus: { status: 'authentication_required', method: 'oauth', message }, message };
    }
    if (!record) return { kind: 'pending', url: isStdioManifest(m) ? `the stdio command ${m.command}` : isOpenApiManifest(m) ? openApiDocumentName(m) : m.url };
    const result = record.outcome.result;
    if (result.ok) {
      // mcp-server/openapi: tool_settings were applied when its tools were made from the document.
      const applied = isOpenApiManifest(m) ? openApiDiscoveredTools(result, record.outcome) : applyToolSettings(result.tools, m.tool_settings);
      return { kind: 'discovered', result, tools: applied.tools, unknownSettings: applied.unknownSettings, unknownDisabled: applied.unknownDisabled };
    }
    if (result.reason === ConditionReason.AuthenticationRequired && !isStdioManifest(m) && isPerUserAuth(m)) {
      const message = `The server needs each caller's own credentials (${m.auth_data?.type}); tools are discovered per caller through the gateway.`;
      return { kind: 'per-user', authStatus: { ...result.authStatus, message }, message };
    }
    return { kind: 'failed', result };
  };

  const recordTransitions = async (resource: McpServerResource, before: ResourceStatus, after: ResourceStatus): Promise<void> => {
    const beforeNames = new Set(before.tools.map((t) => t.name));
    const afterNames = new Set(after.tools.map((t) => t.name));
    const added = [...afterNames].filter((n) => !beforeNames.has(n));
    const removed = [...beforeNames].filter((n) => !afterNames.has(n));
    if (added.length || removed.length) {
      const parts = [added.length ? `added ${nameList(added)}` : '', removed.length ? `removed ${nameList(removed)}` : ''].filter(Boolean);
      await event(resource, 'Normal', EventReason.ToolsChanged, `Tools changed: ${parts.join('; ')}.`);
    }
    for (const type of [READY, STALLED, DISCOVERED]) {
      const a = findCondition(before.conditions, type);
      const b = findCondition(after.conditions, type);
      if (!b || (a && a.status === b.status && a.reason === b.reason)) continue;
      if (type === DISCOVERED && b.reason !== ConditionReason.UnknownTool) continue;
      const warning = (type === READY && b.status === 'False') || (type === STALLED && b.status === 'True') || b.reason === ConditionReason.UnknownTool;
      if (type === READY && b.status === 'Unknown') continue;
      await event(resource, warning ? 'Warning' : 'Normal', b.reason, b.message);
    }
  };

  /** What one kind of server needs from a reconcile: the discovery inputs and job, and the gateway entry. */
  interface KindPlan {
    inputsHash: string;
    skipDiscovery: boolean;
    job: () => Promise<DiscoveryOutcome>;
    entry(record: DiscoveryRecord | undefined): GatewayEntry;
  }

  const remotePlan = (key: string, resource: McpServerResource, m: RemoteMcpServerManifest): KindPlan => {
    // The resource may have been a stdio server before (same name, another kind): its process goes. Not
    // awaited (a reconcile awaits only the store); has() is false from the call on.
    if (options.stdio?.has(key)) {
      options.stdio.stop(key).catch((err: unknown) => logger.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'stopping a stdio process failed'));
    }
    const headers = upstreamHeaders(m, secrets);
    const target: DiscoveryTarget = {
      url: m.url,
      headers,
      tls: tlsOf(m),
      timeoutMs: options.discoveryTimeoutMs,
      authConfigured: authConfigured(m),
      // The manifest's transport (only that one), timeouts (replace the budget) and upstream_proxy.
      ...targetOptionsOf(m, secrets),
    };
    const preset = presetTransport(resource.metadata);
    if (preset) target.preferredTransport = preset;
    const perUser = perUserKind(m.auth_data);
    return {
      inputsHash: hashOf({ target, oauth: m.auth_data?.type === 'oauth2' ? m.auth_data : null }),
      // A per-user server is discovered with its users' own credentials; without a credential store, not at all.
      skipDiscovery: perUser !== undefined && !options.credentials,
      job: perUser && options.credentials ? perUserDiscoveryJob(key, m, target, options.credentials) : discoveryJob(m, target),
      entry: (record) => {
        const bearer = record?.outcome.bearer?.token;
        // While a server is failing, the gateway keeps the transport last found at this URL rather than forgetting it.
        const found = record?.outcome.result.ok ? record.outcome.result.transport : undefined;
        const lastFound = resource.status.observedGeneration === resource.generation ? resource.status.detectedTransport : undefined;
        const transport = [found, lastFound, preset].find((t): t is 'streamable-http' | 'sse' => t === 'streamable-http' || t === 'sse');
        return buildGatewayEntry(resource, bearer ? upstreamHeaders(m, secrets, bearer) : headers, transport ?? null, target.proxy, secrets);
      },
    };
  };

  /**
   * mcp-server/stdio: the command must still be allowed (an operator may have removed it since the write);
   * discovery asks the supervised process; the gateway entry carries command, args and the resolved env.
   * A refused command throws StdioRefused (its process is stopped after the batch, see fail).
   */
  /** mcp-server/openapi (src/openapi): discovery reads the document; the entry carries the tools made of it. */
  const openApiKindPlan = (key: string, resource: McpServerResource, m: OpenApiMcpServerManifest, entry: StoredGatewayEntry | undefined): KindPlan => {
    // It may have been a stdio server before (same name, another kind): its process goes, as for remote servers.
    if (options.stdio?.has(key)) {
      options.stdio.stop(key).catch((err: unknown) => logger.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'stopping a stdio process failed'));
    }
    return openApiPlan(resource, m, entry, { secrets, discoveryTimeoutMs: options.discoveryTimeoutMs, discoverOpenApi: discoverOpenApiDocument, job: discoveryJob });
  };

  const stdioPlan = (key: string, resource: McpServerResource, m: StdioMcpServerManifest): KindPlan => {
    const supervisor = options.stdio;
    const refusal = stdioRefusal(supervisor?.policy, m.command);
    if (!supervisor || refusal) throw new StdioRefused(refusal ?? '');
    const spec = stdioSpecOf(m, secrets);
    const budget = {
      timeoutMs: m.timeouts?.total_ms ?? options.discoveryTimeoutMs,
      ...(m.timeouts ? { requestTimeoutMs: m.timeouts.request_ms } : {}),
    };
    return {
      inputsHash: hashOf({ stdio: spec, budget }),
      skipDiscovery: false,
      job: async () => ({ result: await supervisor.discover(key, spec, budget) }),
      entry: () => buildStdioGatewayEntry(resource, spec),
    };
  };

  /** Keys that had a discovery record in this process; see carriedOver. */
  const discoveredSinceStart = new Set<string>();

  /**
   * After a restart the discovery records are gone (they live in memory), but the stored status still
   * describes the last discovery of this generation. Until the first discovery of this process finishes,
   * that status is carried over as it is (not rewritten to Discovering and back), so a restart on
   * unchanged data writes nothing. Only a settled status of the current generation qualifies.
   */
  const carriedOver = (key: string, resource: McpServerResource): boolean => {
    if (discoveredSinceStart.has(key)) return false;
    const { conditions, observedGeneration } = resource.status;
    const g = resource.generation;
    const applied = findCondition(conditions, APPLIED);
    const discovered = findCondition(conditions, DISCOVERED);
    return (
      observedGeneration === g &&
      applied?.status === 'True' &&
      applied.observedGeneration === g &&
      findCondition(conditions, STALLED)?.status !== 'True' &&
      discovered !== undefined &&
      discovered.observedGeneration === g &&
      (discovered.status === 'True' || discovered.status === 'False')
    );
  };

  /** Converges the gateway entry and status of a resource that exists, given its kind's plan. */
  const converge = async (key: string, resource: McpServerResource, entry: StoredGatewayEntry | undefined, plan: KindPlan): Promise<ReconcileResult> => {
    const { inputsHash, skipDiscovery } = plan;
    const { record } = discovery.state(key, inputsHash);
    const desired = plan.entry(record);
    // A server whose discovery failed is not Ready: the data plane answers 503 with this reason, not a hang.
    const view = discoveryView(resource, record);
    if (record) discoveredSinceStart.add(key);
    const carried = view.kind === 'pending' && carriedOver(key, resource);
    const refusal = toolSettingsRefusal(view);
    if (view.kind === 'failed') desired.unavailable = { reason: view.result.reason, message: view.result.message };
    // Fail closed: a disabled: true setting that names no tool the server has must not leave the tool it meant served.
    else if (refusal) desired.unavailable = refusal;
    else if (carried) {
      // As the failed discovery before the restart left it (its reason and message are the Discovered condition's).
      const discovered = findCondition(resource.status.conditions, DISCOVERED)!;
      if (discovered.status === 'False') desired.unavailable = { reason: discovered.reason, message: discovered.message };
      // Fail closed across a restart too: the refusal stands until a discovery says otherwise.
      const ready = findCondition(resource.status.conditions, READY);
      if (ready?.status === 'False' && ready.reason === ConditionReason.UnknownTool) desired.unavailable = { reason: ready.reason, message: ready.message };
    }

    // Every spec change rediscovers (the generation), while the record of unchanged inputs stays shown meanwhile.
    const generation = resource.generation;
    if (!skipDiscovery) discovery.ensure(key, inputsHash, plan.job, generation);
    // The status and the events it leads to commit together in the control-plane store. The gateway entry
    // lives in its own file and is written (idempotently, by hash) inside this callback before them.
    let revokeDropped: (() => void) | undefined;
    await store.transaction(async () => {
      const hash = gatewayEntryHash(desired, options.configHashKey);
      if (!entry || entry.configHash !== hash) {
        await gateway.apply(desired, { hash, current: entry });
        // Credentials made for what the server was no longer hold (none at all once it takes none).
        if (options.credentials && entry?.perUser?.binding !== desired.perUser?.binding) {
          const { dropped, revoke } = await dropCredentials(key, desired.perUser?.binding);
          revokeDropped = revoke;
          if (dropped > 0) await event(resource, 'Normal', EventReason.CredentialsDropped, `Dropped ${dropped} stored per-user credential(s): the server's authentication changed; its users connect again.`);
        }
        // Drift: the stored content no longer matches the hash written with it (edited out of band), or the
        // entry vanished although status says this generation was applied.
        const drifted = entry
          ? entry.writtenHash !== entry.configHash
          : resource.status.observedGeneration === resource.generation &&
            findCondition(resource.status.conditions, APPLIED)?.status === 'True';
        if (drifted) {
          await event(resource, 'Warning', EventReason.DriftRepaired, `The gateway entry differed from generation ${resource.generation}; restored it.`);
        } else if (!entry || entry.generation !== resource.generation) {
          await event(resource, 'Normal', EventReason.Applied, `Applied generation ${resource.generation} to the gateway store.`);
        }
        logger.info({ key, generation: resource.generation, drifted }, 'gateway entry applied');
      }
      // A carried-over status already says this generation is applied; the running discovery re-enqueues the key.
      if (!carried) {
        const status = compliant(appliedStatus(resource, view, isoTime(clock.now())), resource);
        await store.setStatus(key, status, { id: resource.id, generation: resource.generation });
        await recordTransitions(resource, resource.status, status);
      }
    });
    // Once the status committed, a refresh waiting on this key answers it (never the status before it), and
    // the manager starts the next discovery when the record is due (refresh interval, retry backoff or
    // token expiry); it asks for a reconcile when that one finds a change. No requeue is needed here.
    const committed = skipDiscovery ? () => discovery.settle(key) : record ? () => discovery.reported(key, record) : undefined;
    return afterCommit(committed ? { committed } : {}, revokeDropped);
  };

  /**
   * The reconcile failed: status says why (Stalled when terminal), then the error goes to the controller
   * (a refused stdio server's: after its process stopped, once the batch committed).
   */
  const fail = async (key: string, resource: McpServerResource, err: unknown): Promise<ReconcileResult> => {
    const terminal = err instanceof TerminalError;
    const reason = err instanceof TerminalError || err instanceof ReconcileError ? err.reason : ConditionReason.ReconcileFailed;
    const message = err instanceof Error ? err.message : String(err);
    const status = compliant(failedStatus(resource, reason, message, terminal, isoTime(clock.now())), resource);
    await store.setStatus(key, status, { id: resource.id, generation: resource.generation });
    await recordTransitions(resource, resource.status, status);
    logger.warn({ key, err: message, terminal }, 'reconcile failed');
    // Answered, not thrown, so the status saying why commits (a thrown error rolls the key's writes back).
    // Once it committed, a refresh waiting on this key answers it.
    const committed = () => discovery.settle(key);
    const supervisor = options.stdio;
    if (err instanceof StdioRefused && supervisor?.has(key)) {
      return {
        committed,
        finish: async () => {
          await supervisor.stop(key);
          throw err;
        },
      };
    }
    return { failed: err, committed };
  };

  // mcp-server/virtual: composed from other servers' stored state, no discovery of its own.
  const virtualSources = new VirtualSourceIndex();
  const reconcileVirtual = createVirtualReconciler({
    store,
    gateway,
    secrets,
    ...(options.configHashKey ? { configHashKey: options.configHashKey } : {}),
    clock,
    logger,
    index: virtualSources,
    ...(options.mayCompose ? { mayCompose: options.mayCompose } : {}),
    event,
    recordTransitions,
    compliant: (status, resource) => compliant(status, resource),
  });

  const reconcileOne = async (key: string): Promise<ReconcileResult> => {
    const resource = await store.get(key);
    const entry = await gateway.get(key);

    if (!resource) {
      virtualSources.remove(key);
      discoveredSinceStart.delete(key);
      discovery.forget(key);
      options.upstreamHealth?.forget(key);
      const revoke = entry && options.credentials ? (await dropCredentials(key)).revoke : undefined;
      if (entry && (await gateway.delete(key))) {
        await event({ fqn: key, id: entry.resourceId }, 'Normal', EventReason.RemovedFromGateway, 'The resource is gone; removed its gateway entry.');
        logger.info({ key }, 'gateway entry removed');
      }
      // A deleted stdio server's process is killed once its entry's removal committed (so the gateway cannot start it again).
      const supervisor = options.stdio;
      if (supervisor?.has(key)) return afterCommit({ finish: async () => void (await supervisor.stop(key)) }, revoke);
      return afterCommit({}, revoke);
    }

    // The kind decides how discovery runs and what the gateway entry holds.
    const m = resource.manifest;
    if (isVirtualManifest(m)) {
      // It may have been a stdio server before (same name, another kind): its process goes after the batch.
      const supervisor = options.stdio;
      const stopProcess: ReconcileResult = supervisor?.has(key) ? { finish: async () => void (await supervisor.stop(key)) } : {};
      try {
        const result = await reconcileVirtual(key, resource, entry);
        // Nothing to discover: once committed, a refresh waiting on it answers the status just written.
        return { ...result, ...stopProcess, committed: () => discovery.settle(key) };
      } catch (err) {
        // As for other kinds (see converge below): a gateway entry changed under the reconcile is retried.
        if (err instanceof WriteConflictError) throw err;
        return { ...(await fail(key, resource, err)), ...stopProcess };
      }
    }
    virtualSources.remove(key);
    let plan: KindPlan;
    try {
      plan = isStdioManifest(m) ? stdioPlan(key, resource, m) : isOpenApiManifest(m) ? openApiKindPlan(key, resource, m, entry) : remotePlan(key, resource, m);
    } catch (err) {
      return fail(key, resource, err);
    }
    try {
      return await converge(key, resource, entry, plan);
    } catch (err) {
      // The gateway entry changed between this reconcile's read and its write (gateway.apply): nothing it
      // wrote stands (its savepoint), and the retry decides again from what is stored now, a repair of an
      // out-of-band edit recorded as DriftRepaired. A race, not a failure of the server: no status says so.
      if (err instanceof WriteConflictError) throw err;
      return fail(key, resource, err);
    }
  };

  /** After a server's status (or its absence) is written, the virtual servers that reference it follow. */
  const requeueDependents = (key: string) => {
    if (options.enqueue) for (const dependent of virtualSources.dependents(key)) options.enqueue(dependent);
  };

  return async function reconcileServer(key: string): Promise<ReconcileResult> {
    try {
      return await reconcileOne(key);
    } finally {
      requeueDependents(key);
    }
  };
}

/** A stdio server whose command is not allowed (any more): Stalled, and its process stopped. */
class StdioRefused extends TerminalError {
  constructor(refusal: string) {
    super(refusal, ConditionReason.StdioNotAllowed);
  }
}

/** Tool names for an event message: a server with hundreds of tools must not make a huge event. */
function nameList(names: string[], max = 20): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
