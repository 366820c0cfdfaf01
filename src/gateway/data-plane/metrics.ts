// What the data plane reports: sessions open, requests by server and method, upstream latency, errors.
// The data plane speaks to this interface only; PromDataPlaneMetrics puts it on a prom-client registry.
// Labels are server names and MCP method names, never tool arguments, headers or tokens.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** How a client request ended. */
export type RequestOutcome = 'ok' | 'error' | 'refused' | 'timeout';

/** Why the gateway failed a client: HTTP refusals, upstream connect failures, dropped sessions. */
export type DataPlaneErrorKind =
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'unavailable'
  | 'unknown_session'
  | 'upstream_connect'
  | 'upstream_timeout'
  | 'upstream_send'
  | 'upstream_closed'
  /** An answer passed on as it arrived failed midway (not the answer, past the cap, broken off): its request failed. */
  | 'upstream_answer';

export interface DataPlaneMetrics {
  sessionOpened(server: string): void;
  sessionClosed(server: string): void;
  /** A client request answered (by the upstream or by the gateway). */
  request(server: string, method: string, outcome: RequestOutcome): void;
  upstreamLatency(server: string, method: string, seconds: number): void;
  error(server: string, kind: DataPlaneErrorKind): void;
}

export const noopDataPlaneMetrics: DataPlaneMetrics = {
  sessionOpened: () => {},
  sessionClosed: () => {},
  request: () => {},
  upstreamLatency: () => {},
  error: () => {},
};

/** Methods outside this list are counted as "other", so clients cannot grow the label set. */
const KNOWN_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
]);

/**
 * Label objects made once per label set and kept, so that recording a request makes none (prom-client is
 * handed the same object each time). Bounded as the series themselves are: by servers × methods × outcomes.
 */
export class LabelCache<S extends string | number, T> {
  private readonly byFirst = new Map<string, Map<S, T>>();

  constructor(private readonly make: (first: string, second: S) => T) {}

  get(first: string, second: S): T {
    let bySecond = this.byFirst.get(first);
    if (!bySecond) this.byFirst.set(first, (bySecond = new Map()));
    let labels = bySecond.get(second);
    if (!labels) bySecond.set(second, (labels = this.make(first, second)));
    return labels;
  }
}

type Outcomes<L> = Record<RequestOutcome, L>;

export class PromDataPlaneMetrics implements DataPlaneMetrics {
  private readonly requestLabels = new LabelCache(
    (server: string, method: string): Outcomes<{ server: string; method: string; outcome: RequestOutcome }> => ({
      ok: { server, method, outcome: 'ok' },
      error: { server, method, outcome: 'error' },
      refused: { server, method, outcome: 'refused' },
      timeout: { server, method, outcome: 'timeout' },
    }),
  );
  private readonly latencyLabels = new LabelCache((server: string, method: string) => ({ server, method }));
  private readonly errorLabels = new LabelCache((server: string, kind: string) => ({ server, kind }));
  private readonly sessions: Gauge<'server'>;
  private readonly requests: Counter<'server' | 'method' | 'outcome'>;
  private readonly latency: Histogram<'server' | 'method'>;
  private readonly errors: Counter<'server' | 'kind'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sessions = new Gauge({ name: 'mcp_gateway_sessions_open', help: 'Client sessions open through the gateway.', labelNames: ['server'], registers });
    this.requests = new Counter({
      name: 'mcp_gateway_requests_total',
      help: 'Client requests through the gateway, by server, MCP method and outcome (ok, error, refused, timeout).',
      labelNames: ['server', 'method', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mcp_gateway_upstream_latency_seconds',
      help: 'Time from forwarding a request upstream to its answer.',
      labelNames: ['server', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.errors = new Counter({
      name: 'mcp_gateway_errors_total',
      help: 'Gateway failures by server and kind (refusals, upstream connect failures and timeouts, dropped sessions).',
      labelNames: ['server', 'kind'],
      registers,
    });
  }

  sessionOpened(server: string): void {
    this.sessions.inc({ server });
  }

  sessionClosed(server: string): void {
    this.sessions.dec({ server });
  }

  request(server: string, method: string, outcome: RequestOutcome): void {
    this.requests.inc(this.requestLabels.get(server, methodLabel(method))[outcome]);
  }

  upstreamLatency(server: string, method: string, seconds: number): void {
    this.latency.observe(this.latencyLabels.get(server, methodLabel(method)), seconds);
  }

  error(server: string, kind: DataPlaneErrorKind): void {
    this.errors.inc(this.errorLabels.get(server, kind));
  }
}

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}
