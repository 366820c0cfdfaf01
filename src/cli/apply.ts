// mcpctl apply -f PATH... [--dry-run]: PUT every document. A document that fails does not stop the
// others (except a connection or token failure); the exit code is 1 when any failed.
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { startCommand } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { putFileArguments, writeResults, writeWarnings, type Action } from './put-documents.js';

const FLAGS = {
  ...CONNECTION_FLAGS,
  filename: { kind: 'list', short: 'f' },
  output: { kind: 'string', short: 'o' },
  'dry-run': { kind: 'boolean' },
  force: { kind: 'boolean' },
} as const;

export const APPLY_HELP = `Usage: mcpctl apply -f PATH... [--dry-run] [--force] [-o text|json] [--server URL]

Creates or updates the MCP servers the manifests declare, one PUT per document, in a stable order
(the -f arguments in order, directories sorted by path, documents in file order).
Prints "name: created", "name: configured" or "name: unchanged" per resource.

Flags:
  -f, --filename PATH   A file or a directory (recursive: *.yaml, *.yml, *.json; dotfiles skipped), or - for stdin. Repeatable.
      --dry-run         Ask the server what would happen; store nothing.
      --force           Take over servers a file in a watched directory declares (refused otherwise);
                        the file keeps declaring the name, so change or remove it there too.
  -o, --output FORMAT   text (default) or json (an array with one result per document).
  -h, --help            This help.
${CONNECTION_HELP}
Exit codes: 0 every document applied, 1 some document failed, 2 usage error or unreadable path.
`;

const VERB: Record<Action, string> = { CREATE: 'created', UPDATE: 'configured', UNCHANGED: 'unchanged' };

export async function runApply(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('apply', argv, rawIo, FLAGS, APPLY_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const put = await putFileArguments('apply', flags, positionals, rawIo, flags['dry-run']);
  if (!put.ok) return put.code;
  const { run, io } = put;
  const dryRun = flags['dry-run'];
  const failed = run.results.filter((r) => r.error !== undefined).length;
  const code = failed > 0 ? EXIT_FAILED : EXIT_OK;

  const json = flags.output === 'json';
  writeResults(io, run.results, json ? run.results.map((r) => ({ ...r, dryRun, ...(r.action ? { result: VERB[r.action] } : {}) })) : undefined, (r) => {
    io.stdout.write(`${r.name}: ${VERB[r.action as Action]}${dryRun ? ' (dry run)' : ''}\n`);
    writeWarnings(io.stderr, r);
  });
  if (!json && failed > 0) io.stderr.write(`${failed} of ${run.results.length} documents failed\n`);
  return code;
}
