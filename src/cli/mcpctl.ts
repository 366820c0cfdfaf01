#!/usr/bin/env node
// mcpctl: the control plane's command line. Subcommands live in files of their own; each client
// command is `run…(argv, io)` so that tests run it in-process.
import { processIo } from './io.js';
import { didYouMean } from './suggest.js';

const USAGE = `Usage: mcpctl <command> [flags]

Commands:
  serve       Start the control plane (mcpctl serve --help for its flags).
  validate    Check manifest files offline: every error as file:line:col.
  diff        Show what apply would change (server-side dry run); exit 1 when something would.
  apply       Create or update the MCP servers the manifest files declare.
  get         List MCP servers (or some) with their readiness; get events, get sources.
  describe    Show one MCP server: spec, conditions, tools, events, gateway entry.
  delete      Delete MCP servers (by name, -f FILE or -l selector).
  history     Show the revisions of an MCP server (GENERATION, AGE, BY, SOURCE, CHANGE), or one with --revision N.
  rollback    Apply revision N of an MCP server again (--to-revision N [--dry-run]); recreates a deleted one.
  watch       Print every change of the MCP servers as it happens (one line per event) until Ctrl-C.
  token       token create: a new bearer token (shown once) and its --tokens-file entry.
  version     Print the client's and the server's version.
  completion  Print a shell completion script: mcpctl completion bash|zsh.

Client commands talk to --server (env MCPCTL_SERVER, default http://127.0.0.1:8080) with the bearer
token in MCPCTL_TOKEN (or --token); against a loopback server, ./data/admin-token is used when neither is set.

Run "mcpctl <command> --help" for a command's flags.
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  // Each command is loaded on demand: a client command loads neither the server (SQLite, express) nor
  // the other commands, and serve (whose start time counts) none of the client commands.
  serve: async (argv) => (await import('./serve.js')).serveCommand(argv),
  validate: async (argv) => (await import('./validate.js')).runValidate(argv, processIo()),
  diff: async (argv) => (await import('./diff.js')).runDiff(argv, processIo()),
  apply: async (argv) => (await import('./apply.js')).runApply(argv, processIo()),
  get: async (argv) => (await import('./get.js')).runGet(argv, processIo()),
  describe: async (argv) => (await import('./describe.js')).runDescribe(argv, processIo()),
  delete: async (argv) => (await import('./delete.js')).runDelete(argv, processIo()),
  history: async (argv) => (await import('./history.js')).runHistory(argv, processIo()),
  rollback: async (argv) => (await import('./rollback.js')).runRollback(argv, processIo()),
  watch: async (argv) => {
    const { runWatch } = await import('./watch.js');
    const interrupted = new AbortController();
    process.once('SIGINT', () => interrupted.abort());
    process.once('SIGTERM', () => interrupted.abort());
    return runWatch(argv, processIo(), { signal: interrupted.signal });
  },
  token: async (argv) => (await import('./token.js')).runToken(argv, processIo()),
  version: async (argv) => (await import('./version.js')).runVersion(argv, processIo()),
  completion: async (argv) => (await import('./completion.js')).runCompletion(argv, processIo()),
};

/** Not listed: what the completion scripts call for server names. */
const hidden: Record<string, (argv: string[]) => Promise<number>> = {
  __names: async () => (await import('./completion.js')).runNames(processIo()),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : Object.hasOwn(hidden, name) ? hidden[name] : undefined;
  if (!command) {
    process.stderr.write(`mcpctl: unknown command "${name}"${didYouMean(name, Object.keys(commands))}\nRun "mcpctl --help" for the commands.\n`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mcpctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
