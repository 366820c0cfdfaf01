// mcpctl delete NAME... | -f PATH... | -l SELECTOR: one DELETE per server; a failure does not stop the others.
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { ApiError, ConnectionError, describeError } from './client.js';
import { connect, forceHint, startCommand, usageError } from './command.js';
import { loadDocuments } from './files.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { deleteServer, listServers, notFoundMessage } from './resources.js';
import { matches, parseSelectors } from './selectors.js';

const FLAGS = {
  ...CONNECTION_FLAGS,
  filename: { kind: 'list', short: 'f' },
  selector: { kind: 'list', short: 'l' },
  force: { kind: 'boolean' },
  'ignore-not-found': { kind: 'boolean' },
} as const;

export const DELETE_HELP = `Usage: mcpctl delete NAME... | -f PATH... | -l key=value [--force] [--ignore-not-found] [--server URL]

Deletes MCP servers: those named, those the files declare, or those whose tags match the selector;
the reconciler then removes them from the gateway.
A server declared by a file in a watched directory is refused (409): remove the file instead, or pass
--force (e.g. when the file is gone but the directory's prune is held back, see serve --allow-empty-prune).

Flags:
  -f, --filename PATH      Delete the servers these files declare (a file, a directory, or - for stdin). Repeatable.
  -l, --selector SELECTOR  Delete the servers whose tags match: key=value, key!=value; comma-separated, repeatable.
      --force              Delete servers that a watched file declares too.
      --ignore-not-found   A server that does not exist is not an error.
  -h, --help               This help.
${CONNECTION_HELP}
Exit codes: 0 every server deleted, 1 some server not found or refused, 2 usage error.
`;

export async function runDelete(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('delete', argv, rawIo, FLAGS, DELETE_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const modes = [positionals.length > 0, flags.filename.length > 0, flags.selector.length > 0].filter(Boolean).length;
  if (modes !== 1) {
    return usageError(rawIo, 'delete', modes === 0 ? 'needs the NAME of an MCP server (or -f PATH, or -l key=value)' : 'pass NAMEs, -f or -l, not several of them');
  }
  const parsedSelector = parseSelectors(flags.selector);
  if (!parsedSelector.ok) return usageError(rawIo, 'delete', parsedSelector.message);

  let names: string[] = positionals;
  if (flags.filename.length > 0) {
    const loaded = loadDocuments(flags.filename, rawIo.cwd, rawIo.stdin);
    if (!loaded.ok) return usageError(rawIo, 'delete', loaded.message);
    names = loaded.documents.flatMap((d) => {
      const name = (d.parsed.value as { name?: unknown } | null | undefined)?.name;
      return typeof name === 'string' ? [name] : [];
    });
    if (names.length === 0) return usageError(rawIo, 'delete', 'the files declare no MCP server names');
  }
  const connected = connect('delete', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;

  if (flags.selector.length > 0) {
    try {
      names = (await listServers(client)).filter((s) => matches(s, parsedSelector.selector)).map((s) => s.name);
    } catch (err) {
      io.stderr.write(`error: ${describeError(err)}\n`);
      return EXIT_FAILED;
    }
    if (names.length === 0) {
      io.stderr.write('No MCP servers match the selector.\n');
      return EXIT_OK;
    }
  }

  let failed = 0;
  for (const name of [...new Set(names)]) {
    try {
      const removed = await deleteServer(client, name, { force: flags.force });
      io.stdout.write(`${removed.name}: deleted\n`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        if (flags['ignore-not-found']) continue;
        io.stderr.write(`error: ${await notFoundMessage(client, name)}\n`);
      } else if (err instanceof ApiError && err.status === 409) {
        io.stderr.write(`error: ${forceHint(describeError(err), 'delete')}\n`);
      } else {
        io.stderr.write(`error: ${describeError(err)}\n`);
        // Every later request would fail alike.
        if (err instanceof ConnectionError || (err instanceof ApiError && err.status === 401)) return EXIT_FAILED;
      }
      failed++;
    }
  }
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}
