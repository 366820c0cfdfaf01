// A manifest file's text → its documents, parsed and validated, as plain data: what a parse worker
// answers (parse-pool.ts), so it holds no functions and no parse tree. Every error carries its line:col
// already; a valid document's `outline` keeps where each of its members starts, for errors found later
// (a name another file declares, a policy refusal). A valid document is bounded by the schema, and so
// is its outline.
import type { FieldError } from '../domain/errors.js';
import { parsePointer, toPointer } from './pointer.js';
import { capErrors, parseDocuments, type SourcePosition } from './parse.js';
import { validateManifest } from './validate.js';

export interface ManifestDocument {
  /** Position among all documents of the text, empty ones included (0-based). */
  index: number;
  /** The parsed value (valid or not); undefined when the document did not parse. */
  value: unknown;
  /** Parsed and validated as a manifest. */
  valid: boolean;
  /** Parse errors, else validation errors; each positioned when its place is known. */
  errors: FieldError[];
  /** [pointer, position] of every member of a valid document (as ParsedDocument.locate answers); empty otherwise. */
  outline: [string, SourcePosition][];
}

export function readManifestDocuments(text: string, format: 'yaml' | 'json'): ManifestDocument[] {
  return parseDocuments(text, { format }).map((doc): ManifestDocument => {
    if (doc.errors.length > 0) return { index: doc.index, value: undefined, valid: false, errors: doc.errors, outline: [] };
    const validated = validateManifest(doc.value);
    if (validated.ok) return { index: doc.index, value: doc.value, valid: true, errors: [], outline: [...doc.outline()] };
    const errors = capErrors(validated.errors).map((e) => positioned(e, doc.locate));
    return { index: doc.index, value: doc.value, valid: false, errors, outline: [] };
  });
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
