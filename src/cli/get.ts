// mcpctl get [NAME] [-o table|json|yaml]
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { ApiError, describeError } from './client.js';
import { connect, now, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { checkOutputFormat, formatAge, formatTable, writeMachine } from './output.js';
import { getServer, listServers, readyOf, sourceLabel, type ServerView } from './resources.js';

const FLAGS = { ...CONNECTION_FLAGS, output: { kind: 'string', short: 'o' } } as const;

export const GET_HELP = `Usage: mcpctl get [NAME] [-o table|json|yaml] [--server URL]

Lists the MCP servers (or one, by NAME) with their readiness.
Columns: NAME, READY (the Ready condition), GENERATION, OBSERVED (the generation the status describes),
SOURCE (api, or the file that declares it), TOOLS (discovered), AGE.

Flags:
  -o, --output FORMAT   table (default), json or yaml: the API's data (an array without NAME).
  -h, --help            This help.
${CONNECTION_HELP}
Exit codes: 0 found, 1 not found or a server error, 2 usage error.
`;

function row(s: ServerView, at: Date): string[] {
  return [s.name, readyOf(s), String(s.generation), String(s.status.observedGeneration), sourceLabel(s.source), String(s.tools.length), formatAge(s.createdAt, at)];
}

export async function runGet(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('get', argv, rawIo, FLAGS, GET_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 1) return usageError(rawIo, 'get', `takes at most one NAME, got ${positionals.length}: ${positionals.join(' ')}`);
  const formatError = checkOutputFormat(flags.output, ['table', 'json', 'yaml']);
  if (formatError) return usageError(rawIo, 'get', formatError);
  const connected = connect('get', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;

  const name = positionals[0];
  let servers: ServerView[];
  try {
    servers = name !== undefined ? [await getServer(client, name)] : await listServers(client);
  } catch (err) {
    const message = err instanceof ApiError && err.status === 404 ? `MCP server ${JSON.stringify(name)} not found` : describeError(err);
    io.stderr.write(`error: ${message}\n`);
    return EXIT_FAILED;
  }
  if (flags.output === 'json' || flags.output === 'yaml') {
    writeMachine(io.stdout, flags.output, name !== undefined ? servers[0] : servers);
    return EXIT_OK;
  }
  if (servers.length === 0) {
    io.stderr.write('No MCP servers found.\n');
    return EXIT_OK;
  }
  const at = now(io);
  io.stdout.write(formatTable(['NAME', 'READY', 'GENERATION', 'OBSERVED', 'SOURCE', 'TOOLS', 'AGE'], servers.map((s) => row(s, at))));
  return EXIT_OK;
}
