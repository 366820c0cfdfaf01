// A real PostgreSQL server for the suites that need one: one per jest worker process, started lazily by
// the first test file that asks and reused by the next ones in that process, in a temp directory, on a
// free loopback port (unix socket in the temp directory too). Tuned for tests, not for durability:
// --auth=trust, fsync, synchronous_commit and full_page_writes off.
//
// No orphan server: a detached watchdog (sh) holds a pipe from this process; when the process ends in any
// way (exit, a signal, SIGKILL by jest) the pipe closes, and the watchdog stops the server and removes the
// temp directory. stop() ends the pipe on purpose, so both paths are the same one.
//
// initdb refuses to run as root: as root, the server runs as the system user MCP_CP_TEST_PG_USER
// (default mcp-cp-postgres), created once with `useradd --system`.
//
// Gate a suite with `requirePostgres()` (the project's one rule, requireSystemBinary): missing binaries
// skip it with one loud line, or fail it under MCP_CP_TEST_REQUIRE_ALL=1. PG_BIN names the directory of
// initdb/pg_ctl/postgres to use instead of PATH and /usr/lib/postgresql/*/bin.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './peer-process.js';
import { findSystemBinary, requireSystemBinary, type SystemBinary } from './system-binary.js';

const run = promisify(execFile);

/** The directory of the PostgreSQL server binaries, when not on PATH or in /usr/lib/postgresql/<v>/bin. */
export const PG_BIN_VARIABLE = 'PG_BIN';
const DEFAULT_SYSTEM_USER = 'mcp-cp-postgres';

export interface TestPostgres {
  /** Superuser URL of the `postgres` database over TCP on 127.0.0.1. */
  url: string;
  /** A new schema of its own: the URL selects it through search_path, so unqualified names land there. */
  freshSchema(): Promise<{ url: string; schema: string }>;
  /**
   * Stops the server and starts it again on the same port. `fast` (default): sessions are ended, every
   * commit is kept. `immediate`: like a crash; with synchronous_commit off, the last commits may be lost.
   */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes its directory; the next testPostgres() starts another. */
  stop(): Promise<void>;
}

/** Candidate initdb paths: PG_BIN, else PATH, else Debian's versioned directories (newest first). */
function initdbCandidates(): string[] {
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  return ['initdb', ...versions.map((v) => `/usr/lib/postgresql/${v}/bin/initdb`)];
}

/** initdb under PG_BIN when that is set, else the first candidate found. */
function initdbPaths(): string[] {
  const fromEnv = process.env[PG_BIN_VARIABLE];
  return fromEnv ? [join(fromEnv, 'initdb')] : initdbCandidates();
}

/** For a `beforeAll(() => testPostgres(), …)`: the first start (initdb) takes seconds on a busy machine. */
export const POSTGRES_START_TIMEOUT_MS = 120_000;

/** How to get PostgreSQL's binaries, for the line that says a suite or benchmark was skipped. */
export const POSTGRES_INSTALL_HINT = `apt-get install -y postgresql (Debian), or set ${PG_BIN_VARIABLE} to the directory holding initdb and pg_ctl`;

/** initdb, where testPostgres() would find it (the benchmarks ask too, outside jest). */
export function findPostgres(): { initdb: string | undefined; looked: string[] } {
  return { initdb: findSystemBinary(initdbPaths()), looked: initdbPaths() };
}

/** Call at the top of a test file (describe time): the suite runs only where PostgreSQL's binaries are. */
export function requirePostgres(): SystemBinary {
  return requireSystemBinary('PostgreSQL (initdb)', initdbPaths(), { install: POSTGRES_INSTALL_HINT });
}

// Shared by every test file of this process: jest gives each file its own module registry and global
// object, but core modules are the process's own, so the server's state hangs off `os` under a registered
// symbol. Only plain data and core objects are shared: each file builds its TestPostgres from them with its
// own modules (a module of a finished file's registry can no longer load what it loads lazily).
const SHARED = Symbol.for('mcp-control-plane.test-postgres');
type Shared = { [SHARED]?: Promise<ServerState> };

interface ServerState {
  url: string;
  port: number;
  data: string;
  log: string;
  pgCtl: string;
  asUser: string[];
  watchdog: ChildProcess;
  schemas: number;
  stopped?: Promise<void>;
}

const apis = new WeakMap<ServerState, TestPostgres>();

/** This worker's server, started on first use. */
export async function testPostgres(): Promise<TestPostgres> {
  const shared = os as unknown as Shared;
  if (!shared[SHARED]) {
    shared[SHARED] = startServer().catch((err: unknown) => {
      delete shared[SHARED];
      throw err;
    });
  }
  const state = await shared[SHARED];
  let api = apis.get(state);
  if (!api) apis.set(state, (api = serverApi(state)));
  return api;
}

function serverApi(state: ServerState): TestPostgres {
  const { url, port, data, log, pgCtl, asUser } = state;
  return {
    url,
    async freshSchema() {
      const schema = `t${process.pid}_${++state.schemas}_${Math.random().toString(36).slice(2, 8)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
      } finally {
        await client.end();
      }
      return { url: `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, schema };
    },
    async restart(mode = 'fast') {
      await pgCtlRun(pgCtl, asUser, ['-D', data, '-m', mode, '-w', 'stop']);
      await pgCtlRun(pgCtl, asUser, ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
    },
    stop() {
      state.stopped ??= (async () => {
        const shared = os as unknown as Shared;
        if (shared[SHARED] && (await shared[SHARED].catch(() => undefined)) === state) delete shared[SHARED];
        await endWatchdog(state.watchdog);
      })();
      return state.stopped;
    },
  };
}

async function startServer(): Promise<ServerState> {
  const found = findSystemBinary(initdbPaths());
  if (!found) throw new Error(`PostgreSQL's initdb not found (looked at ${initdbPaths().join(', ')}): see requirePostgres`);
  // The real directory: pg_ctl and postgres sit beside the real initdb, whatever links to it.
  const initdb = realpathSync(found);
  const pgCtl = join(dirname(initdb), 'pg_ctl');
  const asUser = await systemUserPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-cp-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (asUser.length > 0) {
    const [uid, gid] = await userIds(asUser[2]!);
    chownSync(dir, uid, gid);
  }
  const watchdog = startWatchdog(dir, data, pgCtl, asUser);
  try {
    await run(asUser[0] ?? initdb, [...asUser.slice(1), ...(asUser.length ? [initdb] : []), '-D', data, '--auth=trust', '-U', 'postgres', '--no-sync', '--no-locale', '-E', 'UTF8'], { timeout: 60_000 });
    appendFileSync(data + '/postgresql.conf', [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      'shared_buffers = 32MB',
      '',
    ].join('\n'));
    for (let attempt = 1; ; attempt++) {
      // The free port may be taken by someone else before the server binds it: try another.
      const port = await freePort();
      try {
        await pgCtlRun(pgCtl, asUser, ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
        return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, port, data, log, pgCtl, asUser, watchdog, schemas: 0 };
      } catch (err) {
        if (attempt >= 3) throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${tail(log)}`);
      }
    }
  } catch (err) {
    await endWatchdog(watchdog);
    throw err;
  }
}

/**
 * The watchdog: waits for EOF on its stdin (this process gone, or stop()), then stops the server and
 * removes the directory. Detached (its own session) and deaf to INT/TERM/HUP, so it outlives whatever
 * ends this process.
 */
function startWatchdog(dir: string, data: string, pgCtl: string, asUser: string[]): ChildProcess {
  const script = [
    "trap '' INT TERM HUP",
    'dir="$1"; data="$2"; shift 2',
    'cat >/dev/null',
    'if [ -f "$data/postmaster.pid" ]; then "$@" -D "$data" -m immediate -w stop >/dev/null 2>&1; fi',
    'rm -rf "$dir"',
  ].join('\n');
  const child = spawn('sh', ['-c', script, 'pg-watchdog', dir, data, ...asUser, pgCtl], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return child;
}

function endWatchdog(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin?.end();
  });
}

async function pgCtlRun(pgCtl: string, asUser: string[], args: string[]): Promise<void> {
  const [cmd, ...pre] = asUser.length ? [...asUser, pgCtl] : [pgCtl];
  await run(cmd!, [...pre, ...args], { timeout: 90_000 });
}

/** As root: `runuser -u <user> --`, creating the system user once; otherwise nothing. */
async function systemUserPrefix(): Promise<string[]> {
  if (process.getuid?.() !== 0) return [];
  const user = process.env.MCP_CP_TEST_PG_USER ?? DEFAULT_SYSTEM_USER;
  try {
    await run('id', ['-u', user]);
  } catch {
    try {
      await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    } catch (err) {
      // Another worker created it meanwhile (useradd exits 9): fine when it exists now.
      await run('id', ['-u', user]).catch(() => {
        throw err;
      });
    }
  }
  return ['runuser', '-u', user, '--'];
}

async function userIds(user: string): Promise<[number, number]> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  return [uid, gid];
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
