// What a command needs from its process, injected so that every command runs in-process in tests.
import { readFileSync } from 'node:fs';

export interface CliWriter {
  write(chunk: string): unknown;
}

export interface CliIo {
  stdout: CliWriter;
  stderr: CliWriter;
  env: Readonly<Record<string, string | undefined>>;
  /** Relative -f paths and ./data/admin-token resolve against this. */
  cwd: string;
  /** All of standard input, for -f -. */
  stdin?: () => string;
  /** For AGE columns; defaults to the system clock. */
  now?: () => Date;
}

/** A command: argv after its name → exit code. */
export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** 0 success / nothing to do; 1 the operation failed or (diff, validate) found something; 2 usage, I/O or server error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: () => readFileSync(0, 'utf8') };
}

const REDACTED = '[REDACTED]';

/**
 * A safety net under the rule that mcpctl never prints a token: every write through the answered io
 * has the token replaced. Commands still never format a token; this only catches what slips through
 * (e.g. a server echoing a header back in an error message).
 */
export function redactingIo(io: CliIo, secret: string | undefined): CliIo {
  if (!secret || secret.length < 6) return io;
  const wrap = (w: CliWriter): CliWriter => ({ write: (chunk: string) => w.write(chunk.split(secret).join(REDACTED)) });
  return { ...io, stdout: wrap(io.stdout), stderr: wrap(io.stderr) };
}
