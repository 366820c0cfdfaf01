// What every command does first: parse flags (or print --help), then, for server commands, resolve
// the server and the token.
import { parseArgs, type FlagSpecs, type FlagValues } from './args.js';
import { resolveClient, type ApiClient } from './client.js';
import { EXIT_OK, EXIT_USAGE, redactingIo, type CliIo } from './io.js';

export type Started<S extends FlagSpecs> = { ok: true; flags: FlagValues<S>; positionals: string[] } | { ok: false; code: number };

export function usageError(io: CliIo, command: string, message: string): number {
  io.stderr.write(`mcpctl ${command}: ${message}\nRun "mcpctl ${command} --help" for usage.\n`);
  return EXIT_USAGE;
}

/** Parses argv; prints help (exit 0) or a usage error (exit 2) and answers ok: false for those. */
export function startCommand<S extends FlagSpecs & { help: { kind: 'boolean' } }>(
  command: string,
  argv: readonly string[],
  io: CliIo,
  specs: S,
  help: string,
): Started<S> {
  const parsed = parseArgs(argv, specs);
  if (!parsed.ok) return { ok: false, code: usageError(io, command, parsed.message) };
  if (parsed.flags.help) {
    io.stdout.write(help);
    return { ok: false, code: EXIT_OK };
  }
  return parsed;
}

export type Connected = { ok: true; client: ApiClient; io: CliIo } | { ok: false; code: number };

/** The client, and an io that redacts the token should anything ever try to print it. */
export function connect(command: string, flags: { server?: string | undefined; token?: string | undefined }, io: CliIo): Connected {
  const resolved = resolveClient(flags, io);
  if (!resolved.ok) return { ok: false, code: usageError(io, command, resolved.message) };
  return { ok: true, client: resolved.client, io: redactingIo(io, resolved.token) };
}

export function exactlyOneName(command: string, positionals: readonly string[], io: CliIo): { ok: true; name: string } | { ok: false; code: number } {
  if (positionals.length !== 1 || !positionals[0]) {
    return {
      ok: false,
      code: usageError(io, command, positionals.length === 0 ? 'needs the NAME of an MCP server' : `takes one NAME, got ${positionals.length}: ${positionals.join(' ')}`),
    };
  }
  return { ok: true, name: positionals[0] };
}

/** The value of a flag that names a generation (a whole number from 1), or the usage error (exit 2) it is. */
export function generationFlag(command: string, flag: string, raw: string, io: CliIo): { ok: true; generation: number } | { ok: false; code: number } {
  if (/^\d+$/.test(raw) && Number(raw) >= 1) return { ok: true, generation: Number(raw) };
  return { ok: false, code: usageError(io, command, `--${flag}: must be a generation (a whole number from 1), got "${raw}"`) };
}

/**
 * The server words its ownership refusal (409) for API clients ("send force: true"); mcpctl's way out
 * is the --force flag of the command at hand, so the message names that.
 */
export function forceHint(message: string, command: string): string {
  const flag = `mcpctl ${command} --force`;
  const action = command === 'delete' ? 'to delete it anyway' : 'to take it over';
  const reworded = message.replace(/\(?or send force: true[^).]*\)?/, `(or run ${flag} ${action})`);
  return reworded.includes('--force') ? reworded : `${reworded} Run ${flag} to override.`;
}

export function now(io: CliIo): Date {
  return io.now ? io.now() : new Date();
}
