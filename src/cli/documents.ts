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

export function checkDocuments(sources: readonly SourceDocument[]): CheckedDocument[] {
  const declared = new Map<string, CheckedDocument>();
  return sources.map((source) => {
    const name = nameOf(source.parsed.value);
    const doc: CheckedDocument = { file: source.file, index: source.index, errors: [], source, ...(name !== undefined ? { name } : {}) };
    if (source.parsed.errors.length > 0) {
      doc.errors = byPosition(source.parsed.errors.map((e) => located(source, e)));
      return doc;
    }
    const result = validateManifest(source.parsed.value);
    if (!result.ok) {
      doc.errors = byPosition(result.errors.map((e) => located(source, e)));
      return doc;
    }
    const first = declared.get(result.manifest.name);
    if (first) {
      doc.errors = [
        located(source, {
          path: '/name',
          message: `${JSON.stringify(result.manifest.name)} is already declared in ${first.file} (document ${first.index}); each name may be declared once`,
        }),
      ];
      return doc;
    }
    declared.set(result.manifest.name, doc);
    doc.manifest = result.manifest;
    return doc;
  });
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
