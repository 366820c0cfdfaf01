// diff and apply: one PUT per document, in order, through the same pipeline the server uses for
// everything (dryRun for diff). Invalid documents are not sent; a document the server refuses fails
// alone; a connection failure or a refused token stops the run, since every later request would fail alike.
import { API_PREFIX, ApiError, ConnectionError, type ApiClient } from './client.js';
import { connect, forceHint, usageError } from './command.js';
import { checkDocuments, documentLabel, formatLocatedError, locateServerDetails, type CheckedDocument, type LocatedError } from './documents.js';
import { loadDocuments } from './files.js';
import type { CliIo, CliWriter } from './io.js';
import { checkOutputFormat, writeMachine, type DiffEntry } from './output.js';

export type Action = 'CREATE' | 'UPDATE' | 'UNCHANGED';

export interface PutAnswer {
  action: Action;
  dryRun: boolean;
  diff: DiffEntry[];
  warnings?: string[];
  data: { name: string; generation: number };
}

export interface DocumentResult {
  file: string;
  document: number;
  name?: string;
  action?: Action;
  diff?: DiffEntry[];
  warnings?: string[];
  /** Why the document failed (or was not sent); absent on success. */
  error?: string;
  /** Not sent, because the run stopped at an earlier connection or token failure. */
  skipped?: true;
  errors?: LocatedError[];
}

export interface PutRun {
  results: DocumentResult[];
  /** Set when the run stopped early: the connection failed or the token was refused. */
  aborted?: string;
}

async function putDocuments(
  client: ApiClient,
  docs: readonly CheckedDocument[],
  options: { command: string; dryRun: boolean; force: boolean },
): Promise<PutRun> {
  const { dryRun, force } = options;
  const results: DocumentResult[] = [];
  let aborted: string | undefined;
  for (const doc of docs) {
    const base = { file: doc.file, document: doc.index, ...(doc.name !== undefined ? { name: doc.name } : {}) };
    if (aborted !== undefined) {
      results.push({ ...base, error: 'not sent: the run stopped at an earlier error', skipped: true });
      continue;
    }
    if (!doc.manifest) {
      results.push({ ...base, error: 'the manifest is invalid', errors: doc.errors });
      continue;
    }
    try {
      const answer = await client.request<PutAnswer>('PUT', `${API_PREFIX}/mcp-servers`, { manifest: doc.manifest, dryRun, ...(force ? { force } : {}) });
      results.push({
        ...base,
        name: answer.data?.name ?? doc.manifest.name,
        action: answer.action,
        diff: Array.isArray(answer.diff) ? answer.diff : [],
        // A dry run reports the ownership refusal as a warning.
        ...(answer.warnings && answer.warnings.length > 0
          ? { warnings: answer.warnings.map((w) => (w.includes('force: true') ? forceHint(w, options.command) : w)) }
          : {}),
      });
    } catch (err) {
      if (err instanceof ConnectionError || (err instanceof ApiError && err.status === 401)) {
        aborted = err.message;
        results.push({ ...base, error: err.message });
      } else if (err instanceof ApiError) {
        const message = err.status === 409 ? forceHint(err.message, options.command) : err.message;
        results.push({ ...base, error: message, errors: locateServerDetails(doc, err.details) });
      } else {
        throw err;
      }
    }
  }
  return aborted !== undefined ? { results, aborted } : { results };
}

/** `error: file (document N): message`, then one located line per field error. */
function writeDocumentError(out: CliWriter, result: DocumentResult): void {
  if (result.error === undefined || result.skipped) return;
  out.write(`error: ${documentLabel({ file: result.file, index: result.document })}${result.name ? ` ${result.name}` : ''}: ${result.error}\n`);
  for (const e of result.errors ?? []) out.write(`  ${formatLocatedError(result.file, e)}\n`);
}

/** After a stopped run: how many documents were never sent. */
function writeSkipped(out: CliWriter, results: readonly DocumentResult[]): void {
  const skipped = results.filter((r) => r.skipped).length;
  if (skipped > 0) out.write(`stopped: ${skipped} more document${skipped === 1 ? ' was' : 's were'} not sent\n`);
}

export function writeWarnings(out: CliWriter, result: DocumentResult): void {
  for (const w of result.warnings ?? []) out.write(`warning: ${result.name ?? documentLabel({ file: result.file, index: result.document })}: ${w}\n`);
}

/**
 * A run's results: with `json` (-o json) that value on stdout, otherwise writeOne for each document that
 * went through; document errors and the documents never sent go to stderr either way.
 */
export function writeResults(io: CliIo, results: readonly DocumentResult[], json: unknown, writeOne: (result: DocumentResult) => void): void {
  if (json !== undefined) writeMachine(io.stdout, 'json', json);
  for (const r of results) {
    if (r.error !== undefined) writeDocumentError(io.stderr, r);
    else if (json === undefined) writeOne(r);
  }
  writeSkipped(io.stderr, results);
}

export type FileRun = { ok: true; run: PutRun; io: CliIo } | { ok: false; code: number };

/**
 * What diff and apply share: `-f` paths (and nothing else) → documents checked locally → one PUT each.
 * Answers the run, or the exit code of a usage or connection error already reported.
 */
export async function putFileArguments(
  command: string,
  flags: { filename: readonly string[]; output?: string | undefined; server?: string | undefined; token?: string | undefined; force: boolean },
  positionals: readonly string[],
  rawIo: CliIo,
  dryRun: boolean,
): Promise<FileRun> {
  const fail = (message: string): FileRun => ({ ok: false, code: usageError(rawIo, command, message) });
  if (positionals.length > 0) return fail(`unexpected argument ${JSON.stringify(positionals[0])}; pass files with -f`);
  const formatError = checkOutputFormat(flags.output, ['text', 'json']);
  if (formatError) return fail(formatError);
  const loaded = loadDocuments(flags.filename, rawIo.cwd, rawIo.stdin);
  if (!loaded.ok) return fail(loaded.message);
  if (loaded.documents.length === 0) return fail('the files hold no documents');
  const connected = connect(command, flags, rawIo);
  if (!connected.ok) return connected;
  return { ok: true, run: await putDocuments(connected.client, checkDocuments(loaded.documents), { command, dryRun, force: flags.force }), io: connected.io };
}
