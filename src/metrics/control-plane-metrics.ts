// The control plane's Prometheus metrics, on a registry of its own per instance (never prom-client's
// global one), so several control planes in one process (tests) do not collide.
//
// Labels are bounded and never carry user data or secrets: results, reasons from fixed enums, HTTP
// method / route template / status code, and the manager of a resource ("api" or a watched directory).
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { DiscoveryResult } from '../discovery/index.js';
import type { ConditionStatus } from '../domain/resource.js';
import type { ReadinessCount } from '../store/index.js';
import { LastSuccessBySource, type SourcesOf } from './last-success.js';

export const METRIC_PREFIX = 'mcp_cp_';

export const READY_STATUSES: readonly ConditionStatus[] = ['True', 'False', 'Unknown'];

/** What a reconcile ended with; the Controller's ReconcileOutcome fits it. */
export interface ReconcileObservation {
  key: string;
  result: 'success' | 'requeue' | 'error' | 'terminal';
  durationMs: number;
  waitedMs: number;
}

/** Live numbers read at scrape time. */
export interface MetricsProbes {
  queue: { len(): number; processingCount(): number; delayedCount(): number };
  discovery: { retriesWaitingOnBudget(): number };
  gatewayEntries(): number | Promise<number>;
  watchClients(): number;
  /** Stored servers that break a rule of each admission policy (its name), as the last audit found. */
  policyViolations(): ReadonlyMap<string, number>;
  /** Servers by managing source and Ready status, as the store keeps them counted (ResourceReader.readinessCounts). */
  readiness(): Promise<readonly ReadinessCount[]>;
  /** The managing source of each of these keys that exists (ResourceReader.sourcesOf). */
  sourcesOf: SourcesOf;
}

const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const HTTP_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

let processRegistry: Registry | undefined;

/** Process metrics (CPU, memory, event loop, GC) belong to the process: collected once, shared. */
function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectProcessMetrics(processRegistry);
  }
  return processRegistry;
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  private readonly clock: Clock;
  private readonly lastSuccess = new LastSuccessBySource();
  private probes: Partial<MetricsProbes> = {};

  private readonly reconciles: Counter<'result'>;
  private readonly reconcileDuration: Histogram<'result'>;
  private readonly queueWait: Histogram;
  private readonly discoveryDuration: Histogram<'result'>;
  private readonly discoveryFailures: Counter<'reason'>;
  private readonly watchOverflows: Counter;
  private readonly httpDuration: Histogram<'method' | 'route' | 'code'>;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    this.reconciles = new Counter({
      name: `${p}reconcile_total`,
      help: 'Reconciles of MCP servers by result: success, requeue (success, run again later), error (retried with backoff), terminal (not retried).',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: `${p}reconcile_duration_seconds`,
      help: 'How long one reconcile took, by result.',
      labelNames: ['result'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.queueWait = new Histogram({
      name: `${p}workqueue_wait_seconds`,
      help: 'How long a key waited in the work queue before a worker took it.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    const probes = () => this.probes;
    new Gauge({
      name: `${p}workqueue_depth`,
      help: 'Keys ready in the work queue, waiting for a worker.',
      registers,
      collect() {
        this.set(probes().queue?.len() ?? 0);
      },
    });
    new Gauge({
      name: `${p}workqueue_in_flight`,
      help: 'Keys being reconciled now.',
      registers,
      collect() {
        this.set(probes().queue?.processingCount() ?? 0);
      },
    });
    new Gauge({
      name: `${p}workqueue_delayed`,
      help: 'Keys waiting out a delay (backoff after a failure, or a requested requeue).',
      registers,
      collect() {
        this.set(probes().queue?.delayedCount() ?? 0);
      },
    });
    new Gauge({
      name: `${p}resources`,
      help: 'MCP servers by the status of their Ready condition (True, False, Unknown).',
      labelNames: ['ready'],
      registers,
      async collect() {
        const counts: Record<ConditionStatus, number> = { True: 0, False: 0, Unknown: 0 };
        for (const c of (await probes().readiness?.()) ?? []) counts[c.ready] += c.count;
        for (const ready of READY_STATUSES) this.set({ ready }, counts[ready]);
      },
    });
    const lastSuccess = this.lastSuccess;
    const clock = this.clock;
    new Gauge({
      name: `${p}last_successful_reconcile_age_seconds`,
      help: 'Seconds since a server managed by this source (api, or a watched directory) was last reconciled successfully. Absent until one was.',
      labelNames: ['source'],
      registers,
      async collect() {
        const { readiness, sourcesOf } = probes();
        const managing = new Set((readiness ? await readiness() : []).map((c) => c.source));
        const newest = sourcesOf ? await lastSuccess.bySource(sourcesOf, managing) : new Map<string, number>();
        this.reset();
        const now = clock.now();
        for (const [source, at] of newest) this.set({ source }, Math.max(0, (now - at) / 1000));
      },
    });
    this.discoveryDuration = new Histogram({
      name: `${p}discovery_duration_seconds`,
      help: 'How long one discovery (connect, list tools) of an upstream MCP server took, by result (success, failure).',
      labelNames: ['result'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.discoveryFailures = new Counter({
      name: `${p}discovery_failures_total`,
      help: 'Failed discoveries by reason (Unreachable, Timeout, TLSError, AuthenticationRequired, ProtocolError, ...).',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: `${p}discovery_retries_waiting_on_budget`,
      help: 'Retries of failed discoveries waiting for their turn of --discovery-retry-rate, past their own backoff (many servers are failing at once).',
      registers,
      collect() {
        this.set(probes().discovery?.retriesWaitingOnBudget() ?? 0);
      },
    });
    new Gauge({
      name: `${p}gateway_store_entries`,
      help: 'Entries in the gateway store: the servers the gateway serves.',
      registers,
      async collect() {
        this.set((await probes().gatewayEntries?.()) ?? 0);
      },
    });
    new Gauge({
      name: `${p}policy_violations`,
      help: 'Stored MCP servers that break a rule of an admission policy, by policy (the audit of existing servers).',
      labelNames: ['policy'],
      registers,
      collect() {
        this.reset();
        for (const [policy, count] of probes().policyViolations?.() ?? []) this.set({ policy }, count);
      },
    });
    new Gauge({
      name: `${p}watch_clients`,
      help: 'Open watch streams (GET /api/svc/v1/mcp-servers?watch=true).',
      registers,
      collect() {
        this.set(probes().watchClients?.() ?? 0);
      },
    });
    this.watchOverflows = new Counter({
      name: `${p}watch_overflows_total`,
      help: 'Watch streams ended because the client read too slowly (it resumes from its last event).',
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request duration by method, route template and status code (watch streams excluded).',
      labelNames: ['method', 'route', 'code'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
  }

  /** The sources of the scrape-time gauges; may be given in parts as the pieces are built. */
  bind(probes: Partial<MetricsProbes>): void {
    this.probes = { ...this.probes, ...probes };
  }

  observeReconcile(outcome: ReconcileObservation): void {
    this.reconciles.inc({ result: outcome.result });
    this.reconcileDuration.observe({ result: outcome.result }, outcome.durationMs / 1000);
    this.queueWait.observe(outcome.waitedMs / 1000);
    if (outcome.result === 'success' || outcome.result === 'requeue') this.lastSuccess.succeeded(outcome.key, this.clock.now());
  }

  observeDiscovery(result: DiscoveryResult, durationMs: number): void {
    this.discoveryDuration.observe({ result: result.ok ? 'success' : 'failure' }, durationMs / 1000);
    if (!result.ok) this.discoveryFailures.inc({ reason: result.reason });
  }

  /** Wraps the MCP discovery function so every discovery is timed and counted. */
  instrumentDiscover<A extends unknown[]>(discover: (...args: A) => Promise<DiscoveryResult>): (...args: A) => Promise<DiscoveryResult> {
    return async (...args: A) => {
      const started = this.clock.now();
      const result = await discover(...args);
      this.observeDiscovery(result, this.clock.now() - started);
      return result;
    };
  }

  watchOverflowed(): void {
    this.watchOverflows.inc();
  }

  observeHttp(method: string, route: string, code: number, seconds: number): void {
    this.httpDuration.observe({ method: HTTP_METHODS.has(method) ? method : 'other', route, code: String(code) }, seconds);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Another registry's metrics (prom-client JSON, e.g. the data-plane thread's), merged into the exposition:
   * same-named series are aggregated as prom-client's AggregatorRegistry does across cluster workers.
   */
  mergeFrom(source: () => Promise<unknown[]>): void {
    this.merged.push(source);
  }

  private readonly merged: (() => Promise<unknown[]>)[] = [];

  /** The Prometheus text exposition: this instance's metrics and the process's (and any merged from elsewhere). */
  async exposition(): Promise<string> {
    const own = Registry.merge([this.registry, sharedProcessRegistry()]);
    if (this.merged.length === 0) return own.metrics();
    const all = await Promise.all([own.getMetricsAsJSON(), ...this.merged.map((source) => source())]);
    return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  }
}
