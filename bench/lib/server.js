// The control plane as its own process: `node dist/src/cli/mcpctl.js serve --port 0 ...`. The port is
// read from its stderr line "serving on http://...". Each started process is killed by the cleanup
// registry if the bench does not stop it itself.
//
// BENCH_CPU_PROF=<dir>: the server runs with --cpu-prof and writes its profile there when stopped.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, onCleanup, onExitSync, waitFor } from './common.js';
import { cpuMs, rssMb, waitQuiet } from './proc.js';

/**
 * What `npm start` (package.json's start script, read from there) sets that only a process start can: node's
 * flags and MALLOC_ARENA_MAX. A server at its defaults runs with them, as users run it.
 */
function startSettings() {
  const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const nodeArgs = (/\bnode((?: --\S+)*) /.exec(script)?.[1] ?? '').split(' ').filter(Boolean);
  const arenas = /MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-(\d+)\}/.exec(script)?.[1];
  return { nodeArgs, env: arenas && !process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: arenas } : {} };
}

/**
 * Flags every bench server gets: no periodic resync during a measurement, and discovery that neither
 * retries nor refreshes within a bench (each server is discovered once per generation, as in production).
 * The discovery budget is long so that a discovery starved of CPU by a big sync still ends the same way
 * (connection refused, not a timeout), and a restart finds the same result.
 */
export const QUIET_FLAGS = [
  '--resync-interval',
  '0',
  '--discovery-timeout',
  '30s',
  '--discovery-retry-base',
  '10m',
  '--discovery-retry-max',
  '10m',
  '--discovery-interval',
  '1h',
];

let helpText;
/** Whether this build's `serve` knows a flag (benches run against older checkouts too). */
export function serveHasFlag(flag) {
  helpText ??= execFileSync(process.execPath, [CLI, 'serve', '--help'], { cwd: ROOT, encoding: 'utf8' });
  return helpText.includes(`--${flag} `) || helpText.includes(`--${flag}\n`);
}

/**
 * The load generator writes far faster than a person: the per-token write limit would answer 429.
 * `defaults`: resync, rediscovery and retries as users run them (no QUIET_FLAGS).
 */
function buildFlags(defaults) {
  return [...(defaults ? [] : QUIET_FLAGS), ...(serveHasFlag('write-rate-limit') ? ['--write-rate-limit', 'off'] : [])];
}

export function newToken() {
  return `bench-${randomBytes(24).toString('base64url')}`;
}

/**
 * @param {object} o
 * @param {string} o.dataDir
 * @param {string[]} [o.manifestDirs] watched directories; none means --no-manifests
 * @param {string} [o.token]
 * @param {string[]} [o.args] more flags
 * @param {number} [o.startTimeoutMs]
 * @param {Record<string, string>} [o.env] more environment (a replica's store, keys)
 * @param {boolean} [o.defaults] resync, rediscovery and retries at their defaults (no QUIET_FLAGS), and npm start's process settings
 * @param {number} [o.sampleRssMs] sample RSS at this period from the spawn on (see `rss()`)
 */
export async function startServer({ dataDir, manifestDirs = [], token = newToken(), args = [], startTimeoutMs = 600_000, nodeArgs = [], env = {}, defaults = false, sampleRssMs }) {
  const flags = ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--admin-token', token, '--log-level', 'warn'];
  if (manifestDirs.length === 0) flags.push('--no-manifests');
  for (const d of manifestDirs) flags.push('--manifests', d);
  const profDir = process.env.BENCH_CPU_PROF;
  const start = defaults ? startSettings() : { nodeArgs: [], env: {} };
  const node = [...start.nodeArgs, ...nodeArgs];
  if (profDir) {
    mkdirSync(profDir, { recursive: true });
    node.push('--cpu-prof', '--cpu-prof-dir', profDir);
  }
  const spawnedAt = performance.now();
  // Later flags win (parseArgs keeps the last value), so `args` may override QUIET_FLAGS.
  const child = spawn(process.execPath, [...node, CLI, 'serve', ...buildFlags(defaults), ...flags, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...start.env, MCP_CP_ADMIN_TOKEN: '', MANIFESTS_DIR: '', ...env },
  });
  const output = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  let url;
  let readyAt;
  let exited = false;
  let exitCode;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitCode = code ?? signal;
      resolve();
    });
  });
  child.stdout.on('data', keep);
  child.stderr.on('data', (chunk) => {
    keep(chunk);
    const m = /serving on (http:\/\/\S+)/.exec(chunk.toString());
    if (m && !url) {
      url = m[1];
      readyAt = performance.now();
    }
  });
  const killSync = () => {
    if (!exited) child.kill('SIGKILL');
  };
  const undoSync = onExitSync(killSync);
  // RSS through the whole run: max and last sample (a process serves only after its first sync).
  const rss = { max: 0, last: NaN, samples: 0 };
  const sampler = sampleRssMs
    ? setInterval(() => {
        const v = rssMb(child.pid);
        if (Number.isNaN(v)) return;
        rss.max = Math.max(rss.max, v);
        rss.last = v;
        rss.samples++;
      }, sampleRssMs)
    : undefined;
  void exit.then(() => clearInterval(sampler));
  /** SIGKILL, as a crash: resolves once the process is gone. */
  const kill = async () => {
    if (!exited) child.kill('SIGKILL');
    await exit;
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
      if (!killed) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    undoSync();
  };
  const undoCleanup = onCleanup(stop);

  try {
    await waitFor(
      () => {
        if (exited) throw new Error(`the control plane exited (${exitCode}) before serving:\n${output.slice(-30).join('\n')}`);
        return url;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 5, what: 'the control plane to serve' },
    );
  } catch (err) {
    await stop();
    undoCleanup();
    throw err;
  }
  const pid = child.pid;
  return {
    url,
    token,
    pid,
    dataDir,
    spawnedAt,
    /** ms from spawn until the "serving on" line (after the first sync of every watched directory). */
    startMs: readyAt - spawnedAt,
    output,
    rssMb: () => rssMb(pid),
    /** With sampleRssMs: { max, last, samples } of the RSS sampled since the spawn (MB). */
    rss: () => ({ ...rss }),
    cpuMs: () => cpuMs(pid),
    waitQuiet: (options) => waitQuiet(pid, options),
    get exited() {
      return exited;
    },
    kill,
    async stop() {
      await stop();
      undoCleanup();
    },
  };
}
