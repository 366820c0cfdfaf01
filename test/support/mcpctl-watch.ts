// `mcpctl watch` run in-process against a control plane, its output collected for the test to read.
import { tmpdir } from 'node:os';
import { runWatch, type WatchOptions } from '../../src/cli/watch.js';
import type { CliIo } from '../../src/cli/io.js';
import { ADMIN_TOKEN } from './control-plane.js';

export interface Watching {
  out: { stdout: string; stderr: string };
  /** Settles when the watch ends (after stop(), or on its own). */
  done: Promise<number>;
  stop(): void;
  /** The lines printed so far. */
  lines(): string[];
  /** With -o json: each event printed so far as "TYPE name". */
  seen(): string[];
}

/** Starts `mcpctl watch ARGV` against `server` as the admin; reconnects back off at most 200 ms. */
export function watching(server: string, argv: string[] = [], options: Omit<WatchOptions, 'signal'> = {}): Watching {
  const out = { stdout: '', stderr: '' };
  const stop = new AbortController();
  const io: CliIo = {
    stdout: { write: (c: string) => (out.stdout += c) },
    stderr: { write: (c: string) => (out.stderr += c) },
    env: { MCPCTL_SERVER: server, MCPCTL_TOKEN: ADMIN_TOKEN },
    cwd: tmpdir(),
  };
  const done = runWatch(argv, io, { maxBackoffMs: 200, ...options, signal: stop.signal });
  const lines = () => out.stdout.split('\n').filter(Boolean);
  const seen = () => lines().map((l) => {
    const e = JSON.parse(l) as { type: string; object: { name: string } };
    return `${e.type} ${e.object.name}`;
  });
  return { out, done, stop: () => stop.abort(), lines, seen };
}
