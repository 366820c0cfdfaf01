// A helper process (baseline server, upstream MCP server, floor) run with node and cleaned up with the
// rest: it prints "listening on <url>" when it serves, or one JSON line when it computes something.
import { spawn } from 'node:child_process';
import { ROOT, onCleanup, onExitSync, waitFor } from './common.js';

export async function spawnNode(script, args = [], { timeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let exited = false;
  let exitCode;
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      exitCode = code ?? signal;
      resolve();
    }),
  );
  const collect = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const undoSync = onExitSync(() => {
    if (!exited) child.kill('SIGKILL');
  });
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
      await exit;
    }
    undoSync();
  };
  const undoCleanup = onCleanup(stop);
  return {
    pid: child.pid,
    lines,
    exit,
    get exited() {
      return exited;
    },
    get exitCode() {
      return exitCode;
    },
    /** The URL of a "listening on <url>" line. */
    async url() {
      return waitFor(
        () => {
          for (const l of lines) {
            const m = /listening on (\S+)/.exec(l);
            if (m) return m[1];
          }
          if (exited) throw new Error(`${script} exited (${exitCode}):\n${lines.slice(-20).join('\n')}`);
          return undefined;
        },
        { timeoutMs, intervalMs: 5, what: `${script} to listen` },
      );
    },
    /** The JSON a computing child prints as its last line, after it exits 0. */
    async result() {
      await exit;
      undoSync();
      undoCleanup();
      if (exitCode !== 0) throw new Error(`${script} failed (${exitCode}):\n${lines.slice(-20).join('\n')}`);
      return JSON.parse(lines[lines.length - 1]);
    },
    async stop() {
      await stop();
      undoCleanup();
    },
  };
}
