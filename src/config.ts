// Flags + environment → a typed Config, with defaults for the embedded setup.
// Every bad value is a ConfigError whose message names the flag (mcpctl exits 2 on it).
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './logger.js';

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
}

/** One row per flag: the single source for parsing, the environment and --help. */
export const SERVE_FLAGS = [
  { flag: 'host', env: 'MCP_CP_HOST', default: '127.0.0.1', help: 'Address to listen on.' },
  { flag: 'port', env: 'PORT', default: '8080', help: 'Port to listen on (0 picks a free one).' },
  { flag: 'data-dir', env: 'DATA_DIR', default: './data', help: 'Where the SQLite files and the admin token live.' },
  { flag: 'tenant', env: 'MCP_CP_TENANT', default: 'default', help: 'Tenant name; FQNs are <tenant>:mcp-server:<name>.' },
  { flag: 'public-url', env: 'MCP_CP_PUBLIC_URL', default: 'http://<host>:<port>', help: 'Base of every proxyUrl.' },
  {
    flag: 'admin-token',
    env: 'MCP_CP_ADMIN_TOKEN',
    default: '<data-dir>/admin-token',
    help: 'Break-glass admin bearer token; when absent it is read from (or generated into, mode 0600) <data-dir>/admin-token.',
  },
  { flag: 'resync-interval', env: 'MCP_CP_RESYNC_INTERVAL', default: '60s', help: 'How often every server is re-reconciled to repair drift (e.g. 30s, 5m; 0 turns it off).' },
  { flag: 'log-level', env: 'MCP_CP_LOG_LEVEL', default: 'info', help: `One of ${LOG_LEVELS.join(', ')}.` },
  { flag: 'workers', env: 'MCP_CP_WORKERS', default: '4', help: 'Reconcile workers running at once.' },
] as const;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(value: string, flag: string): number {
  const m = DURATION.exec(value.trim());
  if (!m) throw new ConfigError(`--${flag}: "${value}" is not a duration; use e.g. 500ms, 30s, 5m or 1h.`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`--port: "${value}" is not a port; use a whole number from 0 to 65535.`);
  }
  return Number(value);
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

export function serveHelp(): string {
  const rows = SERVE_FLAGS.map((f) => `  --${f.flag.padEnd(18)} ${f.help}\n  ${' '.repeat(20)} default ${f.default}; env ${f.env}`);
  return `Usage: mcpctl serve [flags]\n\nStarts the control plane.\n\nFlags:\n${rows.join('\n')}\n  --help               Show this help.\n`;
}

export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(SERVE_FLAGS.map((f) => [f.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}. Run "mcpctl serve --help" for the flags.`);
  }
  const get = (flag: (typeof SERVE_FLAGS)[number]['flag']): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') {
      if (v.trim() === '') throw new ConfigError(`--${flag}: needs a value.`);
      return v;
    }
    const row = SERVE_FLAGS.find((f) => f.flag === flag)!;
    const fromEnv = env[row.env];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
  };

  const host = get('host') ?? '127.0.0.1';
  const port = parsePort(get('port') ?? '8080');
  const tenant = get('tenant') ?? 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(tenant)) {
    throw new ConfigError(`--tenant: "${tenant}" must be a lowercase DNS label (a-z, 0-9, '-').`);
  }
  const logLevel = get('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`);
  }
  const workersRaw = get('workers') ?? '4';
  const workers = Number(workersRaw);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError(`--workers: "${workersRaw}" must be a whole number from 1 to 64.`);
  }
  const publicUrlRaw = get('public-url');
  return {
    host,
    port,
    dataDir: get('data-dir') ?? './data',
    tenant,
    publicUrl: publicUrlRaw !== undefined ? parseUrl(publicUrlRaw, 'public-url') : undefined,
    adminToken: get('admin-token'),
    resyncIntervalMs: parseDuration(get('resync-interval') ?? '60s', 'resync-interval'),
    logLevel: logLevel as LogLevel,
    workers,
  };
}
