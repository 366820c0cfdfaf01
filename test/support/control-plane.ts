// Starts the real control plane in-process on port 0 with a temp data dir, and talks to it with fetch.
//
// The store: SQLite under the data dir (the default), or, with MCP_CP_TEST_STORE=postgres, a fresh schema of
// this worker's test PostgreSQL (test/support/postgres.ts) per data dir, with the shared keys PostgreSQL mode
// requires. A restart on the same data dir finds the same schema and keys again.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Authenticator } from '../../src/auth/authenticator.js';
import { parseServeConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/domain/clock.js';
import { silentLogger, type Logger } from '../../src/domain/logger.js';
import { startControlPlane, type ClusterWiring, type ControlPlane } from '../../src/main.js';
import type { WatchTiming } from '../../src/sources/index.js';
import { freePort } from './peer-process.js';
import { testPostgres } from './postgres.js';
import { waitFor } from './wait-for.js';
export { waitFor };

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** Set to `postgres` to run the control planes of this process on PostgreSQL instead of SQLite. */
export const TEST_STORE_VARIABLE = 'MCP_CP_TEST_STORE';

/** True when this process's control planes run on PostgreSQL (MCP_CP_TEST_STORE=postgres). */
export function testStoreIsPostgres(): boolean {
  return process.env[TEST_STORE_VARIABLE] === 'postgres';
}

/** PostgreSQL mode's environment per data dir: one schema and one set of shared keys, kept across restarts. */
const postgresEnvs = new Map<string, Promise<Record<string, string>>>();

function postgresEnv(dataDir: string): Promise<Record<string, string>> {
  let env = postgresEnvs.get(dataDir);
  if (!env) {
    env = (async () => ({
      MCP_CP_STORE: (await (await testPostgres()).freshSchema()).url,
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    }))();
    env.catch(() => postgresEnvs.delete(dataDir));
    postgresEnvs.set(dataDir, env);
  }
  return env;
}

/** Set to `thread` to run the data plane of this process's control planes on its thread (tests default to inline). */
export const TEST_DATA_PLANE_VARIABLE = 'MCP_CP_TEST_DATA_PLANE';

/**
 * inline unless MCP_CP_TEST_DATA_PLANE=thread: tests reach into the data plane (its metrics registry, an
 * injected clock, StartOptions.authenticators), which only the inline one shares with them.
 */
export function testDataPlaneMode(): 'inline' | 'thread' {
  return process.env[TEST_DATA_PLANE_VARIABLE] === 'thread' ? 'thread' : 'inline';
}

export interface TestControlPlane extends ControlPlane {
  dataDir: string;
  config: Config;
  api(path: string, init?: ApiInit): Promise<ApiResponse>;
  /** Stops the server but keeps the data dir, for restart tests. */
  stop(): Promise<void>;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
}

export interface ApiInit {
  method?: string;
  body?: unknown;
  /** A raw body string, sent as is. */
  rawBody?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface TestControlPlaneOptions {
  args?: string[];
  dataDir?: string;
  /** Watched manifest directories (--manifests each). Without them no directory is watched, not even ./manifests. */
  manifests?: string[];
  /** Watcher timing; tests default to a short stability threshold and debounce. */
  manifestWatch?: Partial<WatchTiming>;
  /** More token subjects besides ADMIN_TOKEN. */
  authenticators?: Authenticator[];
  /** Default: silent. */
  logger?: Logger;
  /** Environment for parseServeConfig (e.g. MCP_CP_SECRET_KEY). Default: none. */
  env?: NodeJS.ProcessEnv;
  /** How often --tokens-file is re-read. Default 20 ms. */
  tokensFilePollIntervalMs?: number;
  /** The control plane's clock (a FakeClock where time is the subject). Default: the system clock. */
  clock?: Clock;
  /** Its part in a cluster (a follower of another control plane). Default: the single replica of SQLite mode. */
  cluster?: ClusterWiring;
  /** --data-plane thread: the thread ended on its own. */
  onDataPlaneLost?: (error: Error) => void;
}

/** Short enough for fast tests, long enough for a write of a few KiB to settle. */
export const TEST_WATCH_TIMING: Partial<WatchTiming> = { stabilityThresholdMs: 50, pollIntervalMs: 10, debounceMs: 30 };

export async function startTestControlPlane(options: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mcp-cp-'));
  const args = options.args ?? [];
  const manifestArgs = options.manifests
    ? options.manifests.flatMap((dir) => ['--manifests', dir])
    : args.some((a) => a === '--manifests' || a.startsWith('--manifests=') || a === '--no-manifests')
      ? []
      : ['--no-manifests'];
  // Writes are not rate limited unless a test asks for it (test/security does).
  const rateArgs = args.some((a) => a.startsWith('--write-rate-limit')) ? [] : ['--write-rate-limit', 'off'];
  // Removals are pruned at once unless a test asks for a quiet period (test/sources does).
  const quietArgs = args.some((a) => a.startsWith('--prune-quiet-period')) ? [] : ['--prune-quiet-period', '0'];
  // A test's own environment (e.g. its MCP_CP_SECRET_KEY) wins over the PostgreSQL mode defaults.
  const env = testStoreIsPostgres() ? { ...(await postgresEnv(dataDir)), ...options.env } : (options.env ?? {});
  // On PostgreSQL a loopback replica must say where the others reach it: its own port, chosen up front.
  const portIndex = args.indexOf('--port');
  const givenPort = portIndex >= 0 ? Number(args[portIndex + 1]) : undefined;
  const advertise = testStoreIsPostgres() && !args.some((a) => a.startsWith('--advertise-url'));
  const port = givenPort ?? (advertise ? await freePort() : 0);
  const advertiseArgs = advertise ? ['--advertise-url', `http://127.0.0.1:${port}`] : [];
  // The data plane on the control plane's event loop, unless the test (or MCP_CP_TEST_DATA_PLANE) asks for its thread.
  // StartOptions.authenticators (functions) and an injected clock reach only an inline data plane.
  const dataPlaneArgs = args.some((a) => a.startsWith('--data-plane')) ? [] : ['--data-plane', options.authenticators || options.clock ? 'inline' : testDataPlaneMode()];
  // The test process's own thread keeps its priority (a test asks for it to be lowered).
  const niceArgs = args.some((a) => a.startsWith('--control-plane-nice')) ? [] : ['--control-plane-nice', '0'];
  const config = parseServeConfig(['--port', String(port), ...advertiseArgs, '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, ...manifestArgs, ...rateArgs, ...quietArgs, ...dataPlaneArgs, ...niceArgs, ...args], env);
  const cp = await startControlPlane(config, {
    logger: options.logger ?? silentLogger,
    manifestWatch: { ...TEST_WATCH_TIMING, ...options.manifestWatch },
    tokensFilePollIntervalMs: options.tokensFilePollIntervalMs ?? 20,
    ...(options.authenticators ? { authenticators: options.authenticators } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
    ...(options.onDataPlaneLost ? { onDataPlaneLost: options.onDataPlaneLost } : {}),
  });
  if (testStoreIsPostgres() && !options.cluster) {
    // The lone replica of its schema: started means leading with its leader work started (the first
    // directory sync done), as on SQLite, where the one process always leads.
    await waitFor(() => cp.role.isLeader, { what: 'the test control plane to be elected leader' });
    await cp.role.settled();
  }
  const api = async (path: string, init: ApiInit = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? ADMIN_TOKEN}`;
    let body: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${cp.url}${path}`, { method: init.method ?? 'GET', headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await cp.close();
  };
  return {
    ...cp,
    dataDir,
    config,
    api,
    stop,
    async dispose() {
      await stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls until fn answers a truthy value, or fails with the last value seen after the deadline. The
 * deadline only bounds a test that is failing; the default is generous for a busy machine.
 */
export function remoteManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'mcp-server/remote',
    name: 'github-tools',
    description: 'GitHub tools for the platform team',
    // Loopback only: tests never reach outside this machine.
    url: 'http://127.0.0.1:9/mcp',
    collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    ...overrides,
  };
}
