// mcpctl diff -f PATH...: what apply would change, computed by the server (dryRun), secrets masked.
// Exit codes follow kubectl diff: 0 nothing would change, 1 something would, 2 an error.
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { connect, startCommand, usageError } from './command.js';
import { checkDocuments } from './documents.js';
import { loadDocuments } from './files.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';
import { checkOutputFormat, formatDiffEntry, writeMachine } from './output.js';
import { putDocuments, writeDocumentError, writeSkipped, writeWarnings } from './put-documents.js';

const FLAGS = {
  ...CONNECTION_FLAGS,
  filename: { kind: 'list', short: 'f' },
  output: { kind: 'string', short: 'o' },
} as const;

export const DIFF_HELP = `Usage: mcpctl diff -f PATH... [-o text|json] [--server URL]

Shows what "mcpctl apply" would change: the server plans each document (a dryRun PUT) and stores nothing.
Per resource: "CREATE name", "UPDATE name" or "UNCHANGED name", then the changed fields:
  ~ /path: from → to      + /path: value      - /path: value      ~ /path: (secret changed)

Flags:
  -f, --filename PATH   A file or a directory (recursive: *.yaml, *.yml, *.json; dotfiles skipped). Repeatable.
  -o, --output FORMAT   text (default) or json (an array with one result per document).
  -h, --help            This help.
${CONNECTION_HELP}
Exit codes: 0 nothing would change, 1 something would change, 2 an error (invalid manifest, usage, server).
`;

export async function runDiff(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('diff', argv, rawIo, FLAGS, DIFF_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 0) return usageError(rawIo, 'diff', `unexpected argument ${JSON.stringify(positionals[0])}; pass files with -f`);
  const formatError = checkOutputFormat(flags.output, ['text', 'json']);
  if (formatError) return usageError(rawIo, 'diff', formatError);

  const loaded = loadDocuments(flags.filename, rawIo.cwd);
  if (!loaded.ok) return usageError(rawIo, 'diff', loaded.message);
  if (loaded.documents.length === 0) return usageError(rawIo, 'diff', 'the files hold no documents');
  const connected = connect('diff', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;

  const run = await putDocuments(client, checkDocuments(loaded.documents), true);
  const failed = run.results.filter((r) => r.error !== undefined).length;
  const changing = run.results.filter((r) => r.action === 'CREATE' || r.action === 'UPDATE').length;
  const code = failed > 0 ? EXIT_USAGE : changing > 0 ? EXIT_FAILED : EXIT_OK;

  if (flags.output === 'json') {
    writeMachine(io.stdout, 'json', run.results);
    for (const r of run.results) writeDocumentError(io.stderr, r);
    writeSkipped(io.stderr, run.results);
    return code;
  }
  for (const r of run.results) {
    if (r.error !== undefined) {
      writeDocumentError(io.stderr, r);
      continue;
    }
    io.stdout.write(`${r.action} ${r.name}\n`);
    for (const d of r.diff ?? []) io.stdout.write(`  ${formatDiffEntry(d)}\n`);
    writeWarnings(io.stdout, r);
  }
  writeSkipped(io.stderr, run.results);
  const count = (action: string) => run.results.filter((r) => r.action === action).length;
  io.stdout.write(
    `${count('CREATE')} to create, ${count('UPDATE')} to update, ${count('UNCHANGED')} unchanged` + (failed > 0 ? `, ${failed} failed` : '') + '\n',
  );
  return code;
}
