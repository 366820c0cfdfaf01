// Local (offline) checks of the documents read from -f: syntax, schema, and names declared twice.
// Every error carries the file and, where the source allows, line:col.
import type { FieldError } from '../domain/errors.js';
import type { McpServerManifest } from '../domain/manifest.js';
import { validateManifest } from '../manifest/index.js';
import type { ApiErrorDetail } from './client.js';
import type { SourceDocument } from './files.js';

export interface LocatedError {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export interface CheckedDocument {
  file: string;
  index: number;
  /** The manifest's name, when it has a string one (valid or not). */
  name?: string;
  /** Present when the document is valid. */
  manifest?: McpServerManifest;
  errors: LocatedError[];
  source: SourceDocument;
}

function located(source: SourceDocument, e: FieldError): LocatedError {
  if (e.line !== undefined) return { path: e.path, message: e.message, line: e.line, ...(e.col !== undefined ? { col: e.col } : {}) };
  const pos = source.parsed.locate(e.path);
  return pos ? { path: e.path, message: e.message, line: pos.line, col: pos.col } : { path: e.path, message: e.message };
}

function nameOf(value: unknown): string | undefined {
  const name = (value as { name?: unknown } | null | undefined)?.name;
  return typeof value === 'object' && value !== null && typeof name === 'string' ? name : undefined;
}

/** Errors in the order of the file (the validator sorts by path); unlocated ones last. Stable. */
function byPosition(errors: LocatedError[]): LocatedError[] {
  const key = (e: LocatedError) => [e.line ?? Number.MAX_SAFE_INTEGER, e.col ?? 0] as const;
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => key(a.e)[0] - key(b.e)[0] || key(a.e)[1] - key(b.e)[1] || a.i - b.i)
    .map(({ e }) => e);
}

/**
 * A name declared twice is blamed on the later declaration by path (then by document), as a watched
 * directory decides it (its first path keeps the name), whatever the order of the -f arguments.
 */
export function checkDocuments(sources: readonly SourceDocument[]): CheckedDocument[] {
  const docs = sources.map((source): CheckedDocument => {
    const name = nameOf(source.parsed.value);
    const doc: CheckedDocument = { file: source.file, index: source.index, errors: [], source, ...(name !== undefined ? { name } : {}) };
    if (source.parsed.errors.length > 0) {
      doc.errors = byPosition(source.parsed.errors.map((e) => located(source, e)));
      return doc;
    }
    const result = validateManifest(source.parsed.value);
    if (!result.ok) doc.errors = byPosition(result.errors.map((e) => located(source, e)));
    else doc.manifest = result.manifest;
    return doc;
  });
  const first = new Map<string, CheckedDocument>();
  const earlier = (a: CheckedDocument, b: CheckedDocument) => (a.file !== b.file ? a.file < b.file : a.index < b.index);
  for (const doc of docs) {
    if (!doc.manifest) continue;
    const seen = first.get(doc.manifest.name);
    if (!seen || earlier(doc, seen)) first.set(doc.manifest.name, doc);
  }
  for (const doc of docs) {
    const winner = doc.manifest && first.get(doc.manifest.name);
    if (!winner || winner === doc) continue;
    doc.errors = [
      located(doc.source, {
        path: '/name',
        message: `${JSON.stringify(doc.manifest!.name)} is already declared in ${winner.file} (document ${winner.index}); each name may be declared once`,
      }),
    ];
    delete doc.manifest;
  }
  return docs;
}

/** The server reports manifest errors under /manifest; put them back on the file's lines. */
export function locateServerDetails(doc: CheckedDocument, details: readonly ApiErrorDetail[]): LocatedError[] {
  return details.map((d) => {
    const path = d.path === '/manifest' ? '' : d.path.startsWith('/manifest/') ? d.path.slice('/manifest'.length) : undefined;
    if (path === undefined) return { path: d.path, message: d.message };
    return located(doc.source, { path, message: d.message });
  });
}

/** `file:line:col: /pointer: message`, the shape editors and CI annotations understand. */
export function formatLocatedError(file: string, e: LocatedError): string {
  const where = e.line !== undefined ? `${file}:${e.line}:${e.col ?? 1}` : file;
  return `${where}: ${e.path || '/'}: ${e.message}`;
}

/** "file (document N)": names one document of a -f file in messages. */
export function documentLabel(doc: { file: string; index: number }): string {
  return `${doc.file} (document ${doc.index})`;
}
