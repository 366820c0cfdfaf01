#!/usr/bin/env node
// mcpctl: the control plane's command line. Subcommands live in files of their own.
import { serveCommand } from './serve.js';

const USAGE = `Usage: mcpctl <command> [flags]

Commands:
  serve       Start the control plane (mcpctl serve --help for its flags).

Run "mcpctl <command> --help" for a command's flags.
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`mcpctl: unknown command "${name}".\n\n${USAGE}`);
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
