// Shared plumbing of the benchmarks: paths, the smoke switch, temp directories and child processes that
// are cleaned up whatever happens (normal end, a thrown error, Ctrl-C), waiting and time limits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist', 'src');
export const CLI = join(DIST, 'cli', 'mcpctl.js');

/** BENCH_SMOKE=1: tiny sizes, every code path once, no timing asserted (CI). */
export const SMOKE = /^(1|true|yes)$/i.test(process.env.BENCH_SMOKE ?? '');

/** Imports a module of the built control plane (dist/src/...). */
export function importDist(relative) {
  return import(pathToFileURL(join(DIST, relative)).href);
}

// ---------------------------------------------------------------------------------------------------
// Cleanup: every temp directory and child process registers here; runCleanups() undoes them in reverse.

const cleanups = [];

export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function runCleanups() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch {
      // Best effort: the next cleanup still runs.
    }
  }
}

/** Synchronous last resort (process 'exit'): kill children, remove directories. */
const lastResort = new Set();
export function onExitSync(fn) {
  lastResort.add(fn);
  return () => lastResort.delete(fn);
}
process.on('exit', () => {
  for (const fn of lastResort) {
    try {
      fn();
    } catch {
      // nothing more to do
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
    runCleanups().finally(() => process.exit(130));
  });
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `mcp-cp-bench-${prefix}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  const undoSync = onExitSync(remove);
  onCleanup(() => {
    undoSync();
    remove();
  });
  return dir;
}

// ---------------------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it answers truthy; rejects after timeoutMs with `what` in the message. */
export async function waitFor(check, { timeoutMs = 60_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function log(message) {
  process.stderr.write(`  · ${message}\n`);
}
