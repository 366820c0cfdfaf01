// mcpctl validate -f PATH...: offline checks (syntax, schema, names declared twice), every error at once.
import { startCommand, usageError } from './command.js';
import { checkDocuments, formatLocatedError } from './documents.js';
import { loadDocuments } from './files.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { checkOutputFormat, plural, writeMachine } from './output.js';

const FLAGS = {
  filename: { kind: 'list', short: 'f' },
  output: { kind: 'string', short: 'o' },
  help: { kind: 'boolean', short: 'h' },
} as const;

export const VALIDATE_HELP = `Usage: mcpctl validate -f PATH... [-o text|json]

Checks manifests offline, without a server: YAML/JSON syntax, the schema, and names declared twice.
Prints every error as "file:line:col: /json/pointer: message".

Flags:
  -f, --filename PATH   A file or a directory (recursive: *.yaml, *.yml, *.json; dotfiles skipped), or - for stdin. Repeatable.
  -o, --output FORMAT   text (default) or json (an array with one result per document).
  -h, --help            This help.

Exit codes: 0 all valid, 1 some document is invalid, 2 usage error or unreadable path.
`;

export async function runValidate(argv: string[], io: CliIo): Promise<number> {
  const started = startCommand('validate', argv, io, FLAGS, VALIDATE_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 0) return usageError(io, 'validate', `unexpected argument ${JSON.stringify(positionals[0])}; pass files with -f`);
  const formatError = checkOutputFormat(flags.output, ['text', 'json']);
  if (formatError) return usageError(io, 'validate', formatError);

  const loaded = loadDocuments(flags.filename, io.cwd, io.stdin);
  if (!loaded.ok) return usageError(io, 'validate', loaded.message);
  const docs = checkDocuments(loaded.documents);
  const fileCount = loaded.files?.length ?? 0;
  const invalid = docs.filter((d) => d.errors.length > 0);

  if (flags.output === 'json') {
    writeMachine(
      io.stdout,
      'json',
      docs.map((d) => ({ file: d.file, document: d.index, ...(d.name !== undefined ? { name: d.name } : {}), valid: d.errors.length === 0, errors: d.errors })),
    );
    return invalid.length > 0 ? EXIT_FAILED : EXIT_OK;
  }
  for (const d of invalid) {
    for (const e of d.errors) io.stdout.write(`${formatLocatedError(d.file, e)}\n`);
  }
  if (invalid.length === 0) {
    io.stdout.write(`${plural(docs.length, 'document')} in ${plural(fileCount, 'file')} valid\n`);
    return EXIT_OK;
  }
  const errorCount = invalid.reduce((n, d) => n + d.errors.length, 0);
  const badFiles = new Set(invalid.map((d) => d.file)).size;
  io.stdout.write(`${plural(errorCount, 'error')} in ${plural(badFiles, 'file')} (${plural(docs.length, 'document')} in ${plural(fileCount, 'file')} checked)\n`);
  return EXIT_FAILED;
}
