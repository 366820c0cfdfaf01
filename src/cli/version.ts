// mcpctl version: this client's version and, unless --client, the server's (from its /openapi.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../manifest/schemas.js';
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { describeError } from './client.js';
import { connect, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { checkOutputFormat, writeMachine } from './output.js';

const FLAGS = { ...CONNECTION_FLAGS, client: { kind: 'boolean' }, output: { kind: 'string', short: 'o' } } as const;

export const VERSION_HELP = `Usage: mcpctl version [--client] [-o text|json|yaml] [--server URL]

Prints the version of mcpctl and of the control plane at --server.

Flags:
      --client          Only the client's version; no server is asked.
  -o, --output FORMAT   text (default), json or yaml.
  -h, --help            This help.
${CONNECTION_HELP}
Exit codes: 0 printed, 1 the server could not be asked, 2 usage error.
`;

/** The version in the package.json next to the schemas (the same in the source tree and the build). */
export function clientVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(SCHEMAS_DIR, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runVersion(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('version', argv, rawIo, FLAGS, VERSION_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 0) return usageError(rawIo, 'version', `unexpected argument ${JSON.stringify(positionals[0])}`);
  const formatError = checkOutputFormat(flags.output, ['text', 'json', 'yaml']);
  if (formatError) return usageError(rawIo, 'version', formatError);
  const client = clientVersion();
  const machine = flags.output === 'json' || flags.output === 'yaml' ? flags.output : undefined;
  if (flags.client) {
    if (machine) writeMachine(rawIo.stdout, machine, { clientVersion: client });
    else rawIo.stdout.write(`Client Version: ${client}\n`);
    return EXIT_OK;
  }
  const connected = connect('version', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client: api, io } = connected;
  let server: string;
  try {
    const doc = await api.request<{ info?: { version?: string } }>('GET', '/openapi.json');
    server = doc.info?.version ?? 'unknown';
  } catch (err) {
    io.stdout.write(`Client Version: ${client}\n`);
    io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  }
  if (machine) writeMachine(io.stdout, machine, { clientVersion: client, serverVersion: server, server: api.server });
  else io.stdout.write(`Client Version: ${client}\nServer Version: ${server} (${api.server})\n`);
  return EXIT_OK;
}
