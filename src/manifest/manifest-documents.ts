// A manifest file's text → its documents, parsed and validated, as plain data: what a parse worker
// answers (parse-pool.ts), so it holds no functions and no parse tree. Every error carries its line:col
// already; a valid document's `outline` keeps where each of its members starts, for errors found later
// (a name another file declares, a policy refusal). A valid document is bounded by the schema, and so
// is its outline.
import type { FieldError } from '../domain/errors.js';
import { parsePointer, toPointer } from './pointer.js';
import { capReportedErrors } from './error-cap.js';
import { parseDocuments, type SourcePosition } from './parse.js';
import { validateManifest, type ValidatedManifest } from './validate.js';

export interface ManifestDocument {
  /** Position among all documents of the text, empty ones included (0-based). */
  index: number;
  /** Parsed and validated as a manifest. */
  valid: boolean;
  /**
   * The manifest, when valid (the schema bounds its size); undefined otherwise, so an invalid document
   * (aliases may expand it to a great many members) is never copied out of the worker.
   */
  value: ValidatedManifest | undefined;
  /** The `name` the document declares, valid or not, when it parsed and is a string. */
  name: string | undefined;
  /** Parse errors, else validation errors; each positioned when its place is known. */
  errors: FieldError[];
  /** [pointer, position] of every member of a valid document (as ParsedDocument.locate answers); empty otherwise. */
  outline: [string, SourcePosition][];
}

export function readManifestDocuments(text: string, format: 'yaml' | 'json'): ManifestDocument[] {
  return parseDocuments(text, { format }).map((doc): ManifestDocument => {
    if (doc.errors.length > 0) return { index: doc.index, valid: false, value: undefined, name: undefined, errors: doc.errors, outline: [] };
    const raw = typeof doc.value === 'object' && doc.value !== null ? (doc.value as { name?: unknown }).name : undefined;
    const name = typeof raw === 'string' ? raw : undefined;
    const validated = validateManifest(doc.value);
    if (validated.ok) return { index: doc.index, valid: true, value: validated.manifest, name, errors: [], outline: [...doc.outline()] };
    // Positioned through the outline (one walk), not locate (a walk per error): there may be thousands.
    const locate = outlineLocator([...doc.outline()]);
    const errors = capReportedErrors(validated.errors.map((e) => positioned(e, locate)).sort(byPosition));
    return { index: doc.index, valid: false, value: undefined, name, errors, outline: [] };
  });
}

function byPosition(a: FieldError, b: FieldError): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}

function positioned(error: FieldError, locate: (pointer: string) => SourcePosition | undefined): FieldError {
  if (error.line !== undefined) return error;
  const pos = locate(error.path);
  return pos ? { ...error, line: pos.line, col: pos.col } : error;
}

/** A locate for a ManifestDocument: the position of the pointer, or of its nearest existing parent. */
export function outlineLocator(outline: readonly [string, SourcePosition][]): (pointer: string) => SourcePosition | undefined {
  let byPointer: Map<string, SourcePosition> | undefined; // made when first asked: errors at commit are rare
  return (pointer) => {
    byPointer ??= new Map(outline);
    let segments: string[];
    try {
      segments = parsePointer(pointer);
    } catch {
      return byPointer.get('');
    }
    for (let n = segments.length; n >= 0; n--) {
      const pos = byPointer.get(toPointer(segments.slice(0, n)));
      if (pos) return pos;
    }
    return undefined;
  };
}
