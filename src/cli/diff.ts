// mcpctl diff -f PATH...: what apply would change, computed by the server (dryRun), secrets masked.
// Exit codes follow kubectl diff: 0 nothing would change, 1 something would, 2 an error.
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { startCommand } from './command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';
import { formatDiffEntry } from './output.js';
import { putFileArguments, writeResults, writeWarnings } from './put-documents.js';

const FLAGS = {
  ...CONNECTION_FLAGS,
  filename: { kind: 'list', short: 'f' },
  output: { kind: 'string', short: 'o' },
  force: { kind: 'boolean' },
} as const;

export const DIFF_HELP = `Usage: mcpctl diff -f PATH... [--force] [-o text|json] [--server URL]

Shows what "mcpctl apply" would change: the server plans each document (a dryRun PUT) and stores nothing.
Per resource: "CREATE name", "UPDATE name" or "UNCHANGED name", then the changed fields:
  ~ /path: from → to      + /path: value      - /path: value      ~ /path: (secret changed)

Flags:
  -f, --filename PATH   A file or a directory (recursive: *.yaml, *.yml, *.json; dotfiles skipped), or - for stdin. Repeatable.
      --force           Plan as "mcpctl apply --force" would: take over servers a watched file declares.
  -o, --output FORMAT   text (default) or json (an array with one result per document).
  -h, --help            This help.
${CONNECTION_HELP}
Exit codes: 0 nothing would change, 1 something would change, 2 an error (invalid manifest, usage, server).
`;

export async function runDiff(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('diff', argv, rawIo, FLAGS, DIFF_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const put = await putFileArguments('diff', flags, positionals, rawIo, true);
  if (!put.ok) return put.code;
  const { run, io } = put;
  const failed = run.results.filter((r) => r.error !== undefined).length;
  const changing = run.results.filter((r) => r.action === 'CREATE' || r.action === 'UPDATE').length;
  const code = failed > 0 ? EXIT_USAGE : changing > 0 ? EXIT_FAILED : EXIT_OK;

  const json = flags.output === 'json';
  writeResults(io, run.results, json ? run.results : undefined, (r) => {
    io.stdout.write(`${r.action} ${r.name}\n`);
    for (const d of r.diff ?? []) io.stdout.write(`  ${formatDiffEntry(d)}\n`);
    writeWarnings(io.stdout, r);
  });
  if (json) return code;
  const count = (action: string) => run.results.filter((r) => r.action === action).length;
  io.stdout.write(
    `${count('CREATE')} to create, ${count('UPDATE')} to update, ${count('UNCHANGED')} unchanged` + (failed > 0 ? `, ${failed} failed` : '') + '\n',
  );
  return code;
}
