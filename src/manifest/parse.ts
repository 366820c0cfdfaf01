// Text (YAML, possibly several `---` documents, or JSON) → documents with positions. Hostile input is
// an error, not a hang or a polluted prototype: aliases are bounded (billion laughs), duplicate keys,
// merge keys (`<<`) and the keys __proto__/constructor/prototype are refused. Messages never quote
// the input text, so a syntax error next to a secret does not leak it.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import type { FieldError } from '../domain/errors.js';
import { RESERVED_KEYS, appendPointer, parsePointer, toPointer } from './pointer.js';
import { parseJsonSource } from './json-source.js';
import { nestingDepthBound } from './yaml-depth.js';

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

export interface ParsedDocument {
  /** Position among all documents of the text, empty ones included (0-based), so indices stay stable. */
  index: number;
  /** The parsed value; undefined when `errors` is not empty. */
  value: unknown;
  errors: FieldError[];
  /**
   * Where a JSON pointer's node starts: the key, for a member of a mapping. A pointer that does not
   * exist resolves to its nearest existing parent.
   */
  locate(pointer: string): SourcePosition | undefined;
}

export interface ParseOptions {
  /** Default 'yaml' (which also reads JSON); 'json' reports JSON syntax errors as JSON. */
  format?: 'yaml' | 'json';
}

/** Aliases a document may expand; enough for sharing, far too few for an expansion attack. */
export const MAX_ALIAS_COUNT = 100;
/** Deeper documents are refused (JSON too): every walker here, and those after, may recurse. */
export const MAX_DEPTH = 256;
/** Bound on nestingDepthBound() before the yaml composer runs; well below where it exhausts the stack. */
const MAX_DEPTH_BOUND = 400;

export function parseDocuments(text: string, opts: ParseOptions = {}): ParsedDocument[] {
  return opts.format === 'json' ? parseJson(text) : parseYaml(text);
}

function positionOf(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}

function fieldError(path: string, message: string, pos: SourcePosition | undefined): FieldError {
  return pos ? { path, message, line: pos.line, col: pos.col } : { path, message };
}

function parseJson(text: string): ParsedDocument[] {
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
  const source = parseJsonSource(text);
  const locate = (pointer: string): SourcePosition | undefined => {
    let segments: string[];
    try {
      segments = parsePointer(pointer);
    } catch {
      return undefined;
    }
    for (let n = segments.length; n >= 0; n--) {
      const offset = source.offsets.get(toPointer(segments.slice(0, n)));
      if (offset !== undefined) return positionOf(lineCounter, offset);
    }
    return undefined;
  };
  const errors = source.issues.map((issue) => fieldError(issue.path, issue.message, positionOf(lineCounter, issue.offset)));
  return [{ index: 0, value: source.value, errors, locate }];
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function contains(node: Node | null | undefined, offset: number): boolean {
  return !!node?.range && node.range[0] <= offset && offset < node.range[2];
}

/** The deepest pointer whose key or value spans `offset`; "" when none does. */
function pointerAt(node: unknown, offset: number, pointer = '', depth = 0): string {
  if (depth > MAX_DEPTH) return pointer;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      if (contains(key, offset)) return appendPointer(pointer, keyText(key));
      if (contains(value, offset)) return pointerAt(value, offset, appendPointer(pointer, keyText(key)), depth + 1);
    }
  } else if (isSeq(node)) {
    const index = node.items.findIndex((item) => contains(item as Node, offset));
    if (index !== -1) return pointerAt(node.items[index], offset, appendPointer(pointer, index), depth + 1);
  }
  return pointer;
}

function locateIn(doc: Document.Parsed, pointer: string): number | undefined {
  let segments: string[];
  try {
    segments = parsePointer(pointer);
  } catch {
    return undefined;
  }
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === segment);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = /^\d+$/.test(segment) ? (node.items[Number(segment)] as Node | undefined) : undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Keys __proto__, constructor and prototype anywhere in the document; nesting deeper than MAX_DEPTH. */
function structureErrors(doc: Document.Parsed, lineCounter: LineCounter): FieldError[] {
  const errors: FieldError[] = [];
  const visit = (node: unknown, pointer: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      const offset = (node as Node | null)?.range?.[0];
      errors.push(fieldError(pointer, `nested deeper than ${MAX_DEPTH} levels`, offset === undefined ? undefined : positionOf(lineCounter, offset)));
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyText(pair.key);
        const path = appendPointer(pointer, key);
        if (RESERVED_KEYS.has(key)) {
          const offset = (pair.key as Node | null)?.range?.[0];
          const pos = offset === undefined ? undefined : positionOf(lineCounter, offset);
          errors.push(fieldError(path, `the key ${JSON.stringify(key)} is not allowed (reserved in JavaScript)`, pos));
        }
        visit(pair.value, path, depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, appendPointer(pointer, i), depth + 1));
    }
  };
  visit(doc.contents, '', 0);
  return errors;
}

/** The yaml library's message, cut before any ": <source text>" it quotes (a block scalar header, a tag). */
function yamlErrorMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key may appear once in a mapping';
  if (code === 'BAD_DQ_ESCAPE') return 'invalid YAML: invalid escape sequence in a double-quoted string';
  const colon = message.indexOf(': ');
  return `invalid YAML: ${colon === -1 ? message : message.slice(0, colon)}`;
}

function byPosition(a: FieldError, b: FieldError): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}

function parseYaml(text: string): ParsedDocument[] {
  if (nestingDepthBound(text, MAX_DEPTH_BOUND) > MAX_DEPTH_BOUND) {
    const message = `nested too deeply: at most ${MAX_DEPTH} levels of nesting are allowed`;
    return [{ index: 0, value: undefined, errors: [{ path: '', message }], locate: () => undefined }];
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = [...parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false, // pretty messages quote the source line
      uniqueKeys: true,
      merge: false,
      stringKeys: true,
      strict: true,
      version: '1.2',
      schema: 'core',
    })];
  } catch (err) {
    // The composer recurses; extreme nesting overflows the stack.
    const message = err instanceof RangeError ? 'invalid YAML: nested too deeply' : `invalid YAML: ${(err as Error).message}`;
    return [{ index: 0, value: undefined, errors: [{ path: '', message }], locate: () => undefined }];
  }
  const out: ParsedDocument[] = [];
  docs.forEach((doc, index) => {
    const locate = (pointer: string): SourcePosition | undefined => {
      const offset = locateIn(doc, pointer);
      return offset === undefined ? undefined : positionOf(lineCounter, offset);
    };
    const errors: FieldError[] = doc.errors.map((e) => {
      const offset = e.pos[0];
      return fieldError(pointerAt(doc.contents, offset), yamlErrorMessage(e.code, e.message), positionOf(lineCounter, offset));
    });
    // With syntax errors the tree may be cut short anyway; the structure is checked when it is whole.
    if (errors.length === 0) errors.push(...structureErrors(doc, lineCounter));
    let value: unknown;
    if (errors.length === 0) {
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        const message = /excessive alias count/i.test(text)
          ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}): aliases (*name) may be used to share values, not to multiply them`
          : yamlErrorMessage('', text);
        errors.push(fieldError('', message, locate('')));
      }
    }
    if (errors.length === 0 && (doc.contents === null || value === null || value === undefined)) return; // empty document
    out.push({ index, value: errors.length === 0 ? value : undefined, errors: errors.sort(byPosition), locate });
  });
  return out;
}
