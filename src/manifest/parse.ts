// Text (YAML, possibly several `---` documents, or JSON) → documents with positions. Hostile input is
// an error, not a hang or a polluted prototype: nesting, keys, anchors, aliases and alias expansions
// (billion laughs) are bounded before or while composing, so the cost is linear in the text; duplicate
// keys and the keys __proto__/constructor/prototype are refused, and `<<` is a plain key (never merged). Messages never
// quote the input text, so a syntax error next to a secret does not leak it. Linear is still seconds
// for a MiB on a busy machine: a server parses files off its event loop (parse-pool.ts).
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import type { FieldError } from '../domain/errors.js';
import { RESERVED_KEYS, appendPointer, parsePointer, toPointer } from './pointer.js';
import { capReportedErrors, MAX_REPORTED_ERRORS } from './error-cap.js';
import { parseJsonSource } from './json-source.js';
import { prescanYaml, type PrescanLimits } from './yaml-prescan.js';

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
  /** locate() of every pointer of the document, found in one pass (linear in its size). */
  outline(): Map<string, SourcePosition>;
}

export interface ParseOptions {
  /** Default 'yaml' (which also reads JSON); 'json' reports JSON syntax errors as JSON. */
  format?: 'yaml' | 'json';
}

/** Deeper documents are refused (JSON too): every walker here, and those after, may recurse. */
export const MAX_DEPTH = 256;
/** Mapping keys a YAML document may hold: a manifest needs dozens. */
export const MAX_KEYS = 10_000;
/** Anchors (&name) and aliases (*name) a YAML document may hold: enough to share a few values. */
export const MAX_ANCHORS = 100;
/**
 * Also the yaml library's bound on alias expansions (maxAliasCount), which catches an alias of an anchor
 * that itself holds aliases: enough for sharing, far too few for an expansion attack.
 */
export const MAX_ALIASES = 100;
/** Checked by prescanYaml before the yaml composer runs; the depth bound is well below where it exhausts the stack. */
const PRESCAN_LIMITS: PrescanLimits = { depthBound: 400, keys: MAX_KEYS, anchors: MAX_ANCHORS, aliases: MAX_ALIASES };
const PRESCAN_MESSAGES: Record<keyof PrescanLimits, string> = {
  depthBound: `nested too deeply: at most ${MAX_DEPTH} levels of nesting are allowed`,
  keys: `too many keys: a YAML document may hold at most ${MAX_KEYS} mapping keys; split it into several documents or files`,
  anchors: `too many anchors (&name): a YAML document may define at most ${MAX_ANCHORS}`,
  aliases: `too many aliases (*name): a YAML document may use at most ${MAX_ALIASES}; aliases share values, write others out`,
};

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
  const listed = source.issues.slice(0, MAX_REPORTED_ERRORS).map((issue) => fieldError(issue.path, issue.message, positionOf(lineCounter, issue.offset)));
  const errors = capReportedErrors(listed, source.issues.length - listed.length);
  const outline = (): Map<string, SourcePosition> => {
    const out = new Map<string, SourcePosition>();
    for (const [pointer, offset] of source.offsets) out.set(pointer, positionOf(lineCounter, offset));
    return out;
  };
  return [{ index: 0, value: source.value, errors, locate, outline }];
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

/**
 * What locateIn answers for every pointer, in one walk: aliases followed as locateIn does, but each
 * anchored node entered through an alias once only, so the walk is at most twice the document however many
 * times an alias repeats a large value. Below a later alias of the same node, a pointer has no entry of its
 * own and outlineLocator answers the alias's position (its nearest ancestor's).
 */
function outlineOf(doc: Document.Parsed, lineCounter: LineCounter): Map<string, SourcePosition> {
  const out = new Map<string, SourcePosition>();
  const entered = new Set<unknown>();
  const visit = (node: unknown, pointer: string, offset: number | undefined, depth: number): void => {
    if (offset !== undefined && !out.has(pointer)) out.set(pointer, positionOf(lineCounter, offset));
    if (depth > MAX_DEPTH) return;
    if (isAlias(node)) {
      node = node.resolve(doc);
      if (entered.has(node)) return;
      entered.add(node);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        visit(pair.value, appendPointer(pointer, keyText(pair.key)), (pair.key as Node | null)?.range?.[0] ?? offset, depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, appendPointer(pointer, i), (item as Node | null)?.range?.[0] ?? offset, depth + 1));
    }
  };
  visit(doc.contents, '', (doc.contents as Node | null)?.range?.[0], 0);
  return out;
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

/**
 * Keys __proto__, constructor and prototype and keys repeated in a mapping (one Set per mapping: the
 * yaml library's uniqueKeys compares every pair), anywhere in the document; nesting deeper than
 * MAX_DEPTH. The first MAX_REPORTED_ERRORS are positioned; `found` counts them all.
 */
function structureErrors(doc: Document.Parsed, lineCounter: LineCounter): { errors: FieldError[]; found: number } {
  const errors: FieldError[] = [];
  let found = 0;
  const report = (node: unknown, path: string, message: string): void => {
    if (found++ >= MAX_REPORTED_ERRORS) return;
    const offset = (node as Node | null)?.range?.[0];
    errors.push(fieldError(path, message, offset === undefined ? undefined : positionOf(lineCounter, offset)));
  };
  const visit = (node: unknown, pointer: string, depth: number): void => {
    if (depth > MAX_DEPTH) return report(node, pointer, `nested deeper than ${MAX_DEPTH} levels`);
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = keyText(pair.key);
        const path = appendPointer(pointer, key);
        if (seen.has(key)) report(pair.key, path, 'duplicate key: each key may appear once in a mapping');
        seen.add(key);
        if (RESERVED_KEYS.has(key)) report(pair.key, path, `the key ${JSON.stringify(key)} is not allowed (reserved in JavaScript)`);
        visit(pair.value, path, depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, appendPointer(pointer, i), depth + 1));
    }
  };
  visit(doc.contents, '', 0);
  return { errors, found };
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

/** 1-based line and column of `offset`, counting the lines before it (once, for one error). */
function positionIn(text: string, offset: number): SourcePosition {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

function parseYaml(text: string): ParsedDocument[] {
  const problem = prescanYaml(text, PRESCAN_LIMITS);
  if (problem) {
    const error = fieldError('', PRESCAN_MESSAGES[problem.limit], positionIn(text, problem.offset));
    return [{ index: 0, value: undefined, errors: [error], locate: () => undefined, outline: () => new Map() }];
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = [...parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false, // pretty messages quote the source line
      uniqueKeys: false, // structureErrors finds duplicates in linear time
      merge: false,
      stringKeys: true,
      strict: true,
      version: '1.2',
      schema: 'core',
    })];
  } catch (err) {
    // The composer recurses; extreme nesting overflows the stack.
    const message = err instanceof RangeError ? 'invalid YAML: nested too deeply' : `invalid YAML: ${(err as Error).message}`;
    return [{ index: 0, value: undefined, errors: [{ path: '', message }], locate: () => undefined, outline: () => new Map() }];
  }
  const out: ParsedDocument[] = [];
  docs.forEach((doc, index) => {
    const locate = (pointer: string): SourcePosition | undefined => {
      const offset = locateIn(doc, pointer);
      return offset === undefined ? undefined : positionOf(lineCounter, offset);
    };
    const errors: FieldError[] = doc.errors.slice(0, MAX_REPORTED_ERRORS).map((e) => {
      const offset = e.pos[0];
      return fieldError(pointerAt(doc.contents, offset), yamlErrorMessage(e.code, e.message), positionOf(lineCounter, offset));
    });
    let found = doc.errors.length;
    // With syntax errors the tree may be cut short anyway; the structure is checked when it is whole.
    if (found === 0) {
      const structure = structureErrors(doc, lineCounter);
      errors.push(...structure.errors);
      found = structure.found;
    }
    let value: unknown;
    if (errors.length === 0) {
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIASES });
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        const message = /excessive alias count/i.test(text)
          ? `too many alias expansions (more than ${MAX_ALIASES}): aliases (*name) may be used to share values, not to multiply them`
          : yamlErrorMessage('', text);
        errors.push(fieldError('', message, locate('')));
      }
    }
    if (errors.length === 0 && (doc.contents === null || value === null || value === undefined)) return; // empty document
    errors.sort(byPosition);
    const reported = capReportedErrors(errors, Math.max(0, found - errors.length));
    out.push({ index, value: reported.length === 0 ? value : undefined, errors: reported, locate, outline: () => outlineOf(doc, lineCounter) });
  });
  return out;
}
