// mcpctl delete NAME
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { ApiError, describeError } from './client.js';
import { connect, exactlyOneName, startCommand } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { deleteServer } from './resources.js';

const FLAGS = { ...CONNECTION_FLAGS, 'ignore-not-found': { kind: 'boolean' } } as const;

export const DELETE_HELP = `Usage: mcpctl delete NAME [--ignore-not-found] [--server URL]

Deletes the MCP server NAME; the reconciler then removes it from the gateway.
A server declared by a file in a watched directory is refused (409): remove the file instead.

Flags:
      --ignore-not-found   Exit 0 when there is no such server.
  -h, --help               This help.
${CONNECTION_HELP}
Exit codes: 0 deleted, 1 not found or refused, 2 usage error.
`;

export async function runDelete(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('delete', argv, rawIo, FLAGS, DELETE_HELP);
  if (!started.ok) return started.code;
  const named = exactlyOneName('delete', started.positionals, rawIo);
  if (!named.ok) return named.code;
  const connected = connect('delete', started.flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;
  try {
    const removed = await deleteServer(client, named.name);
    io.stdout.write(`${removed.name}: deleted\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      if (started.flags['ignore-not-found']) return EXIT_OK;
      io.stderr.write(`error: MCP server ${JSON.stringify(named.name)} not found\n`);
      return EXIT_FAILED;
    }
    io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  }
}
