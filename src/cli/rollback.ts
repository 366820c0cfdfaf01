// mcpctl rollback NAME --to-revision N [--dry-run]: a new generation with revision N's spec (its secrets
// included), or the server recreated when it was deleted; --dry-run shows the diff and writes nothing.
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { describeError } from './client.js';
import { connect, exactlyOneName, generationFlag, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { formatDiffEntry } from './output.js';
import { rollback } from './revisions.js';

const FLAGS = { ...CONNECTION_FLAGS, 'to-revision': { kind: 'string' }, 'dry-run': { kind: 'boolean' } } as const;

export const ROLLBACK_HELP = `Usage: mcpctl rollback NAME --to-revision N [--dry-run] [--server URL]

Applies the spec of revision N (see mcpctl history NAME) again, secrets included, as a new generation;
a deleted server (within --revision-retention) is created again. It goes through the same checks as any
write (access, ownership). A server declared by a file in a watched directory is refused (409): roll it
back in Git.

Flags:
      --to-revision N      The generation whose spec to apply again (required).
      --dry-run            Show what would change; change nothing.
  -h, --help               This help.
${CONNECTION_HELP}
Exit codes: 0 rolled back (or would be), 1 not found or refused, 2 usage error.
`;

export async function runRollback(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('rollback', argv, rawIo, FLAGS, ROLLBACK_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const one = exactlyOneName('rollback', positionals, rawIo);
  if (!one.ok) return one.code;
  const raw = flags['to-revision'];
  if (raw === undefined) return usageError(rawIo, 'rollback', 'needs --to-revision N (the generation to go back to; see mcpctl history NAME)');
  const target = generationFlag('rollback', 'to-revision', raw, rawIo);
  if (!target.ok) return target.code;
  const connected = connect('rollback', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;
  try {
    const answer = await rollback(client, one.name, target.generation, flags['dry-run']);
    const verb =
      answer.action === 'UNCHANGED'
        ? `already has the spec of revision ${raw}; nothing to do`
        : answer.action === 'CREATE'
          ? `${answer.dryRun ? 'would be' : ''}${answer.dryRun ? ' ' : ''}recreated from revision ${raw}${answer.dryRun ? '' : ` (generation ${answer.data.generation})`}`
          : `${answer.dryRun ? 'would be rolled back' : 'rolled back'} to revision ${raw}${answer.dryRun ? '' : ` (now generation ${answer.data.generation})`}`;
    io.stdout.write(`${one.name}: ${verb}${answer.dryRun ? ' (dry run)' : ''}\n`);
    for (const d of answer.diff) io.stdout.write(`  ${formatDiffEntry(d)}\n`);
    return EXIT_OK;
  } catch (err) {
    io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  }
}
