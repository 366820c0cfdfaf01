// mcpctl history NAME [--revision N]: the kept revisions of a server (a deleted one's too, within the
// retention), or one revision's masked spec and diff.
import { stringify as toYaml } from 'yaml';
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { describeError } from './client.js';
import { connect, exactlyOneName, generationFlag, now, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { checkOutputFormat, formatAge, formatDiffEntry, formatTable, writeMachine } from './output.js';
import { getRevision, listRevisions, revisionSourceLabel } from './revisions.js';

const FLAGS = { ...CONNECTION_FLAGS, revision: { kind: 'string' }, output: { kind: 'string', short: 'o' } } as const;

export const HISTORY_HELP = `Usage: mcpctl history NAME [--revision N] [-o json|yaml] [--server URL]

Shows the revisions of an MCP server, newest first: one per generation (each change of its spec), with
who made it, when, from where (api, gaia, rollback, or the file and line) and what changed. Secrets are
never shown, only that they changed. A deleted server's revisions are kept for --revision-retention
(serve flag, default 7d): mcpctl rollback NAME --to-revision N recreates it.

Flags:
      --revision N         Show one revision: its spec (secrets masked) and its diff from the one before.
  -o, --output FORMAT      table (default), json or yaml: the API's data.
  -h, --help               This help.
${CONNECTION_HELP}
Exit codes: 0 shown, 1 not found or refused, 2 usage error.
`;

export async function runHistory(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('history', argv, rawIo, FLAGS, HISTORY_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const one = exactlyOneName('history', positionals, rawIo);
  if (!one.ok) return one.code;
  const formatError = checkOutputFormat(flags.output, ['table', 'json', 'yaml']);
  if (formatError) return usageError(rawIo, 'history', formatError);
  const revision = flags.revision === undefined ? undefined : generationFlag('history', 'revision', flags.revision, rawIo);
  if (revision && !revision.ok) return revision.code;
  const generation = revision?.generation;
  const connected = connect('history', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;
  try {
    if (generation !== undefined) {
      const r = await getRevision(client, one.name, generation);
      if (flags.output === 'json' || flags.output === 'yaml') {
        writeMachine(io.stdout, flags.output, r);
        return EXIT_OK;
      }
      io.stdout.write(
        `Name:        ${r.name}\nGeneration:  ${r.generation}\nCreated:     ${r.createdAt}\nBy:          ${r.subject.subjectSlug ?? r.subject.subjectId}\n` +
          `Source:      ${revisionSourceLabel(r)}\n` +
          (r.deletedAt ? `Deleted:     ${r.deletedAt}\n` : '') +
          `Change:      ${r.change}\n\nDiff:\n${r.diff.map((d) => `  ${formatDiffEntry(d)}\n`).join('') || '  (none)\n'}\nSpec:\n` +
          toYaml(r.manifest ?? {}, { lineWidth: 0 })
            .split('\n')
            .map((l) => (l ? `  ${l}` : l))
            .join('\n'),
      );
      return EXIT_OK;
    }
    const revisions = await listRevisions(client, one.name);
    if (flags.output === 'json' || flags.output === 'yaml') {
      writeMachine(io.stdout, flags.output, revisions);
      return EXIT_OK;
    }
    const at = now(io);
    if (revisions[0]?.deletedAt) io.stdout.write(`${one.name} was deleted ${formatAge(revisions[0].deletedAt, at)} ago; mcpctl rollback ${one.name} --to-revision N recreates it.\n`);
    io.stdout.write(
      formatTable(
        ['GENERATION', 'AGE', 'BY', 'SOURCE', 'CHANGE'],
        revisions.map((r) => [String(r.generation), formatAge(r.createdAt, at), r.subject.subjectSlug ?? r.subject.subjectId, revisionSourceLabel(r), r.change]),
      ),
    );
    return EXIT_OK;
  } catch (err) {
    io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  }
}
