// Flags + environment → a typed Config, with defaults for the embedded setup.
// Every bad value is a ConfigError whose message names the flag (mcpctl exits 2 on it).
import { statSync } from 'node:fs';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCidr } from './upstream/egress.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import type { KeyObject } from 'node:crypto';
import { decodeSigningKey, SIGNING_KEY_ENV, SigningKeyError } from './auth/signing-key.js';
import { decodeSecretKey, SECRET_KEY_ENV, SecretKeyError } from './store/secret-codec.js';
import { checkLeaseDurations } from './cluster/leader-election.js';
import { parsePostgresUrl, redactPostgresUrl } from './store/postgres/store-url.js';
import { isLoopbackHost } from './cli/client.js';
import { DURABILITIES, type Durability } from './store/durability.js';

export class ConfigError extends Error {}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  tenant: string;
  /** Base of every proxyUrl; undefined means http://<host>:<bound port>. */
  publicUrl: string | undefined;
  /** From --admin-token or MCP_CP_ADMIN_TOKEN; undefined means <data-dir>/admin-token. */
  adminToken: string | undefined;
  resyncIntervalMs: number;
  logLevel: LogLevel;
  workers: number;
  /** Watched manifest directories as given (--manifests, MANIFESTS_DIR, else ./manifests when it exists). */
  manifestDirs: string[];
  /** Let a sync that would leave a directory with no servers prune them. */
  allowEmptyPrune: boolean;
  /** How long a file must read the same before the servers it no longer declares are pruned. */
  pruneQuietPeriodMs: number;
  /** The least role that may take a file-declared server over through the API (force: true). */
  fileTakeoverRole: 'admin' | 'editor';
  /** Revisions kept per server (its newest generations). */
  revisionHistory: number;
  /** The deadline of one evaluation of the admission policies' rules (one write, or one audited server). */
  policyEvaluationTimeoutMs: number;
  /** How long the revisions of a deleted server are kept (to undo the delete). */
  revisionRetentionMs: number;
  /** Rediscover each healthy server this often. */
  discoveryIntervalMs: number;
  /** The budget of one discovery. */
  discoveryTimeoutMs: number;
  /** Discoveries running at once. */
  discoveryConcurrency: number;
  /** --heap-growth: V8's heap growing factor in percent (0: V8's own); see heap-growth.ts. */
  heapGrowthPercent: number;
  /** First retry delay of a failing discovery; doubles per failure up to discoveryRetryMaxMs. */
  discoveryRetryBaseMs: number;
  discoveryRetryMaxMs: number;
  /** The longest a server that could not be reached (refused, unknown name) waits for its next discovery. */
  discoveryRetryUnreachableMaxMs: number;
  /** The retries of failed discoveries all servers together may make (a burst of count); undefined: no limit. */
  discoveryRetryRate: { count: number; perMs: number } | undefined;
  /** Periodic rediscoveries of all servers together (--discovery-rate); undefined: no limit. */
  discoveryRate: { count: number; perMs: number } | undefined;
  /** Where ${file:PATH} secret references are read from; undefined means <data-dir>/secrets. */
  secretsDir: string | undefined;
  /** YAML list of hashed bearer tokens (--tokens-file), re-read when it changes; undefined: admin token only. */
  tokensFile: string | undefined;
  /** CIDR ranges outbound connections may not reach (added to the link-local defaults). */
  egressDeny: string[];
  /** CIDR ranges carved out of the denied ones (the most specific rule wins). */
  egressAllow: string[];
  /** Writes (PUT, POST, PATCH, DELETE) per token: a bucket of `count` refilled every `perMs`; undefined: unlimited. */
  writeRateLimit: { count: number; perMs: number } | undefined;
  /** From MCP_CP_SECRET_KEY (never a flag: flags show in process lists); undefined means <data-dir>/secret.key. */
  secretKey: Buffer | undefined;
  /** From MCP_CP_SIGNING_KEY (PEM; never a flag): signs the tokens the gateway sends upstream for callers. */
  signingKey: KeyObject | undefined;
  /** --signing-key-file: a PEM file of that key; with neither, <data-dir>/signing-key.pem (generated). */
  signingKeyFile: string | undefined;
  /** Serve /metrics without a bearer token (for a Prometheus on a private network). */
  metricsPublic: boolean;
  /** How often an open watch stream gets a BOOKMARK with the latest resourceVersion. */
  watchBookmarkIntervalMs: number;
  /** Events a watch client may fall behind before its stream is ended (it then resumes). */
  watchBufferEvents: number;
  /** Run mcp-server/stdio commands at all (--allow-stdio); off by default. */
  allowStdio: boolean;
  /** The commands stdio servers may run, exact paths or names (--stdio-allow, repeatable). */
  stdioAllow: string[];
  /** A stdio process nobody used for this long is killed (started again on the next use). */
  stdioIdleTimeoutMs: number;
  /** Byte caps on what is read from upstreams: per message (a JSON answer, an event, a stdio line) and per answer in all. */
  upstreamLimits: { maxMessageBytes: number; maxResponseBytes: number };
  /** --store: the embedded SQLite files under dataDir, or one PostgreSQL database shared by every replica. */
  store: StoreConfig;
  /** --durability: what an acknowledged write to the SQLite resource store survives (see store/durability.ts). */
  durability: Durability;
  /** The leader lease and the renew deadline and retry period derived from it (controller-runtime's ratios). */
  lease: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** How the other replicas reach this one (session forwarding, refresh); undefined: from the listen address. */
  advertiseUrl: string | undefined;
  /** --data-plane: the gateway data plane on a worker thread that owns the listener (thread), or on the control plane's event loop (inline). */
  dataPlane: DataPlaneMode;
  /** --control-plane-nice: with the data plane on its thread, the nice value the control plane's own thread takes (0: unchanged; Linux only). */
  controlPlaneNice: number;
  /** --role: the whole control plane (all), or a replica that serves the gateway alone (gateway; PostgreSQL only). */
  role: ServeRole;
}

export const SERVE_ROLES = ['all', 'gateway'] as const;
export type ServeRole = (typeof SERVE_ROLES)[number];

export const DATA_PLANE_MODES = ['thread', 'inline'] as const;
export type DataPlaneMode = (typeof DATA_PLANE_MODES)[number];

export type StoreConfig = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/**
 * A row of the flag table. String flags take a value (`multiple`: may be repeated); boolean flags
 * take none (their default is off). `env` is the environment variable read when the flag is absent.
 */
export interface ServeFlag {
  flag: string;
  env?: string;
  /**
   * Shown in --help and, for a string flag, the value parsed when neither the flag nor `env` is
   * given; with `describedDefault` it only describes what happens then (no value is parsed).
   */
  default: string;
  describedDefault?: true;
  /** Bounds of a whole-number flag (`count`) or of a duration flag, in ms (`duration`); checked and shown in --help. */
  count?: { min: number; max: number };
  duration?: { min?: number; max?: number };
  help: string;
  type?: 'string' | 'boolean';
  multiple?: boolean;
  /** What the value is called in --help (default DIR for repeatable flags, else VALUE). */
  value?: string;
}

const DEFAULT_MANIFESTS_DIR = './manifests';

/** One row per flag: the single source for parsing, the environment and --help. */
export const SERVE_FLAGS = [
  { flag: 'host', env: 'MCP_CP_HOST', default: '127.0.0.1', help: 'Address to listen on. 0.0.0.0 or :: (every interface) without --public-url: proxy URLs use the first non-loopback interface address (else 127.0.0.1), with a warning.' },
  { flag: 'port', env: 'PORT', default: '8080', count: { min: 0, max: 65535 }, help: 'Port to listen on (0 picks a free one).' },
  { flag: 'data-dir', env: 'DATA_DIR', default: './data', help: 'Where the SQLite files and the admin token live.' },
  { flag: 'tenant', env: 'MCP_CP_TENANT', default: 'default', help: 'Tenant name; FQNs are <tenant>:mcp-server:<name>.' },
  { flag: 'public-url', env: 'MCP_CP_PUBLIC_URL', default: 'http://<host>:<port>', describedDefault: true, help: 'Base of every proxyUrl.' },
  {
    flag: 'admin-token',
    env: 'MCP_CP_ADMIN_TOKEN',
    default: '<data-dir>/admin-token',
    describedDefault: true,
    help: 'Break-glass admin bearer token; when absent it is read from (or generated into, mode 0600) <data-dir>/admin-token.',
  },
  { flag: 'resync-interval', env: 'MCP_CP_RESYNC_INTERVAL', default: '60s', help: 'How often stored states are compared to repair drift: what differs is reconciled at once, every server in full within 30 intervals (e.g. 30s, 5m; 0 turns it off).' },
  { flag: 'log-level', env: 'MCP_CP_LOG_LEVEL', default: 'info', help: `One of ${LOG_LEVELS.join(', ')}.` },
  { flag: 'workers', env: 'MCP_CP_WORKERS', default: '4', count: { min: 1, max: 64 }, help: 'Reconcile workers running at once.' },
  { flag: 'discovery-interval', env: 'MCP_CP_DISCOVERY_INTERVAL', default: '5m', duration: { min: 1 }, help: 'How often each server is asked for its tools again (see --discovery-rate for a large fleet).' },
  {
    flag: 'discovery-rate',
    env: 'MCP_CP_DISCOVERY_RATE',
    default: '50/s',
    help:
      'The rediscoveries all servers together make at most, on average, as N/s, N/m or N/h; "off" for no limit. ' +
      'A fleet larger than the rate allows in one --discovery-interval is rediscovered over the smallest multiple of the interval that fits (at 50/s and 5m: every 5 m up to 15,000 servers, every 20 m at 50,000). ' +
      'First discoveries, changed specs, refreshes, retries and token renewals never wait for it.',
  },
  { flag: 'discovery-timeout', env: 'MCP_CP_DISCOVERY_TIMEOUT', default: '10s', duration: { min: 1 }, help: 'The budget of one discovery (connect, fallback, every tools/list page).' },
  { flag: 'discovery-concurrency', env: 'MCP_CP_DISCOVERY_CONCURRENCY', default: '8', count: { min: 1, max: 256 }, help: 'Discoveries running at once.' },
  {
    flag: 'heap-growth',
    env: 'MCP_CP_HEAP_GROWTH',
    default: '50',
    value: 'PERCENT',
    count: { min: 0, max: 1000 },
    help:
      'How far the JavaScript heap may grow past what stayed live at its last full garbage collection before the next one, in percent ' +
      "(V8's --heap-growing-percent). Lower: less memory, more CPU in the collector while garbage is made fast (a cold sync, a discovery round); " +
      "0: V8's own choice (up to 300 %).",
  },
  { flag: 'discovery-retry-base', env: 'MCP_CP_DISCOVERY_RETRY_BASE', default: '1s', duration: { min: 1 }, help: 'First retry delay of a failing discovery; it doubles with each further failure.' },
  { flag: 'discovery-retry-max', env: 'MCP_CP_DISCOVERY_RETRY_MAX', default: '5m', duration: { min: 1 }, help: 'The longest a failing server waits for its next discovery.' },
  {
    flag: 'discovery-retry-unreachable-max',
    env: 'MCP_CP_DISCOVERY_RETRY_UNREACHABLE_MAX',
    default: '5s',
    duration: { min: 1 },
    help: 'The longest a server that could not be reached (connection refused, unknown name: Unreachable) waits for its next discovery, so a server started after the control plane is found within seconds.',
  },
  {
    flag: 'discovery-retry-rate',
    env: 'MCP_CP_DISCOVERY_RETRY_RATE',
    default: '10/s',
    help:
      'The retries of failed discoveries all servers together may make, as N/s, N/m or N/h (a burst of N); "off" for no limit. ' +
      'Each retry waits for the later of its own backoff and its turn, so while few servers fail each keeps its schedule, and when many fail at once their retries are spread at this rate. ' +
      'First discoveries, changed specs and refreshes never wait for it.',
  },
  { flag: 'secrets-dir', env: 'MCP_CP_SECRETS_DIR', default: '<data-dir>/secrets', describedDefault: true, help: 'Where ${file:PATH} secret references are read from (never outside it).' },
  {
    flag: 'tokens-file',
    env: 'MCP_CP_TOKENS_FILE',
    default: 'none (the admin token only)',
    describedDefault: true,
    value: 'FILE',
    help: 'YAML list of bearer tokens by sha256 (token_sha256, subject, teams, role, accounts); re-read when it changes. Make entries with "mcpctl token create".',
  },
  {
    flag: 'egress-deny',
    env: 'MCP_CP_EGRESS_DENY',
    default: '169.254.0.0/16 and fe80::/10 (always denied unless allowed)',
    describedDefault: true,
    multiple: true,
    value: 'CIDR',
    help: 'A range outbound connections (discovery, OAuth, the gateway) may not reach, checked on the resolved address and every redirect. The environment variable may hold several, comma-separated.',
  },
  {
    flag: 'egress-allow',
    env: 'MCP_CP_EGRESS_ALLOW',
    default: 'none',
    describedDefault: true,
    multiple: true,
    value: 'CIDR',
    help: 'A range carved out of the denied ones; the most specific matching range decides (deny wins a tie). Comma-separated in the environment variable.',
  },
  {
    flag: 'signing-key-file',
    env: 'MCP_CP_SIGNING_KEY_FILE',
    default: '<data-dir>/signing-key.pem (generated, mode 0600)',
    describedDefault: true,
    value: 'FILE',
    help:
      `The EC P-256 private key (PEM) that signs the tokens passthrough upstreams get for each caller (public half at /.well-known/jwks.json). ` +
      `Replicas behind one URL need the same key: give it to each (this flag, or ${SIGNING_KEY_ENV} with the PEM itself).`,
  },
  {
    flag: 'write-rate-limit',
    env: 'MCP_CP_WRITE_RATE_LIMIT',
    default: '20/s',
    help: 'Writes (PUT, POST, PATCH, DELETE) each token may make, as N/s, N/m or N/h (a burst of N); "off" for none. Over it: 429 with Retry-After. With --store postgres://… one budget per token across the replicas.',
  },
  {
    flag: 'manifests',
    env: 'MANIFESTS_DIR',
    default: `${DEFAULT_MANIFESTS_DIR} when it exists`,
    describedDefault: true,
    multiple: true,
    help:
      'A directory of manifests (*.yaml, *.yml, *.json, recursive) to apply and watch; repeat the flag for several. ' +
      `The environment variable may hold several, separated by "${delimiter}".`,
  },
  { flag: 'no-manifests', type: 'boolean', default: 'off', help: 'Watch no manifest directory, not even ./manifests.' },
  {
    flag: 'allow-empty-prune',
    type: 'boolean',
    env: 'MCP_CP_ALLOW_EMPTY_PRUNE',
    default: 'off',
    help: 'Let a sync that leaves a directory with no servers (empty or missing) delete the servers it declared; otherwise they are kept.',
  },
  {
    flag: 'prune-quiet-period',
    env: 'MCP_CP_PRUNE_QUIET_PERIOD',
    default: '5s',
    duration: { max: 3_600_000 },
    help:
      'A file that no longer declares some of its servers (removed, emptied, half-written) is held, its servers kept, until it has ' +
      'read the same for this long; a read after that prunes them. A re-declaration meanwhile is an update. 0 prunes at once.',
  },
  {
    flag: 'revision-history',
    env: 'MCP_CP_REVISION_HISTORY',
    default: '20',
    count: { min: 1, max: 1000 },
    value: 'N',
    help: 'Revisions kept per server: its newest N generations (GET .../revisions, mcpctl history, mcpctl rollback).',
  },
  {
    flag: 'policy-evaluation-timeout',
    env: 'MCP_CP_POLICY_EVALUATION_TIMEOUT',
    default: '1s',
    duration: { min: 10, max: 30_000 },
    help: 'How long the rules of the admission policies may take for one write (evaluated off the event loop); past it every rule not yet answered counts as broken.',
  },
  {
    flag: 'revision-retention',
    env: 'MCP_CP_REVISION_RETENTION',
    default: '7d',
    help: 'How long the revisions of a deleted server are kept, so that mcpctl rollback NAME --to-revision N can recreate it.',
  },
  {
    flag: 'file-takeover-role',
    env: 'MCP_CP_FILE_TAKEOVER_ROLE',
    default: 'admin',
    value: 'ROLE',
    help: 'Who may take a server declared in a watched directory over through the API (force: true, or DELETE ?force=true): admin, or editor (a manager of the server).',
  },
  {
    flag: 'metrics-public',
    type: 'boolean',
    env: 'MCP_CP_METRICS_PUBLIC',
    default: 'off (an admin bearer token is needed)',
    help: 'Serve /metrics without a bearer token, for a Prometheus that scrapes without credentials; keep the port on a private network then.',
  },
  { flag: 'watch-bookmark-interval', env: 'MCP_CP_WATCH_BOOKMARK_INTERVAL', default: '30s', duration: { min: 1 }, help: 'How often an idle watch stream gets a BOOKMARK with the latest resourceVersion.' },
  {
    flag: 'watch-buffer',
    env: 'MCP_CP_WATCH_BUFFER',
    default: '1000',
    count: { min: 1, max: 1_000_000 },
    value: 'EVENTS',
    help: 'Events a watch client may fall behind before its stream is ended with an error telling it to resume.',
  },
  {
    flag: 'allow-stdio',
    type: 'boolean',
    env: 'MCP_CP_ALLOW_STDIO',
    default: 'off',
    help: 'Run mcp-server/stdio servers (a command the control plane starts). Only commands on --stdio-allow run; without this flag none does (403).',
  },
  {
    flag: 'stdio-allow',
    env: 'MCP_CP_STDIO_ALLOW',
    default: 'none',
    describedDefault: true,
    multiple: true,
    value: 'COMMAND',
    help:
      'A command stdio servers may run, matched exactly as the manifest writes it: a path, or a name looked up on PATH. Its args and env are the manifest\'s, ' +
      `so list wrappers, not interpreters. Repeatable; the environment variable takes a "${delimiter}"-separated list.`,
  },
  { flag: 'stdio-idle-timeout', env: 'MCP_CP_STDIO_IDLE_TIMEOUT', default: '5m', help: 'Kill a stdio server process nobody used for this long; the next use starts it again.' },
  {
    flag: 'upstream-max-message-bytes',
    env: 'MCP_CP_UPSTREAM_MAX_MESSAGE_BYTES',
    default: '4MiB',
    value: 'SIZE',
    help:
      'The largest message read from an upstream (a JSON answer, one event of a stream, a stdio line), in discovery and the gateway; ' +
      'past it discovery fails with ResponseTooLarge and the gateway fails that one request. Bytes, or with KiB/MiB/GiB.',
  },
  {
    flag: 'upstream-max-response-bytes',
    env: 'MCP_CP_UPSTREAM_MAX_RESPONSE_BYTES',
    default: '16MiB',
    value: 'SIZE',
    help: 'The most bytes one answer may carry in all where it is read to its end: an event stream during discovery, an OAuth token answer.',
  },
  {
    flag: 'store',
    env: 'MCP_CP_STORE',
    default: 'sqlite: (the files under --data-dir)',
    describedDefault: true,
    value: 'URL',
    help:
      'Where state lives: sqlite: for the embedded files, or postgres://user:password@host:port/database for one PostgreSQL ' +
      `database shared by several replicas (then ${SECRET_KEY_ENV}, MCP_CP_ADMIN_TOKEN and ${SIGNING_KEY_ENV} or --signing-key-file are required, the same on every replica). ` +
      'Prefer the environment variable: a flag shows the password in process lists.',
  },
  {
    flag: 'durability',
    env: 'MCP_CP_DURABILITY',
    default: 'full',
    value: 'MODE',
    help:
      'What an acknowledged write survives (SQLite store). full: each commit is fsynced before it is acknowledged, so it survives power loss ' +
      '(concurrent writes share one commit). normal: it survives a crash of the process, but the last writes may be lost to an OS crash or ' +
      'power loss. PostgreSQL: the server\'s synchronous_commit decides; only full is accepted.',
  },
  {
    flag: 'lease-duration',
    env: 'MCP_CP_LEASE_DURATION',
    default: '15s',
    help: 'PostgreSQL mode: how long the leader lease lasts after its last renewal. The leader steps down when it has not renewed for 2/3 of it, and renews (candidates try) every 2/15 of it, as controller-runtime does (15s: 10s and 2s).',
  },
  {
    flag: 'advertise-url',
    env: 'MCP_CP_ADVERTISE_URL',
    default: 'http://<host>:<port> (the listen address)',
    describedDefault: true,
    help: 'How the other replicas reach this one (MCP sessions it owns, refreshes it runs as leader): an origin, no path. Required with a postgres:// store when --host is loopback or a wildcard; give it whenever the listen address is not reachable from them.',
  },
  {
    flag: 'data-plane',
    env: 'MCP_CP_DATA_PLANE',
    default: 'thread',
    value: 'MODE',
    help:
      'Where the gateway (/mcp) runs. thread: on a worker thread of its own that owns the listener and passes every other request to the ' +
      'control plane, so no control-plane work (a large list, a resync, a directory sync) delays a gateway call. inline: on the control plane\'s event loop (embedders, tests).',
  },
  {
    flag: 'control-plane-nice',
    env: 'MCP_CP_CONTROL_PLANE_NICE',
    default: '10',
    count: { min: 0, max: 19 },
    help:
      'With --data-plane thread on Linux: the scheduling priority (nice) the control plane\'s own thread (and the threads it starts later) takes, so that on a busy ' +
      'machine the gateway\'s thread gets the CPU first and control-plane work waits instead. 0 leaves it unchanged.',
  },
  {
    flag: 'role',
    env: 'MCP_CP_ROLE',
    default: 'all',
    value: 'ROLE',
    help:
      'all: the control plane and its gateway. gateway: a replica that serves only the gateway (/mcp, /healthz, /readyz, /metrics) from a postgres:// store ' +
      'the control plane\'s replicas write (it migrates and reconciles nothing; other paths answer 404 naming the control plane).',
  },
] as const satisfies readonly ServeFlag[];

type BooleanFlag = Extract<(typeof SERVE_FLAGS)[number], { type: 'boolean' }>['flag'];
type StringFlag = Exclude<(typeof SERVE_FLAGS)[number], { type: 'boolean' }>['flag'];
/** String flags whose table default is a value to parse. */
type ValuedFlag = Exclude<StringFlag, Extract<(typeof SERVE_FLAGS)[number], { describedDefault: true }>['flag']>;

function rowOf(flag: string): ServeFlag {
  return (SERVE_FLAGS as readonly ServeFlag[]).find((f) => f.flag === flag)!;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A number with a unit (500ms, 30s, 5m, 1h); a bare number is refused (is 30 seconds or minutes?), except 0. */
export function parseDuration(value: string, flag: string): number {
  const m = DURATION.exec(value.trim());
  if (!m) throw new ConfigError(`--${flag}: "${value}" is not a duration; use e.g. 500ms, 30s, 5m, 1h or 7d.`);
  // A number alone is ambiguous (seconds? milliseconds?); only 0 means the same in every unit.
  if (m[2] === undefined && Number(m[1]) !== 0) {
    throw new ConfigError(`--${flag}: "${value}" needs a unit; write e.g. ${m[1]}s (units: ms, s, m, h).`);
  }
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** An origin only: the paths other replicas are sent to (/mcp/…, /internal/…) are absolute on it. */
function parseAdvertiseUrl(value: string): string {
  const url = parseUrl(value, 'advertise-url');
  const u = new URL(url);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new ConfigError(`--advertise-url: "${value}" must be an origin (scheme, host and port), with no path, query or credentials; the replicas are reached at /mcp/… and /internal/… on it.`);
  }
  return u.origin;
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

function parseUrl(value: string, flag: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    return value.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`--${flag}: "${value}" is not an absolute http(s) URL.`);
  }
}

/** A flag's bounds as --help shows them (and its errors say them). */
function bounds(f: ServeFlag): string {
  if (f.count) return `; from ${f.count.min} to ${f.count.max}`;
  const parts = [f.duration?.min === 1 ? 'longer than 0' : '', f.duration?.max !== undefined ? `at most ${formatDuration(f.duration.max)}` : ''];
  return parts.filter((p) => p !== '').map((p) => `; ${p}`).join('');
}

/** ms as the largest whole unit parseDuration reads back (3600000 → 1h). */
function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) if (ms % UNIT_MS[unit]! === 0 && ms >= UNIT_MS[unit]!) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

export function serveHelp(): string {
  const flags = SERVE_FLAGS as readonly ServeFlag[];
  const nameOf = (f: ServeFlag) => (f.type === 'boolean' ? `--${f.flag}` : `--${f.flag} ${f.value ?? (f.multiple ? 'DIR' : 'VALUE')}`);
  const width = Math.max(...flags.map((f) => nameOf(f).length));
  const rows = flags.map((f) => {
    const where = `default ${f.default}${bounds(f)}${f.env ? `; env ${f.env}` : ''}${f.multiple ? '; repeatable' : ''}`;
    return `  ${nameOf(f).padEnd(width)}  ${f.help}\n  ${' '.repeat(width)}  ${where}`;
  });
  const environment =
    `\nEnvironment:\n  ${SECRET_KEY_ENV}  The 32-byte key (base64 or 64 hex digits) that encrypts secrets at rest (AES-256-GCM);\n` +
    `  ${' '.repeat(SECRET_KEY_ENV.length)}  without it, <data-dir>/secret.key is read (or generated, mode 0600). Keep it with your backups.\n` +
    `  ${SIGNING_KEY_ENV}  The token-signing key itself (PEM, EC P-256); wins over --signing-key-file.\n`;
  return `Usage: mcpctl serve [flags]\n\nStarts the control plane.\n\nFlags:\n${rows.join('\n')}\n  ${'--help'.padEnd(width)}  Show this help.\n${environment}`;
}

export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        (SERVE_FLAGS as readonly ServeFlag[]).map((f) => [f.flag, { type: f.type ?? ('string' as const), multiple: f.multiple === true }]),
      ),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}. Run "mcpctl serve --help" for the flags.`);
  }
  const envOf = (flag: string): string | undefined => {
    const row = rowOf(flag);
    const fromEnv = row.env === undefined ? undefined : env[row.env];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
  };
  const get = (flag: StringFlag): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') {
      if (v.trim() === '') throw new ConfigError(`--${flag}: needs a value.`);
      return v;
    }
    return envOf(flag);
  };
  const getBoolean = (flag: BooleanFlag): boolean => {
    if (values[flag] === true) return true;
    const fromEnv = envOf(flag);
    if (fromEnv === undefined) return false;
    if (/^(true|1|yes|on)$/i.test(fromEnv)) return true;
    if (/^(false|0|no|off)$/i.test(fromEnv)) return false;
    throw new ConfigError(`--${flag}: ${rowOf(flag).env}="${fromEnv}" is not a boolean; use true or false.`);
  };

  /** The flag, else its env, else the table's default. */
  const value = (flag: ValuedFlag): string => get(flag) ?? rowOf(flag).default;
  /** A whole-number flag within its table bounds. */
  const count = (flag: ValuedFlag): number => {
    const raw = value(flag);
    const { min, max } = rowOf(flag).count!;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new ConfigError(`--${flag}: "${raw}" must be a whole number from ${min} to ${max}.`);
    return n;
  };
  /** A duration flag within its table bounds. */
  const duration = (flag: ValuedFlag): number => {
    const ms = parseDuration(value(flag), flag);
    const { min, max } = rowOf(flag).duration ?? {};
    if (min !== undefined && ms < min) throw new ConfigError(`--${flag}: must be ${min === 1 ? 'longer than 0' : `at least ${formatDuration(min)}`}.`);
    if (max !== undefined && ms > max) throw new ConfigError(`--${flag}: must be at most ${formatDuration(max)}${min === undefined ? ' (0 means at once)' : ''}.`);
    return ms;
  };

  const host = value('host');
  const port = count('port');
  const tenant = value('tenant');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(tenant)) {
    throw new ConfigError(`--tenant: "${tenant}" must be a lowercase DNS label (a-z, 0-9, '-').`);
  }
  const logLevel = value('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`);
  }
  const workers = count('workers');
  const discoveryConcurrency = count('discovery-concurrency');
  const discoveryRetryBaseMs = duration('discovery-retry-base');
  const discoveryRetryMaxMs = duration('discovery-retry-max');
  if (discoveryRetryMaxMs < discoveryRetryBaseMs) {
    throw new ConfigError(`--discovery-retry-max: must be at least --discovery-retry-base (${discoveryRetryBaseMs} ms).`);
  }
  const discoveryRetryUnreachableMaxMs = duration('discovery-retry-unreachable-max');
  const watchBookmarkIntervalMs = duration('watch-bookmark-interval');
  const watchBufferEvents = count('watch-buffer');
  const pruneQuietPeriodMs = duration('prune-quiet-period');
  const revisionHistory = count('revision-history');
  const revisionRetentionMs = duration('revision-retention');
  const publicUrlRaw = get('public-url');
  const advertiseUrlRaw = get('advertise-url');
  const store = parseStore(get('store') ?? 'sqlite:');
  const durability = parseDurability(value('durability'), store);
  const adminToken = get('admin-token');
  const secretKey = secretKeyFromEnv(env);
  const signingKey = signingKeyFromEnv(env);
  const signingKeyFile = get('signing-key-file');
  if (store.kind === 'postgres') requireSharedKeys({ secretKey, adminToken, signingKey, signingKeyFile });
  if (store.kind === 'postgres' && advertiseUrlRaw === undefined && (isLoopbackHost(host) || isWildcardHost(host))) {
    throw new ConfigError(
      `--advertise-url: with a postgres:// store the other replicas reach this one at its advertised URL, and the listen address (--host ${host}) is ${isWildcardHost(host) ? 'every interface, not one address they reach' : 'loopback, unreachable from another machine'}. ` +
        'Set --advertise-url (or MCP_CP_ADVERTISE_URL) to the URL the other replicas reach this one at, e.g. http://10.0.0.7:8080 (on one machine: http://127.0.0.1:<port>).',
    );
  }
  return {
    store,
    durability,
    lease: parseLease(value('lease-duration')),
    advertiseUrl: advertiseUrlRaw !== undefined ? parseAdvertiseUrl(advertiseUrlRaw) : undefined,
    dataPlane: parseDataPlaneMode(value('data-plane')),
    role: parseRole(value('role'), store),
    controlPlaneNice: count('control-plane-nice'),
    revisionHistory,
    revisionRetentionMs,
    ...manifestConfig(values, env, getBoolean('no-manifests')),
    allowEmptyPrune: getBoolean('allow-empty-prune'),
    pruneQuietPeriodMs,
    fileTakeoverRole: parseTakeoverRole(value('file-takeover-role')),
    host,
    port,
    dataDir: value('data-dir'),
    tenant,
    publicUrl: publicUrlRaw !== undefined ? parseUrl(publicUrlRaw, 'public-url') : undefined,
    adminToken,
    resyncIntervalMs: duration('resync-interval'),
    logLevel: logLevel as LogLevel,
    workers,
    discoveryIntervalMs: duration('discovery-interval'),
    discoveryTimeoutMs: duration('discovery-timeout'),
    policyEvaluationTimeoutMs: duration('policy-evaluation-timeout'),
    discoveryConcurrency,
    heapGrowthPercent: count('heap-growth'),
    discoveryRetryBaseMs,
    discoveryRetryMaxMs,
    discoveryRetryUnreachableMaxMs,
    discoveryRetryRate: parseRate(value('discovery-retry-rate'), 'discovery-retry-rate'),
    discoveryRate: parseRate(value('discovery-rate'), 'discovery-rate'),
    secretsDir: get('secrets-dir'),
    tokensFile: get('tokens-file'),
    egressDeny: cidrList(values, env, 'egress-deny'),
    egressAllow: cidrList(values, env, 'egress-allow'),
    writeRateLimit: parseRate(value('write-rate-limit')),
    secretKey,
    signingKey,
    signingKeyFile,
    metricsPublic: getBoolean('metrics-public'),
    watchBookmarkIntervalMs,
    watchBufferEvents,
    ...stdioConfig(values, env, getBoolean('allow-stdio'), duration('stdio-idle-timeout')),
    upstreamLimits: {
      maxMessageBytes: parseSize(value('upstream-max-message-bytes'), 'upstream-max-message-bytes'),
      maxResponseBytes: parseSize(value('upstream-max-response-bytes'), 'upstream-max-response-bytes'),
    },
  };
}

/** --role: all, or gateway (a postgres:// store only: the gateway replica reads what the control plane's replicas write there). */
function parseRole(raw: string, store: StoreConfig): ServeRole {
  const v = raw.trim().toLowerCase();
  if (!(SERVE_ROLES as readonly string[]).includes(v)) throw new ConfigError(`--role: "${raw}" is not a role; use all (the control plane and its gateway) or gateway (the gateway alone).`);
  if (v === 'gateway' && store.kind !== 'postgres') {
    throw new ConfigError('--role gateway: a gateway-only replica reads the gateway entries the control plane\'s replicas write to a shared database; give it the same --store postgres://… (or MCP_CP_STORE) they use.');
  }
  return v as ServeRole;
}

/** --data-plane: thread or inline. */
function parseDataPlaneMode(raw: string): DataPlaneMode {
  const v = raw.trim().toLowerCase();
  if (!(DATA_PLANE_MODES as readonly string[]).includes(v)) {
    throw new ConfigError(`--data-plane: "${raw}" is not a mode; use thread (the gateway on a worker thread of its own) or inline (on the control plane's event loop).`);
  }
  return v as DataPlaneMode;
}

/** --durability: full or normal; normal only for SQLite (PostgreSQL's own synchronous_commit decides there). */
function parseDurability(raw: string, store: StoreConfig): Durability {
  const v = raw.trim().toLowerCase();
  if (!(DURABILITIES as readonly string[]).includes(v)) {
    throw new ConfigError(`--durability: "${raw}" is not a durability; use full (a write survives power loss) or normal (a crash of the process).`);
  }
  if (v === 'normal' && store.kind === 'postgres') {
    throw new ConfigError(
      '--durability: normal applies to the SQLite store only; with PostgreSQL an acknowledged write is committed with the server\'s synchronous_commit (set it there).',
    );
  }
  return v as Durability;
}

const STORE_URL_FORMS = 'use sqlite: (the files under --data-dir) or postgres://user:password@host:port/database';

/** --store: sqlite: or a PostgreSQL URL; a message never shows the URL's password. */
export function parseStore(value: string): StoreConfig {
  const v = value.trim();
  if (v === 'sqlite:' || v === 'sqlite') return { kind: 'sqlite' };
  if (/^postgres(ql)?:/i.test(v)) {
    try {
      parsePostgresUrl(v);
    } catch (err) {
      throw new ConfigError(`--store: ${(err as Error).message}`);
    }
    return { kind: 'postgres', url: v };
  }
  const shown = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactPostgresUrl(v) : v.includes('@') ? '(a value with credentials)' : v;
  throw new ConfigError(`--store: "${shown}" is not a store URL; ${STORE_URL_FORMS}.`);
}

/** The shortest and longest --lease-duration: shorter than a second cannot survive a busy database; longer than 10 minutes is a failover nobody waits for. */
const LEASE_MIN_MS = 1_000;
const LEASE_MAX_MS = 600_000;

/** --lease-duration, and the renew deadline (2/3) and retry period (2/15) derived as controller-runtime's defaults are (15 s, 10 s, 2 s). */
export function parseLease(value: string): Config['lease'] {
  const durationMs = parseDuration(value, 'lease-duration');
  if (durationMs < LEASE_MIN_MS || durationMs > LEASE_MAX_MS) {
    throw new ConfigError(`--lease-duration: "${value}" must be from 1s to 10m.`);
  }
  const renewDeadlineMs = Math.round((durationMs * 2) / 3);
  const retryPeriodMs = Math.round((durationMs * 2) / 15);
  try {
    checkLeaseDurations(durationMs, renewDeadlineMs, retryPeriodMs);
  } catch (err) {
    throw new ConfigError(`--lease-duration: ${(err as Error).message}`);
  }
  return { durationMs, renewDeadlineMs, retryPeriodMs };
}

/**
 * PostgreSQL mode: every replica must hold the same keys and admin token, so none may be generated into a
 * data directory of its own. The message names the variable that is missing.
 */
function requireSharedKeys(given: { secretKey: Buffer | undefined; adminToken: string | undefined; signingKey: KeyObject | undefined; signingKeyFile: string | undefined }): void {
  const why = 'every replica on one PostgreSQL store needs the same value, so none is generated per replica';
  if (!given.secretKey) {
    throw new ConfigError(`--store: PostgreSQL mode needs ${SECRET_KEY_ENV} (the 32-byte key that seals stored secrets; ${why}). Generate one with: openssl rand -base64 32`);
  }
  if (given.adminToken === undefined) {
    throw new ConfigError(`--store: PostgreSQL mode needs MCP_CP_ADMIN_TOKEN (or --admin-token): the break-glass admin token; ${why}.`);
  }
  if (!given.signingKey && given.signingKeyFile === undefined) {
    throw new ConfigError(`--store: PostgreSQL mode needs ${SIGNING_KEY_ENV} (or --signing-key-file): the key that signs caller tokens, published at /.well-known/jwks.json; ${why}.`);
  }
}

const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i;
const SIZE_UNIT: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "65536", "64KiB", "4MiB", "1GiB": a whole number of bytes from 1 KiB to 4 GiB. */
export function parseSize(value: string, flag: string): number {
  const m = SIZE.exec(value.trim());
  const bytes = m ? Number(m[1]) * SIZE_UNIT[(m[2] ?? 'b').toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 || bytes > 4 * 1024 ** 3) {
    throw new ConfigError(`--${flag}: "${value}" is not a size from 1KiB to 4GiB; use e.g. 65536, 512KiB or 4MiB.`);
  }
  return bytes;
}

/** --stdio-allow (repeatable) wins over MCP_CP_STDIO_ALLOW; a list without --allow-stdio is a mistake worth naming. */
function stdioConfig(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  env: NodeJS.ProcessEnv,
  allowStdio: boolean,
  stdioIdleTimeoutMs: number,
): Pick<Config, 'allowStdio' | 'stdioAllow' | 'stdioIdleTimeoutMs'> {
  const given = (Array.isArray(values['stdio-allow']) ? values['stdio-allow'] : []).filter((v): v is string => typeof v === 'string');
  if (given.some((v) => v.trim() === '')) throw new ConfigError('--stdio-allow: needs a command (a path or a name).');
  const fromEnv = (env[rowOf('stdio-allow').env!] ?? '').split(delimiter).filter((v) => v.trim() !== '');
  const stdioAllow = [...new Set((given.length > 0 ? given : fromEnv).map((v) => v.trim()))];
  if (stdioAllow.length > 0 && !allowStdio) {
    throw new ConfigError('--stdio-allow: stdio servers are off; add --allow-stdio to run the listed commands.');
  }
  return { allowStdio, stdioAllow, stdioIdleTimeoutMs };
}

/** Repeated flags win over the comma-separated environment variable; every entry must be a CIDR range. */
function cidrList(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  env: NodeJS.ProcessEnv,
  flag: 'egress-deny' | 'egress-allow',
): string[] {
  const envName = rowOf(flag).env!;
  const given = (Array.isArray(values[flag]) ? (values[flag] as unknown[]) : []).filter((v): v is string => typeof v === 'string');
  const list = given.length > 0 ? given : (env[envName] ?? '').split(',').filter((v) => v.trim() !== '');
  for (const item of list) {
    try {
      parseCidr(item);
    } catch (err) {
      throw new ConfigError(`--${flag}: ${(err as Error).message}`);
    }
  }
  return list.map((v) => v.trim());
}

const RATE = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/;

export function parseRate(value: string, flag = 'write-rate-limit'): { count: number; perMs: number } | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '0') return undefined;
  const m = RATE.exec(v);
  const count = Number(m?.[1]);
  if (!m || !Number.isInteger(count) || count < 1 || count > 1_000_000) {
    throw new ConfigError(`--${flag}: "${value}" is not a rate; use e.g. 20/s, 300/m or 1000/h (or off).`);
  }
  const unit = m[2]!.charAt(0);
  return { count, perMs: unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000 };
}

function secretKeyFromEnv(env: NodeJS.ProcessEnv): Buffer | undefined {
  const raw = env[SECRET_KEY_ENV];
  if (raw === undefined || raw === '') return undefined;
  try {
    return decodeSecretKey(raw, `The environment variable ${SECRET_KEY_ENV}`);
  } catch (err) {
    if (err instanceof SecretKeyError) throw new ConfigError(err.message);
    throw err;
  }
}

function signingKeyFromEnv(env: NodeJS.ProcessEnv): KeyObject | undefined {
  const raw = env[SIGNING_KEY_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return decodeSigningKey(raw, `The environment variable ${SIGNING_KEY_ENV}`);
  } catch (err) {
    if (err instanceof SigningKeyError) throw new ConfigError(err.message);
    throw err;
  }
}

/** --manifests (repeatable) wins over MANIFESTS_DIR; with neither, ./manifests when it is a directory. */
function manifestConfig(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  env: NodeJS.ProcessEnv,
  off: boolean,
): { manifestDirs: string[] } {
  const given = (Array.isArray(values.manifests) ? values.manifests : []).filter((v): v is string => typeof v === 'string');
  if (given.some((v) => v.trim() === '')) throw new ConfigError('--manifests: needs a directory.');
  if (off) {
    if (given.length > 0) throw new ConfigError('--no-manifests: cannot be combined with --manifests; pass one or the other.');
    return { manifestDirs: [] };
  }
  if (given.length > 0) return { manifestDirs: [...new Set(given)] };
  const fromEnv = (env[rowOf('manifests').env!] ?? '').split(delimiter).filter((d) => d.trim() !== '');
  if (fromEnv.length > 0) return { manifestDirs: [...new Set(fromEnv)] };
  return { manifestDirs: isDirectory(DEFAULT_MANIFESTS_DIR) ? [DEFAULT_MANIFESTS_DIR] : [] };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function parseTakeoverRole(value: string): 'admin' | 'editor' {
  if (value === 'admin' || value === 'editor') return value;
  throw new ConfigError(`--file-takeover-role: "${value}" must be admin or editor.`);
}
